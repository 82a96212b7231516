"""Nantong's financing-standard catch-up (统一筹资标准补缴), tracked due against paid.

A county whose 2020 financing per enrolled resident was below the city's unified standard owes
the per-capita shortfall × its enrolled residents, paid into the city pool in five 20% yearly
instalments, 2020 to 2024. The financing is read from the ledger (contributions and subsidies
posted with the county in the base year, over the county's enrolment of that year), so
``owed = max(0, standard × enrolled − raised)`` — exactly the per-capita shortfall × enrolled,
with no per-capita rounding. Each instalment is one receivable of the pool's ledger
(:mod:`clearing.owed`), reference ``CATCHUP-<county>-<year>`` (the instalment's year); a
payment is an income posting on the pool whose reference begins with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from clearing.queries import county_totals, enrolment, reference_total
from domain.errors import InvalidInput
from domain.lines import INCOME_LINES, Line
from domain.money import format_fen
from projections.db import ProjectionDB


@dataclass(frozen=True)
class CatchUpRule:
    """A unified financing standard and the instalments that bring a county up to it."""

    standard_fen: int
    base_year: int
    instalments: int
    seed: str


NANTONG = CatchUpRule(
    standard_fen=120_000,
    base_year=2020,
    instalments=5,
    seed="Nantong 2019 (通政办发〔2019〕101号)",
)
RULES: dict[str, CatchUpRule] = {"resident:320600": NANTONG}
"""The pools that have a catch-up, by fund id (Nantong's city pool)."""


@dataclass(frozen=True)
class Instalment:
    year: int
    due_fen: int
    paid_fen: int
    reference: str
    """The receivable's reference, ``CATCHUP-<county>-<year>``."""

    @property
    def unpaid_fen(self) -> int:
        return max(0, self.due_fen - self.paid_fen)


@dataclass(frozen=True)
class CountyCatchUp:
    """One county's catch-up: what it raised, what it owes, and each instalment."""

    county: str
    enrolled: int
    raised_fen: int
    owed_fen: int
    instalments: tuple[Instalment, ...]

    @property
    def per_capita(self) -> str:
        """The base year's financing per enrolled resident, in yuan (2 decimals, half-up)."""
        if self.enrolled == 0:
            return "—"
        yuan = Decimal(self.raised_fen) / self.enrolled / 100
        return str(yuan.quantize(Decimal("0.01"), ROUND_HALF_UP))

    @property
    def paid_fen(self) -> int:
        return sum(i.paid_fen for i in self.instalments)


def instalment_dues(owed_fen: int, count: int) -> list[int]:
    """Equal yearly shares (20% each for five), exact to the fen: the cumulative due is
    rounded half-up each year, so the instalments add up to ``owed_fen``.

    Nantong 2019: 按每年20%的比例分5年（2020~2024年）逐年补缴至市级居民医保基金账户.
    """
    cumulative = [(2 * owed_fen * k + count) // (2 * count) for k in range(count + 1)]
    return [cumulative[k + 1] - cumulative[k] for k in range(count)]


def county_owed(standard_fen: int, enrolled: int, raised_fen: int) -> int:
    """The per-capita shortfall below the standard × the residents enrolled.

    Nantong 2019: 各县（市）、区居民医保筹资标准从2020年1月1日起全市统一为1200元。2020年度
    居民医保筹资低于此标准的县（市）、区，其人均差额乘以参保居民总数的总差额 … 补缴.
    """
    return max(0, standard_fen * enrolled - raised_fen)


def catch_up_schedule(db: ProjectionDB, fund: str) -> list[CountyCatchUp]:
    """Every county of the pool with its owed amount and instalments, due against paid."""
    rule = RULES.get(fund)
    if rule is None:
        raise InvalidInput(
            f"{fund} has no financing-standard catch-up (only {', '.join(RULES)})", field="fund"
        )
    enrolled = enrolment(db, fund, rule.base_year)
    raised = county_totals(db, fund, rule.base_year, (Line.CONTRIBUTION, Line.SUBSIDY))
    schedule: list[CountyCatchUp] = []
    for county in sorted(enrolled):
        owed = county_owed(rule.standard_fen, enrolled[county], raised.get(county, 0))
        dues = instalment_dues(owed, rule.instalments)
        instalments = tuple(
            Instalment(
                year,
                due,
                paid_on(db, fund, catch_up_reference(county, year)),
                catch_up_reference(county, year),
            )
            for year, due in zip(
                range(rule.base_year, rule.base_year + rule.instalments), dues, strict=True
            )
        )
        schedule.append(
            CountyCatchUp(county, enrolled[county], raised.get(county, 0), owed, instalments)
        )
    return schedule


def catch_up_faults(db: ProjectionDB, fund: str, year: int) -> dict[str, int]:
    """Per county, the year's instalment still unpaid (for the settlement's own-fault part)."""
    rule = RULES.get(fund)
    if rule is None or not rule.base_year <= year < rule.base_year + rule.instalments:
        return {}
    unpaid: dict[str, int] = {}
    for county in catch_up_schedule(db, fund):
        for instalment in county.instalments:
            if instalment.year == year and instalment.unpaid_fen:
                unpaid[county.county] = instalment.unpaid_fen
    return unpaid


def catch_up_reference(county: str, year: int) -> str:
    """The reference prefix of a county's catch-up payment for an instalment year."""
    return f"CATCHUP-{county}-{year}"


def paid_on(db: ProjectionDB, fund: str, reference: str) -> int:
    """What was paid on a receivable: income postings on the pool with its reference (every
    income line, so a payment counts whatever line it was booked on)."""
    return sum(reference_total(db, fund, line, reference) for line in INCOME_LINES)


def schedule_rows(schedule: list[CountyCatchUp]) -> list[dict[str, str]]:
    """One row per county and instalment year, money as yuan strings."""
    rows: list[dict[str, str]] = []
    for county in schedule:
        for instalment in county.instalments:
            rows.append(
                {
                    "county": county.county,
                    "enrolled": str(county.enrolled),
                    "per_capita": county.per_capita,
                    "owed": format_fen(county.owed_fen),
                    "year": str(instalment.year),
                    "due": format_fen(instalment.due_fen),
                    "paid": format_fen(instalment.paid_fen),
                    "unpaid": format_fen(instalment.unpaid_fen),
                }
            )
    return rows
