"""Issue 9 point 4: warnings are judged on complete months only, and Guangdong counts months
of benefits (待遇).

Each test fails on the code before the fix: one December posting (or a levy dated 31 December)
while December runs turned the trailing window into the year to date and raised a red
"current deficit"; "today" was the server's local date, not a day in China, and could not be
given; months of coverage always divided by the whole expense subtotal.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from api.bootstrap import App, bootstrap_app
from api.settings import Settings
from api.usecases.read_models import ratios
from domain.access import Principal
from domain.funds import FundId
from domain.postings import Posting
from domain.today import china_today
from projections.ratios_report import last_complete_month
from tests.scenario import posting

OPERATOR = Principal("cli:operator")
CITY = FundId.parse("resident:140100")
GD_CITY = FundId.parse("resident:440100")


@pytest.fixture
def fl(store_url: str) -> Iterator[App]:
    built = bootstrap_app(Settings(database_url=store_url))
    built.ledger.init(["140000", "440000"])
    built.read_models.create_tables()
    try:
        yield built
    finally:
        built.close()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def seasonal_books(fund: FundId, *, december_benefit: bool) -> list[Posting]:
    """2025: 100,000.00 of benefits a month, 400,000.00 of contributions in each of October,
    November and December: income 1,200,000 = expense. 2026 the same up to November, and,
    while December runs, one benefit dated 1 December (or none)."""
    rows = []
    for year, last in ((2025, 12), (2026, 11)):
        rows += [posting(f"{fund} benefit 100000.00 {year}-{m:02d}-28 B-{year}-{m}")
                 for m in range(1, last + 1)]  # fmt: skip
        rows += [posting(f"{fund} contribution 400000.00 {year}-{m:02d}-15 C-{year}-{m}")
                 for m in (10, 11, 12) if m <= last]  # fmt: skip
    if december_benefit:
        rows.append(posting(f"{fund} benefit 100000.00 2026-12-01 B-2026-12"))
    return rows


def test_a_december_posting_while_december_runs_raises_no_deficit(fl: App) -> None:
    fl.ledger.open_fund(CITY, first_year=2025, opening_balance_fen=700_000_00)
    fl.ledger.import_postings(seasonal_books(CITY, december_benefit=True))
    # 2 December 2026 in Beijing: November is the last complete month. Year to date:
    # 800,000 in, 1,200,000 out; the trailing window Dec 2025 - Nov 2026: 1,200,000 in,
    # 1,200,000 out, no deficit, whatever was posted on 1 December.
    now = at("2026-12-02T01:30:00+00:00")
    row = ratios(fl, OPERATOR, 2026, clock=lambda: now)[0]
    assert row["trailing_period"] == "2025-12..2026-11"
    assert row["trailing_income_subtotal"] == "1200000.00"
    assert row["trailing_expense_subtotal"] == "1200000.00"
    assert row["basis"] == "trailing_12_months"
    assert [w["rule"] for w in row["warnings"] if w["level"] == "red"] == []
    # the statement of the year is judged the same way
    statement = fl.read_models.statement(CITY, 2026, today=china_today(lambda: now))
    assert [w["rule"] for w in statement.warnings] == []


def test_a_levy_dated_31_december_does_not_end_the_window(fl: App) -> None:
    adjustment = FundId.parse("adjustment:140000")
    fl.ledger.open_fund(adjustment, first_year=2025, opening_balance_fen=0)
    fl.ledger.open_fund(CITY, first_year=2025, opening_balance_fen=700_000_00)
    fl.ledger.import_postings(
        [
            *seasonal_books(CITY, december_benefit=False),
            posting(
                f"{CITY} to_upper 30000.00 2026-12-31 LEVY-2026 counterparty={adjustment} "
                "purpose=adjustment_levy"
            ),
        ]
    )
    row = ratios(fl, OPERATOR, 2026, clock=lambda: at("2026-12-10T08:00:00+08:00"))
    city = next(r for r in row if r["fund"] == str(CITY))
    assert city["trailing_period"] == "2025-12..2026-11"
    assert city["warning_level"] != "red"


def test_today_is_a_day_in_china() -> None:
    # 30 November 2026, 16:30 UTC is already 1 December in Beijing: November is over
    assert china_today(lambda: at("2026-11-30T16:30:00+00:00")) == date(2026, 12, 1)
    assert last_complete_month(date(2026, 12, 1)) == (2026, 11)
    # 15:59 UTC is still 30 November there: October is the last complete month
    assert china_today(lambda: at("2026-11-30T15:59:00+00:00")) == date(2026, 11, 30)
    assert last_complete_month(date(2026, 11, 30)) == (2026, 10)
    assert last_complete_month(date(2027, 1, 1)) == (2026, 12)
    assert china_today(lambda: datetime(2026, 12, 31, 16, 0, tzinfo=UTC)) == date(2027, 1, 1)


def test_guangdong_counts_months_of_benefits(fl: App) -> None:
    # 2025, closed by the calendar: benefits 100,000.00 a month (1,200,000), critical-illness
    # premiums 1,200,000 more; income 2,400,000; balance 1,000,000 all year. Months of
    # benefits: 1,000,000 x 12 / 1,200,000 = 10 (above Guangdong's floor of 9); months of the
    # whole expense subtotal would be 5 (red).
    fl.ledger.open_fund(GD_CITY, first_year=2025, opening_balance_fen=1_000_000_00)
    fl.ledger.import_postings(
        [posting(f"{GD_CITY} benefit 100000.00 2025-{m:02d}-28 B-{m}") for m in range(1, 13)]
        + [
            posting(f"{GD_CITY} critical_illness 1200000.00 2025-06-30 CI-1"),
            posting(f"{GD_CITY} contribution 2400000.00 2025-11-15 C-1"),
        ]
    )
    row = ratios(fl, OPERATOR, 2025, clock=lambda: at("2026-02-01T00:00:00+08:00"))[0]
    assert row["months_of_coverage_denominator"] == "benefit"
    assert row["months_of_coverage"] == "10.0000"
    assert row["warning_level"] == "blue"  # 9-15 months: more than needed, no red floor
    assert [w["rule"] for w in row["warnings"]] == ["months_band"]
    # the same books under a policy that counts the whole expense subtotal: 5 months
    subtotal = ratios(fl, OPERATOR, 2025, policy=Path("projections/policies/140000.toml"),
                      clock=lambda: at("2026-02-01T00:00:00+08:00"))[0]  # fmt: skip
    assert subtotal["months_of_coverage_denominator"] == "expense_subtotal"
    assert subtotal["months_of_coverage"] == "5.0000"


def test_the_monthly_coverage_chart_divides_by_what_the_policy_divides_by(fl: App) -> None:
    """The fund page's trailing-12-month chart agrees with the ratios: Guangdong's months of
    benefits, Shanxi's months of the expense subtotal (before, every chart used the subtotal)."""
    books = [
        *(f"benefit 100000.00 2025-{m:02d}-28 B-{m}" for m in range(1, 13)),
        "critical_illness 1200000.00 2025-06-30 CI-1",
        "contribution 2400000.00 2025-11-15 C-1",
    ]
    for fund in (GD_CITY, CITY):
        fl.ledger.open_fund(fund, first_year=2025, opening_balance_fen=1_000_000_00)
        fl.ledger.import_postings([posting(f"{fund} {row}") for row in books])
    december = {fund: fl.read_models.monthly(fund)[-1] for fund in (GD_CITY, CITY)}
    assert december[GD_CITY].label == december[CITY].label == "2025-12"
    assert december[GD_CITY].trailing_expense_fen == 1_200_000_00  # benefits only
    assert december[GD_CITY].months_of_coverage == "10.0000"
    assert december[CITY].trailing_expense_fen == 2_400_000_00  # the expense subtotal
    assert december[CITY].months_of_coverage == "5.0000"
