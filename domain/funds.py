"""Fund ids and schemes (docs/domain.md §1): ``scheme:region``, e.g. ``resident:140100``."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from enum import StrEnum

from domain.errors import InvalidInput
from domain.regions import check_region, province_of

FUNDLEDGER_NAMESPACE = uuid.UUID("6f1d2c52-4a3b-5e0f-9b1e-2f6a1c7d0e11")
"""Namespace of every id the ledger derives from a business key (uuid5)."""


class Scheme(StrEnum):
    """The kinds of fund the ledger keeps."""

    RESIDENT = "resident"
    URBAN_RESIDENT = "urban_resident"
    NCMS = "ncms"
    EMPLOYEE = "employee"
    ADJUSTMENT = "adjustment"


LEGACY_SCHEMES = frozenset({Scheme.URBAN_RESIDENT, Scheme.NCMS})
"""The two funds that existed before integration (Jilin 2016, Guizhou 2019)."""


@dataclass(frozen=True, order=True)
class FundId:
    """A fund's identity: its scheme and its region."""

    scheme: Scheme
    region: str

    @classmethod
    def parse(cls, text: str, *, field: str = "fund") -> FundId:
        """Parse ``scheme:region``, refusing an unknown scheme or a malformed region.

        A text parsed before is answered from a cache (a batch names a few funds many times;
        a fund id is immutable); a refusal is not cached.
        """
        return _parsed(text, field)

    @classmethod
    def _parse(cls, text: str, field: str) -> FundId:
        scheme_text, sep, region = text.strip().partition(":")
        if not sep:
            raise InvalidInput(
                f"{text!r} is not a fund id of the form scheme:region (e.g. resident:140100)",
                field=field,
            )
        try:
            scheme = Scheme(scheme_text)
        except ValueError:
            known = ", ".join(s.value for s in Scheme)
            raise InvalidInput(
                f"{scheme_text!r} is not a fund scheme (one of {known})", field=field
            ) from None
        return cls(scheme, check_region(region, field=field))

    def __str__(self) -> str:
        return f"{self.scheme.value}:{self.region}"

    @property
    def province(self) -> str:
        """The province whose ledger partition holds this fund."""
        return province_of(self.region)

    @property
    def aggregate_id(self) -> uuid.UUID:
        """The fund aggregate's id, derived from the fund id so that a retry collides."""
        return _fund_aggregate_id(self.scheme.value, self.region)

    @property
    def is_legacy(self) -> bool:
        """True for the pre-integration urban-resident and NCMS funds."""
        return self.scheme in LEGACY_SCHEMES


@functools.lru_cache(maxsize=4_096)
def _parsed(text: str, field: str) -> FundId:
    return FundId._parse(text, field)


@functools.lru_cache(maxsize=4_096)
def _fund_aggregate_id(scheme: str, region: str) -> uuid.UUID:
    return uuid.uuid5(FUNDLEDGER_NAMESPACE, f"fund:{scheme}:{region}")
