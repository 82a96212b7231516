"""Ratios and warnings (docs/domain.md §3): the rules, the report from the read model, the CLI.

Expected figures are worked out by hand in each test's comments.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.bootstrap import App, bootstrap_app
from api.cli import app as cli
from api.settings import Settings
from domain.funds import FundId
from domain.postings import Posting
from projections.policy import Policy, WarningLevel, load_policy
from projections.ratios_report import ratios_report, statement_warnings
from projections.warning_rules import Figures, evaluate, warning_basis
from tests.scenario import posting

PROVINCES = ["140000", "220000", "440000"]
SHANXI = load_policy("140000")
GUANGDONG = load_policy("440000")
JILIN = load_policy("220000")
CITY = FundId.parse("resident:140100")
CITY2 = FundId.parse("resident:140200")
GD_CITY = FundId.parse("resident:440100")
NCMS = FundId.parse("ncms:220100")
URBAN = FundId.parse("urban_resident:220100")
IN_NOVEMBER = date(2025, 11, 15)
NEXT_YEAR = date(2026, 1, 10)


def seasonal(
    fund: FundId, year: int, *, contribution: str, benefit: str, through: int = 12
) -> list[Posting]:
    """Contributions in October, November and December; benefits every month."""
    rows = [
        posting(f"{fund} benefit {benefit} {year}-{m:02d}-28 B-{year}-{m}")
        for m in range(1, through + 1)
    ]
    rows += [
        posting(f"{fund} contribution {contribution} {year}-{m:02d}-15 C-{year}-{m}")
        for m in (10, 11, 12)
        if m <= through
    ]
    return rows


@pytest.fixture
def fl(store_url: str) -> Iterator[App]:
    built = bootstrap_app(Settings(database_url=store_url))
    built.ledger.init(PROVINCES)
    built.read_models.create_tables()
    try:
        yield built
    finally:
        built.close()


def report(fl: App, year: int, today: date, **kwargs: Any) -> dict[str, dict[str, Any]]:
    fl.read_models.catch_up()
    db = fl.read_models.projectors[0].db
    rows = ratios_report(db, year, policy_for=load_policy, today=today, **kwargs)
    return {row["fund"]: row for row in rows}


def open_fund(fl: App, fund: FundId, opening: int, first_year: int = 2024) -> None:
    fl.ledger.open_fund(fund, first_year=first_year, opening_balance_fen=opening * 100)


# ------------------------------------------------------------------ the read model


def test_q4_contributions_give_a_year_to_date_deficit_but_no_red_warning(fl: App) -> None:
    # 2024: opening 700,000; contributions 400,000 in each of Oct-Dec; benefits 100,000 a
    # month: income 1,200,000 = expense, closing 700,000 (7 months). 2025 to October: the
    # October contribution only, ten months of benefits.
    open_fund(fl, CITY, 700_000)
    fl.ledger.import_postings(
        seasonal(CITY, 2024, contribution="400000.00", benefit="100000.00")
        + seasonal(CITY, 2025, contribution="400000.00", benefit="100000.00", through=10)
    )
    row = report(fl, 2025, IN_NOVEMBER)[str(CITY)]
    # Year to date: 400,000 in, 1,000,000 out, balance 100,000: a deep deficit.
    assert row["year_complete"] is False
    assert row["income_subtotal"] == "400000.00"
    assert row["expense_subtotal"] == "1000000.00"
    assert row["closing_balance"] == "100000.00"
    assert row["current_surplus_rate"] == "-1.500000"
    assert row["months_of_coverage"] == "1.2000"
    # Trailing Nov 2024 - Oct 2025: 3 contributions, 12 benefits, no deficit; the year-end
    # balance it points to: 100,000 + Nov-Dec 2024 (800,000 - 200,000) = 700,000, 7 months.
    assert row["trailing_period"] == "2024-11..2025-10"
    assert row["trailing_income_subtotal"] == "1200000.00"
    assert row["trailing_expense_subtotal"] == "1200000.00"
    assert row["trailing_year_end_balance"] == "700000.00"
    assert row["trailing_current_surplus_rate"] == "0.000000"
    assert row["trailing_months_of_coverage"] == "7.0000"
    assert row["basis"] == "trailing_12_months"
    assert row["warning_level"] == "green"
    assert row["warnings"] == []
    # The same year-to-date figures judged alone would be red twice over.
    ytd = Figures("2025", 40_000_000, 100_000_000, 40_000_000, 100_000_000, 40_000_000, 10_000_000)
    assert [f.level for f in evaluate(CITY, ytd, SHANXI)] == [WarningLevel.RED] * 2


def test_a_full_year_deficit_warns_red(fl: App) -> None:
    # Opening 2,000,000; 3 × 300,000 in, 12 × 100,000 out: deficit 300,000, closing
    # 1,700,000 = 17 months (excessive, yellow) but red for the deficit.
    open_fund(fl, CITY2, 2_000_000)
    fl.ledger.import_postings(seasonal(CITY2, 2024, contribution="300000.00", benefit="100000.00"))
    row = report(fl, 2024, IN_NOVEMBER)[str(CITY2)]
    assert row["year_complete"] is True
    assert row["basis"] == "full_year"
    assert row["trailing_period"] is None
    assert row["current_surplus_rate"] == "-0.333333"
    assert row["accumulated_balance_rate"] == "1.888889"
    assert row["months_of_coverage"] == "17.0000"
    assert row["warning_level"] == "red"
    assert [(w["rule"], w["level"]) for w in row["warnings"]] == [
        ("deficit", "red"),
        ("months_band", "yellow"),
    ]
    assert "current deficit of 300,000.00" in row["warnings"][0]["message"]


def test_a_trailing_deficit_still_warns_in_an_incomplete_year(fl: App) -> None:
    # 2025: benefits rise to 150,000 a month, October brings 300,000. Trailing Nov 2024 -
    # Oct 2025: in 900,000, out 2 × 100,000 + 10 × 150,000 = 1,700,000: deficit 800,000.
    # Year-end balance: 1,700,000 + 300,000 - 1,500,000 + (600,000 - 200,000) = 900,000.
    open_fund(fl, CITY2, 2_000_000)
    fl.ledger.import_postings(
        seasonal(CITY2, 2024, contribution="300000.00", benefit="100000.00")
        + seasonal(CITY2, 2025, contribution="300000.00", benefit="150000.00", through=10)
    )
    row = report(fl, 2025, IN_NOVEMBER)[str(CITY2)]
    assert row["trailing_income_subtotal"] == "900000.00"
    assert row["trailing_expense_subtotal"] == "1700000.00"
    assert row["trailing_year_end_balance"] == "900000.00"
    assert row["trailing_months_of_coverage"] == "6.3529"
    assert row["warning_level"] == "red"
    assert [w["rule"] for w in row["warnings"]] == ["deficit"]
    assert row["warnings"][0]["message"].startswith("2024-11..2025-10: current deficit of 800,000")


def test_guangdong_warns_below_nine_months(fl: App) -> None:
    # The same figures as Shanxi's city: 7 months, a reasonable band, but below Guangdong's 9.
    open_fund(fl, GD_CITY, 700_000)
    fl.ledger.import_postings(
        seasonal(GD_CITY, 2024, contribution="400000.00", benefit="100000.00")
    )
    row = report(fl, 2024, NEXT_YEAR)[str(GD_CITY)]
    assert row["months_of_coverage"] == "7.0000"
    assert row["warning_level"] == "red"
    assert [w["rule"] for w in row["warnings"]] == ["minimum_months"]
    assert "less than 9" in row["warnings"][0]["message"]
    fl.read_models.catch_up()
    db = fl.read_models.projectors[0].db
    as_shanxi = ratios_report(db, 2024, policy_for=lambda _: SHANXI, today=NEXT_YEAR)
    assert as_shanxi[0]["warning_level"] == "green"


def test_the_legacy_ncms_cap_applies_to_ncms_funds_only(fl: App) -> None:
    # Funds raised: contribution 3 × 100,000 + subsidy 100,000 = 400,000; interest 10,000
    # (income subtotal 410,000); benefits 12 × 30,000 = 360,000. Opening 200,000, closing
    # 250,000 > 25% × 400,000 = 100,000. Jilin measures the balance against funds raised:
    # 250,000 / 400,000 = 0.625. Months: 250,000 × 12 / 360,000 = 8.3333 (reasonable).
    for fund in (NCMS, URBAN):
        open_fund(fl, fund, 200_000)
        fl.ledger.import_postings(
            [
                *seasonal(fund, 2024, contribution="100000.00", benefit="30000.00"),
                posting(f"{fund} subsidy/standard@central 100000.00 2024-06-30 S-1"),
                posting(f"{fund} interest 10000.00 2024-12-31 I-1"),
            ]
        )
    rows = report(fl, 2024, NEXT_YEAR)
    ncms, urban = rows[str(NCMS)], rows[str(URBAN)]
    assert ncms["income_subtotal"] == "410000.00"
    assert ncms["closing_balance"] == "250000.00"
    assert ncms["accumulated_balance_rate"] == "0.625000"
    assert ncms["accumulated_balance_denominator"] == "funds_raised"
    statement = fl.read_models.statement(NCMS, 2024).to_json()
    assert statement["ratios"]["accumulated_balance_rate"] == "0.625000"  # not 250/410
    assert ncms["months_of_coverage"] == "8.3333"
    assert ncms["warning_level"] == "orange"
    assert [w["rule"] for w in ncms["warnings"]] == ["legacy_cap"]
    assert "ceiling 100,000.00" in ncms["warnings"][0]["message"]
    assert urban["warning_level"] == "green"
    assert urban["warnings"] == []


def test_rows_agree_with_the_statement_and_respect_the_region(fl: App) -> None:
    open_fund(fl, CITY, 10_000)
    open_fund(fl, FundId.parse("adjustment:140000"), 0)
    open_fund(fl, URBAN, 5_000)
    open_fund(fl, FundId.parse("resident:220100"), 0)
    open_fund(fl, FundId.parse("resident:140300"), 0, first_year=2025)
    fl.ledger.import_postings(
        [
            posting("resident:140100 contribution/individual 1200.00 2024-11-02 C-1"),
            posting("resident:140100 subsidy/standard@central 5000.00 2024-06-30 S-1"),
            posting("resident:140100 benefit/inpatient 3000.50 2024-03-31 B-1"),
            posting("resident:140100 benefit/inpatient 3000.50 2024-09-01 B-1R reverses=B-1"),
            posting("resident:140100 benefit/inpatient 700.00 2024-04-30 B-2"),
            posting(
                "resident:140100 to_upper 100.00 2024-12-20 L-1 "
                "counterparty=adjustment:140000 purpose=adjustment_levy"
            ),
            posting("urban_resident:220100 benefit 1000.00 2024-02-01 UB-1"),
            posting(
                "urban_resident:220100 transfer_out 4000.00 2024-06-30 M-1 "
                "counterparty=resident:220100 purpose=legacy_merge"
            ),
        ]
    )
    rows = report(fl, 2024, NEXT_YEAR)
    assert "resident:140300" not in rows  # keeps books from 2025
    for name, row in rows.items():
        data = fl.read_models.statement(FundId.parse(name), 2024).to_json()
        assert row["income_subtotal"] == data["income"]["subtotal"], name
        assert row["expense_subtotal"] == data["expense"]["subtotal"], name
        assert row["closing_balance"] == data["closing_balance"], name
        assert row["current_surplus_rate"] == data["ratios"]["current_surplus_rate"], name
        assert row["months_of_coverage"] == data["ratios"]["months_of_coverage"], name
    # 10,000 + 1,200 + 5,000 - 700 - 100 = 15,400; the merged-in 4,000 is no income.
    assert rows["resident:140100"]["closing_balance"] == "15400.00"
    assert rows["resident:220100"]["income_subtotal"] == "0.00"
    assert rows["resident:220100"]["closing_balance"] == "4000.00"
    assert set(report(fl, 2024, NEXT_YEAR, region="140100")) == {"resident:140100"}
    assert set(report(fl, 2024, NEXT_YEAR, region="220000")) == {
        "urban_resident:220100",
        "resident:220100",
    }


def test_no_warning_before_twelve_months_of_books(fl: App) -> None:
    # Books from 2025, two months posted, in November 2025: no trailing 12 months exist.
    open_fund(fl, CITY, 0, first_year=2025)
    fl.ledger.import_postings(
        seasonal(CITY, 2025, contribution="1.00", benefit="100.00", through=2)
    )
    row = report(fl, 2025, IN_NOVEMBER)[str(CITY)]
    assert row["trailing_period"] is None
    assert row["basis"] is None
    assert row["warning_level"] == "green"
    assert row["months_of_coverage"] == "-12.0000"


def test_statement_warnings(fl: App) -> None:
    open_fund(fl, CITY, 700_000)
    open_fund(fl, CITY2, 2_000_000)
    fl.ledger.import_postings(
        seasonal(CITY, 2024, contribution="400000.00", benefit="100000.00")
        + seasonal(CITY, 2025, contribution="400000.00", benefit="100000.00", through=10)
        + seasonal(CITY2, 2024, contribution="300000.00", benefit="100000.00")
    )
    db = fl.read_models.projectors[0].db
    deficit = fl.read_models.statement(CITY2, 2024)
    assert [w["rule"] for w in statement_warnings(deficit, SHANXI, today=IN_NOVEMBER)] == [
        "deficit",
        "months_band",
    ]
    ytd = fl.read_models.statement(CITY, 2025)
    assert statement_warnings(ytd, SHANXI, db=db, today=IN_NOVEMBER) == []
    assert statement_warnings(ytd, SHANXI, today=IN_NOVEMBER) == []  # no trailing: no warning
    judged_complete = statement_warnings(ytd, SHANXI, today=NEXT_YEAR)
    assert judged_complete[0]["rule"] == "deficit"


# ------------------------------------------------------------------ the rules alone


def figures(closing_fen: int, expense_fen: int = 1_200) -> Figures:
    return Figures("2024", expense_fen, expense_fen, expense_fen, expense_fen, 0, closing_fen)


@pytest.mark.parametrize(
    ("closing_fen", "label", "level"),
    [
        (-1, "insufficient", "red"),
        (299, "insufficient", "red"),
        (300, "low", "orange"),
        (599, "low", "orange"),
        (600, "reasonable", "green"),
        (900, "high", "blue"),
        (1_499, "high", "blue"),
        (1_500, "excessive", "yellow"),
    ],
)
def test_months_bands(closing_fen: int, label: str, level: str) -> None:
    # Expense 1,200 fen a year = 100 fen a month: the closing balance in fen / 100 = months.
    found = [f for f in evaluate(CITY, figures(closing_fen), SHANXI) if f.rule == "months_band"]
    assert found[0].level.value == level
    assert f": {label} (" in found[0].message


@pytest.mark.parametrize(("closing_fen", "warned"), [(899, True), (900, False)])
def test_guangdong_boundary_is_nine_months(closing_fen: int, warned: bool) -> None:
    rules = [f.rule for f in evaluate(GD_CITY, figures(closing_fen), GUANGDONG)]
    assert ("minimum_months" in rules) is warned


def test_nothing_spent_gives_no_months_rule() -> None:
    assert evaluate(CITY, figures(5_000, expense_fen=0), GUANGDONG) == []


def test_the_basis_is_never_the_year_to_date() -> None:
    full, trailing = figures(1), figures(2)
    assert warning_basis(full, trailing, complete=True) is full
    assert warning_basis(full, trailing, complete=False) is trailing
    assert warning_basis(full, None, complete=False) is None


def test_the_deficit_measure_can_count_inter_level_lines() -> None:
    # Subtotals balance; a 100-fen levy (to_upper) makes the total a deficit.
    basis = Figures("2024", 1_000, 1_000, 1_000, 1_100, 1_000, 5_000)
    assert "deficit" not in [f.rule for f in evaluate(CITY, basis, SHANXI)]
    deficit = SHANXI.warnings.deficit
    assert deficit is not None
    total = SHANXI.model_copy(
        update={
            "warnings": SHANXI.warnings.model_copy(
                update={"deficit": deficit.model_copy(update={"measure": "total"})}
            )
        }
    )
    assert "deficit" in [f.rule for f in evaluate(CITY, basis, total)]


# ------------------------------------------------------------------ the command line


@pytest.fixture
def cli_db(sqlite_url: str) -> str:
    built = bootstrap_app(Settings(database_url=sqlite_url))
    built.ledger.init(PROVINCES)
    built.read_models.create_tables()
    open_fund(built, CITY2, 2_000_000)
    open_fund(built, CITY, 700_000)
    built.ledger.import_postings(
        seasonal(CITY2, 2024, contribution="300000.00", benefit="100000.00")
        + seasonal(CITY, 2024, contribution="400000.00", benefit="100000.00")
    )
    built.close()
    return sqlite_url


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def test_cli_ratios_and_warnings(cli_db: str) -> None:
    result = run("ratios", "--year", "2024", "--format", "json", "--db", cli_db)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["fund"] for r in rows] == ["resident:140100", "resident:140200"]
    assert rows[0]["months_of_coverage"] == "7.0000"
    warned = run("warnings", "--year", "2024", "--format", "csv", "--db", cli_db)
    assert warned.exit_code == 0, warned.output
    lines = warned.stdout.splitlines()
    assert len(lines) == 2
    assert lines[1].startswith("resident:140200,2024,true,900000.00,1200000.00,1700000.00,")
    assert "red: 2024: current deficit of 300,000.00" in lines[1]
    table = run("ratios", "--year", "2024", "--region", "140200", "--db", cli_db)
    assert table.exit_code == 0
    assert "resident:140200" in table.stdout
    assert "resident:140100" not in table.stdout


def test_cli_policy_file_errors_name_the_key(cli_db: str, tmp_path: Path) -> None:
    bad = tmp_path / "mine.toml"
    text = (Path(__file__).parents[1] / "projections/policies/140000.toml").read_text("utf-8")
    bad.write_text(text.replace('level = "orange"', 'level = "purple"', 1), "utf-8")
    result = run("ratios", "--year", "2024", "--policy", str(bad), "--db", cli_db)
    assert result.exit_code == 2
    assert f"{bad}: warnings.bands.1.level:" in result.stderr
    two = text.replace('level = "orange"', 'level = "purple"', 1).replace(
        'label = "low"', 'label = "low"\nmisspelt = 1', 1
    )
    bad.write_text(two, "utf-8")
    result = run("ratios", "--year", "2024", "--policy", str(bad), "--db", cli_db)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{bad}: warnings.bands.1.level: Input should be 'red', 'orange', 'yellow', 'blue' "
        "or 'green'",
        f"{bad}: warnings.bands.1.misspelt: Extra inputs are not permitted",
    ]


def test_cli_xlsx(cli_db: str, tmp_path: Path) -> None:
    result = run("ratios", "--year", "2024", "--format", "xlsx", "--db", cli_db)
    assert result.exit_code == 2
    assert "--output" in result.stderr
    if importlib.util.find_spec("api.exports") is None:
        pytest.skip("api.exports (the xlsx writer) is not there yet")
    target = tmp_path / "ratios.xlsx"
    written = run("ratios", "--year", "2024", "--format", "xlsx", "--output", str(target),
                  "--db", cli_db)  # fmt: skip
    assert written.exit_code == 0, written.output
    assert target.stat().st_size > 0


def test_policy_is_frozen() -> None:
    with pytest.raises(ValueError, match="frozen"):
        SHANXI.name = "x"
    assert isinstance(SHANXI, Policy)


def test_cli_statement_follows_a_policy_file(cli_db: str, tmp_path: Path) -> None:
    mine = tmp_path / "mine.toml"
    text = (Path(__file__).parents[1] / "projections/policies/140000.toml").read_text("utf-8")
    mine.write_text(text.replace('= "income_subtotal"', '= "funds_raised"', 1), "utf-8")
    shipped = run("statement", "resident:140100", "--year", "2024", "--format", "json",
                  "--db", cli_db)  # fmt: skip
    assert shipped.exit_code == 0, shipped.output
    assert not any("funds raised" in n for n in json.loads(shipped.stdout)["notes"])
    result = run("statement", "resident:140100", "--year", "2024", "--format", "json",
                 "--policy", str(mine), "--db", cli_db)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert any("funds raised" in n for n in json.loads(result.stdout)["notes"])
    mine.write_text(text.replace('level = "orange"', 'level = "purple"', 1), "utf-8")
    bad = run("statement", "resident:140100", "--year", "2024", "--policy", str(mine),
              "--db", cli_db)  # fmt: skip
    assert bad.exit_code == 2
    assert f"{mine}: warnings.bands.1.level:" in bad.stderr
