"""Subsidies due and received, per fund, year and level of government (docs/domain.md §5).

**Due** = residents enrolled (the latest record of each county, from ``fl_enrolment``) × the
year's government subsidy per person (the policy's standard) × the level's share: the centre's
share by the province's tier, the rest split between province, city and county by provincial
rule. The fund's total is split between the levels exactly, to the fen, by the largest-remainder
method. **Received** = the standard subsidy postings of each level for the year
(``fl_sums``; earmarked 专项 subsidies are shown apart, they are not part of the per-person
standard). **Outstanding** = due − received: what a level still owes (negative: paid ahead).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from domain.errors import InvalidInput
from domain.funds import FundId
from domain.lines import Level
from domain.money import format_fen
from projections.db import ProjectionDB
from projections.policy import Policy, SubsidyPolicy
from projections.ratios import format_share

LEVELS: tuple[Level, ...] = (Level.CENTRAL, Level.PROVINCIAL, Level.MUNICIPAL, Level.COUNTY)
"""The paying levels, in the order that also breaks ties in a split."""


def level_shares(policy: Policy, province: str) -> dict[Level, Decimal]:
    """Each level's share of the subsidy in ``province``; exact decimals adding up to 1."""
    subsidy = _subsidy(policy)
    central = subsidy.central_share_for(province)
    rest = 1 - central
    split = subsidy.remainder
    shares = {
        Level.CENTRAL: central,
        Level.PROVINCIAL: rest * split.provincial,
        Level.MUNICIPAL: rest * split.municipal,
        Level.COUNTY: rest * split.county,
    }
    assert sum(shares.values()) == 1, shares
    return shares


def split_by_shares(total_fen: int, shares: Mapping[Level, Decimal]) -> dict[Level, int]:
    """Split ``total_fen`` between the levels in proportion to their shares, exactly.

    Largest-remainder method: each level first gets the floor of its exact part; the fen left
    over go one each to the largest remainders, ties broken by :data:`LEVELS` order (central,
    provincial, municipal, county), so the same inputs always give the same split and the
    parts add up to the total.
    """
    assert total_fen >= 0
    exact = {level: Fraction(shares.get(level, 0)) * total_fen for level in LEVELS}
    parts = {level: int(value) for level, value in exact.items()}  # floor: value >= 0
    left = total_fen - sum(parts.values())
    order = sorted(LEVELS, key=lambda lv: (-(exact[lv] - parts[lv]), LEVELS.index(lv)))
    for level in order[:left]:
        parts[level] += 1
    assert sum(parts.values()) == total_fen
    return parts


@dataclass(frozen=True)
class LevelSubsidy:
    """One level's subsidy for a fund and year (fen)."""

    level: Level
    share: Decimal
    due_fen: int
    received_fen: int
    earmarked_fen: int

    @property
    def outstanding_fen(self) -> int:
        return self.due_fen - self.received_fen


@dataclass(frozen=True)
class FundSubsidy:
    """A fund's subsidy for a year: enrolment, standard, and each level's due and receipts."""

    fund: str
    year: int
    enrolled: int
    standard_fen: int
    levels: tuple[LevelSubsidy, ...]
    policy: str

    def to_json(self) -> dict[str, Any]:
        due = sum(x.due_fen for x in self.levels)
        received = sum(x.received_fen for x in self.levels)
        return {
            "fund": self.fund,
            "year": self.year,
            "enrolled": self.enrolled,
            "standard_per_person": format_fen(self.standard_fen),
            "due": format_fen(due),
            "received": format_fen(received),
            "outstanding": format_fen(due - received),
            "earmarked_received": format_fen(sum(x.earmarked_fen for x in self.levels)),
            "levels": [
                {
                    "level": x.level.value,
                    "share": format_share(x.share),
                    "due": format_fen(x.due_fen),
                    "received": format_fen(x.received_fen),
                    "outstanding": format_fen(x.outstanding_fen),
                    "earmarked_received": format_fen(x.earmarked_fen),
                }
                for x in self.levels
            ],
            "policy": self.policy,
        }


def enrolment_records(
    db: ProjectionDB, *, year: int | None = None, fund: str | None = None
) -> dict[tuple[str, int, str], int]:
    """Residents enrolled per (fund, year, county): each county's latest record (a later
    record replaces an earlier one); only ``year``'s or ``fund``'s when given."""
    rows = db.query(
        "SELECT e.fund, e.year, e.county, e.enrolled FROM fl_enrolment e "
        "WHERE (CAST(%s AS INTEGER) IS NULL OR e.year = %s) "
        "AND (CAST(%s AS TEXT) IS NULL OR e.fund = %s) "
        "AND e.notification_id = (SELECT max(x.notification_id) FROM fl_enrolment x "
        "WHERE x.fund = e.fund AND x.year = e.year AND x.county = e.county)",
        (year, year, fund, fund),
    )
    return {(str(f), int(y), str(c)): int(n) for f, y, c, n in rows}


def read_enrolment(db: ProjectionDB, year: int, fund: str | None = None) -> dict[str, int]:
    """Residents enrolled per fund for ``year``: the sum over counties of each county's
    latest record (:func:`enrolment_records`)."""
    enrolled: dict[str, int] = {}
    for (name, _, _), count in enrolment_records(db, year=year, fund=fund).items():
        enrolled[name] = enrolled.get(name, 0) + count
    return enrolled


def read_received(
    db: ProjectionDB, year: int, fund: str | None = None
) -> dict[tuple[str, Level], tuple[int, int]]:
    """Subsidy received per fund and level in ``year``: (standard, earmarked) in fen."""
    rows = db.query(
        "SELECT fund, level, CASE WHEN sub_line = 'earmarked' THEN 1 ELSE 0 END, "
        "sum(amount_fen) FROM fl_sums "
        "WHERE line = 'subsidy' AND fiscal_year = %s AND (CAST(%s AS TEXT) IS NULL OR fund = %s) "
        "GROUP BY 1, 2, 3",
        (year, fund, fund),
    )
    received: dict[tuple[str, Level], tuple[int, int]] = {}
    for name, level, earmarked, total in rows:
        assert level is not None, "a subsidy posting always names its level"
        standard, special = received.get((name, Level(level)), (0, 0))
        if earmarked:
            special += int(total)
        else:
            standard += int(total)
        received[(name, Level(level))] = (standard, special)
    return received


def subsidies_report(
    db: ProjectionDB, year: int, *, policy_for: Callable[[str], Policy], fund: str | None = None
) -> list[FundSubsidy]:
    """Due, received and outstanding per level for every fund with enrolment or receipts."""
    enrolled = read_enrolment(db, year, fund)
    received = read_received(db, year, fund)
    names = sorted({*enrolled, *(name for name, _ in received)})
    report = []
    for name in names:
        province = FundId.parse(name).province
        policy = policy_for(province)
        standard = _subsidy(policy).standards.get(year)
        if standard is None:
            raise InvalidInput(
                f"policy {policy.label} gives no subsidy standard for {year} "
                f"(subsidy.standards.{year})",
                field="year",
            )
        count = enrolled.get(name, 0)
        shares = level_shares(policy, province)
        due = split_by_shares(count * standard.government, shares)
        levels = tuple(
            LevelSubsidy(lv, shares[lv], due[lv], *received.get((name, lv), (0, 0)))
            for lv in LEVELS
        )
        report.append(FundSubsidy(name, year, count, standard.government, levels, policy.label))
    return report


def _subsidy(policy: Policy) -> SubsidyPolicy:
    if policy.subsidy is None:
        raise InvalidInput(f"policy {policy.label} has no [subsidy] section", field="policy")
    return policy.subsidy
