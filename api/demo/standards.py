"""The financing standards and subsidy shares the demo plans with (docs/domain.md §5).

These are the national minimum standards of 2022-2025 and the Shanxi split of the subsidy;
the province's policy file (``projections/policies/140000.toml``) states the same figures, so
the subsidies report finds nothing outstanding except what the demo leaves short on purpose.
Shares are integers (per mille, per million): money never passes through a float.
"""

from __future__ import annotations

from dataclasses import dataclass

from api.demo.split import split_exact
from domain.lines import Level

FIRST_YEAR = 2022
LATEST_YEAR = 2025
YEARS: tuple[int, ...] = tuple(range(FIRST_YEAR, LATEST_YEAR + 1))


@dataclass(frozen=True)
class Standard:
    """The national minimum financing standard per enrolled resident for a year (fen)."""

    government_fen: int
    individual_fen: int


STANDARDS: dict[int, Standard] = {
    2021: Standard(58_000, 32_000),
    2022: Standard(61_000, 35_000),
    2023: Standard(64_000, 38_000),
    2024: Standard(67_000, 40_000),
    2025: Standard(70_000, 40_000),
}
"""Government subsidy and individual contribution per person; 2021 only bases the first levy."""

CENTRAL_SHARE_PERMILLE = 600
"""Shanxi is a central-tier province: the centre pays 60% of the subsidy (docs/domain.md §5)."""

REMAINDER_SPLIT_PERMILLE: dict[Level, int] = {
    Level.PROVINCIAL: 500,
    Level.MUNICIPAL: 250,
    Level.COUNTY: 250,
}
"""The other 40%: half by the province, a quarter each by the city and the county."""

LEVELS: tuple[Level, ...] = (Level.CENTRAL, Level.PROVINCIAL, Level.MUNICIPAL, Level.COUNTY)

LEVY_PERMILLE = 30
"""The adjustment levy (调剂金计提): 3% of the pool's contribution and subsidy income of the
year before, paid in December: the Shanxi clearing policy (``clearing/policies/140000.toml``,
``[levy]``), so the clearing finds each pool's levy paid in full."""


def levy_on(base_fen: int) -> int:
    """The levy on ``base_fen``: :data:`LEVY_PERMILLE` of it, rounded half-up to the fen."""
    assert base_fen >= 0, base_fen
    return (base_fen * LEVY_PERMILLE * 2 + 1000) // 2000


def level_shares_per_million() -> dict[Level, int]:
    """Each level's share of the subsidy in millionths; they add up to one million."""
    rest = 1000 - CENTRAL_SHARE_PERMILLE
    shares = {Level.CENTRAL: CENTRAL_SHARE_PERMILLE * 1000}
    shares.update({level: rest * p for level, p in REMAINDER_SPLIT_PERMILLE.items()})
    assert sum(shares.values()) == 1_000_000, shares
    return shares


def subsidy_due(enrolled: int, year: int) -> dict[Level, int]:
    """The pool's subsidy due from each level: enrolled × standard, split exactly by share."""
    shares = level_shares_per_million()
    parts = split_exact(enrolled * STANDARDS[year].government_fen, [shares[lv] for lv in LEVELS])
    return dict(zip(LEVELS, parts, strict=True))
