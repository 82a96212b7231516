"""What part of a province-level document a caller sees (docs/clearing.md, "Who sees what").

Settlements, levies and what a settlement left owed are documents of a whole province. The
provincial office and an auditor of the province see them whole. A city finance officer sees
the rows of the pools inside its own region, and nothing of the other cities' pools or of the
provincial adjustment fund's figures: the access matrix lets a municipal role read only funds
whose region lies inside its own (docs/contract.md, "Identity and access"). Anyone else is
refused (403), with no figure.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.access import Action, Principal, Role, authorize, covers, may
from domain.funds import FundId
from domain.regions import province_of


@dataclass(frozen=True)
class Scope:
    """The funds of a province document the caller may see: all of them, or its region's."""

    province: str
    region: str | None
    """None: the whole province; else only the funds whose region lies inside this one."""

    @property
    def whole(self) -> bool:
        """True when the caller sees the province's document whole (its totals included)."""
        return self.region is None

    def sees(self, fund: str) -> bool:
        """True when the row of ``fund`` (``scheme:region``) is shown to the caller."""
        return self.region is None or covers(self.region, FundId.parse(fund).region)


def province_scope(who: Principal, province: str) -> Scope:
    """The caller's view of a province's document; refuse a caller with none.

    Raises:
        AccessDenied: the caller may not read the province, and is not a municipal officer
            of one of its cities or counties.
    """
    if may(who, Action.READ, province):
        return Scope(province, None)
    if who.role is Role.MUNICIPAL and province_of(who.region) == province:
        return Scope(province, who.region)
    authorize(who, Action.READ, province)
    raise AssertionError("authorize refuses what may refused")
