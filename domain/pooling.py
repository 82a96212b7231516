"""The pooling level of a region: where a county keeps no fund of its own (docs/domain.md §1).

The data is policy, kept in ``domain/policies/pooling.toml``: each entry is a region pooled at
city level (a province, for all its cities, or one city), the first year of that pooling,
the schemes it covers and its source text. The rule reads it; nothing else decides it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from domain.errors import InvalidInput
from domain.funds import FundId, Scheme
from domain.regions import RegionLevel, contains, level_of


@dataclass(frozen=True)
class MunicipalPooling:
    """A region pooled at city level (统收统支) from ``from_year`` on."""

    region: str
    from_year: int
    schemes: frozenset[Scheme]
    source: str
    quote: str


@cache
def municipal_pooling() -> tuple[MunicipalPooling, ...]:
    """Every region the shipped pooling data puts under municipal pooling."""
    text = (resources.files("domain") / "policies" / "pooling.toml").read_text(encoding="utf-8")
    return tuple(
        MunicipalPooling(
            region=str(entry["region"]),
            from_year=int(entry["from_year"]),
            schemes=frozenset(Scheme(s) for s in entry["schemes"]),
            source=str(entry["source"]),
            quote=str(entry["quote"]),
        )
        for entry in tomllib.loads(text)["municipal"]
    )


def pooling_of(fund: FundId) -> MunicipalPooling | None:
    """The municipal pooling that covers a county-level fund's region and scheme, if any."""
    if level_of(fund.region) is not RegionLevel.COUNTY:
        return None
    for pooling in municipal_pooling():
        if fund.scheme in pooling.schemes and contains(pooling.region, fund.region):
            return pooling
    return None


def refuse_county_fund_under_municipal_pooling(fund: FundId, first_year: int) -> None:
    """Refuse a county's own fund whose books begin once its city pools the scheme.

    Seeds: Guizhou 2019 (县级不再设立: counties keep no special account once the 市(州) pools
    with 统收统支, by the end of 2019), Nantong 2019 (市级财政专户 from 1 January 2020). A
    fund's year is the first year of its books (``first_year``): a county fund that kept books
    before integration (e.g. ``ncms:520102`` from 2016, to be cleared and merged) stays allowed.
    """
    pooling = pooling_of(fund)
    if pooling is None or first_year < pooling.from_year:
        return
    raise InvalidInput(
        f"county {fund.region} lies in {pooling.region}, pooled at city level from "
        f"{pooling.from_year}: a county keeps no {fund.scheme.value} fund of its own for "
        f"{first_year}: its books are the city pool's ({pooling.source}: {pooling.quote}); "
        f"a county fund is opened only for books beginning before {pooling.from_year}",
        field="fund",
    )
