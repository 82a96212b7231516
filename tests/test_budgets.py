"""Budgets (docs/domain.md §4): the rules on memory; the CLI and read model on SQLite, PostgreSQL.

The figures are a city pool's year in Shanxi: about two million residents at 400 yuan of
contribution and 700 yuan of subsidy each, benefits and the critical-illness premium, and the
levy to the provincial adjustment fund.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from api.bootstrap import App, bootstrap_app
from api.cli import app as cli
from api.settings import Settings
from api.usecases.budgets import permitted_expense_lines
from domain.budget import (
    Budget,
    BudgetNotFound,
    BudgetRefused,
    budget_id,
    check_line_amounts,
    check_no_cumulative_deficit,
    check_no_current_deficit,
    expense_total_fen,
    income_total_fen,
)
from domain.budgets import (
    adjust_budget,
    approve_budget,
    draft_budget,
    find_budget,
    parse_budget_lines,
)
from domain.errors import FundNotRegistered, InvalidInput
from domain.funds import FUNDLEDGER_NAMESPACE
from domain.ledger_service import Ledger
from domain.lines import Line
from domain.money import parse_yuan
from tests.scenario import CITY, PROVINCE_ADJUSTMENT, posting

TAIYUAN_2025 = {
    "contribution": "800000000.00",
    "subsidy": "1400000000.00",
    "interest": "12000000.00",
    "benefit": "1950000000.00",
    "critical_illness": "120000000.00",
    "to_upper": "63000000.00",
}
"""Income 2,212,000,000.00; expense 2,133,000,000.00; surplus 79,000,000.00."""
SHANXI_PERMITTED = frozenset(
    {Line.BENEFIT, Line.CRITICAL_ILLNESS, Line.TRANSFER_OUT, Line.TO_UPPER, Line.TO_LOWER}
)
"""Shanxi 2024 draft: the only expense lines a budget may carry."""
OPENING_FEN = parse_yuan("850000000.00")
APPROVAL = "晋医保发〔2024〕45号"
ADJUSTMENT = "并医保函〔2025〕88号"


def budget(**changes: str) -> dict[Line, int]:
    return parse_budget_lines({**TAIYUAN_2025, **changes}.items())


@pytest.fixture
def ledger(memory_ledger: Ledger) -> Ledger:
    memory_ledger.open_fund(CITY, first_year=2023, opening_balance_fen=OPENING_FEN)
    return memory_ledger


def draft(
    ledger: Ledger,
    lines: dict[Line, int],
    *,
    opening_balance_fen: int = OPENING_FEN,
    permitted: frozenset[Line] | None = SHANXI_PERMITTED,
) -> Budget:
    return draft_budget(
        ledger, CITY, 2025, lines, opening_balance_fen=opening_balance_fen, permitted=permitted
    ).budget


def adjust(ledger: Ledger, lines: dict[Line, int], ref: str = ADJUSTMENT) -> bool:
    return adjust_budget(
        ledger,
        CITY,
        2025,
        lines,
        approval_ref=ref,
        principal="太原市医疗保障局",
        opening_balance_fen=OPENING_FEN,
        permitted=SHANXI_PERMITTED,
    ).changed


# --------------------------------------------------------------------------- domain, memory


def test_budget_id_is_derived_from_fund_and_year() -> None:
    assert budget_id(CITY, 2025) == uuid.uuid5(FUNDLEDGER_NAMESPACE, "budget:resident:140100:2025")
    assert budget_id(CITY, 2025) != budget_id(CITY, 2026)


def test_draft_approve_adjust_keeps_the_original(ledger: Ledger) -> None:
    drafted = draft(ledger, budget())
    assert (drafted.status, drafted.revision) == ("draft", 1)
    assert income_total_fen(drafted.lines) == parse_yuan("2212000000.00")
    assert expense_total_fen(drafted.lines) == parse_yuan("2133000000.00")
    assert approve_budget(ledger, CITY, 2025, APPROVAL, "太原市财政局").changed
    assert adjust(ledger, budget(benefit="2000000000.00"))
    found = find_budget(ledger, CITY, 2025)
    assert found is not None
    assert found.status == "adjusted"
    assert found.lines["benefit"] == parse_yuan("2000000000.00")
    assert found.original_lines is not None
    assert found.original_lines["benefit"] == parse_yuan("1950000000.00")
    assert found.refs == [APPROVAL, ADJUSTMENT]
    events = ledger.province("140000").events.get(found.id)
    topics = [getattr(type(e), "TOPIC", None) for e in events]
    assert topics == [
        "fundledger:Budget.Created",
        "fundledger:Budget.Drafted",
        "fundledger:Budget.Approved",
        "fundledger:Budget.Adjusted",
    ]


def test_a_draft_is_replaced_until_approved(ledger: Ledger) -> None:
    draft(ledger, budget())
    assert not draft_budget(
        ledger, CITY, 2025, budget(), opening_balance_fen=OPENING_FEN, permitted=None
    ).changed
    replaced = draft(ledger, budget(interest="15000000.00"))
    assert replaced.revision == 2
    assert replaced.lines["interest"] == 1_500_000_000


def test_current_year_deficit_is_refused(ledger: Ledger) -> None:
    with pytest.raises(BudgetRefused, match=r"exceeds income 2,212,000,000\.00 by 1,000,000\.00"):
        draft(ledger, budget(benefit="2030000000.00"))
    assert find_budget(ledger, CITY, 2025) is None


def test_cumulative_deficit_is_refused(ledger: Ledger) -> None:
    # A pool that carried a deficit of 100,000,000.00 in: a surplus of 79,000,000.00 leaves
    # -21,000,000.00 at year end.
    with pytest.raises(BudgetRefused, match=r"leaves -21,000,000\.00 at year end"):
        draft(ledger, budget(), opening_balance_fen=parse_yuan("-100000000.00"))
    draft(ledger, budget(), opening_balance_fen=parse_yuan("-79000000.00"))


def test_shanxi_permits_only_five_expense_lines(ledger: Ledger) -> None:
    with pytest.raises(BudgetRefused, match="no budget on other_expense"):
        draft(ledger, budget(other_expense="5000000.00"))
    draft(ledger, budget(other_expense="0.00"))
    opened = draft(ledger, budget(other_expense="5000000.00"), permitted=None)
    assert opened.lines["other_expense"] == 500_000_000


def test_the_cli_reads_the_permitted_lines_from_the_province_policy() -> None:
    assert permitted_expense_lines("140000") == SHANXI_PERMITTED
    assert permitted_expense_lines("320000") is None  # Jiangsu (Nantong) restricts none


def test_an_approved_budget_is_not_redrafted(ledger: Ledger) -> None:
    draft(ledger, budget())
    approve_budget(ledger, CITY, 2025, APPROVAL, "太原市财政局")
    assert not approve_budget(ledger, CITY, 2025, APPROVAL, "太原市财政局").changed
    with pytest.raises(BudgetRefused, match="not re-drafted"):
        draft(ledger, budget(interest="15000000.00"))
    with pytest.raises(BudgetRefused, match="not re-drafted"):
        approve_budget(ledger, CITY, 2025, "晋医保发〔2024〕46号", "太原市财政局")


def test_adjustment_rules(ledger: Ledger) -> None:
    with pytest.raises(BudgetNotFound, match="draft one first"):
        adjust(ledger, budget(benefit="2000000000.00"))
    draft(ledger, budget())
    with pytest.raises(BudgetRefused, match="approve it first"):
        adjust(ledger, budget(benefit="2000000000.00"))
    approve_budget(ledger, CITY, 2025, APPROVAL, "太原市财政局")
    with pytest.raises(BudgetRefused, match="approval reference"):
        adjust(ledger, budget(benefit="2000000000.00"), ref="  ")
    with pytest.raises(BudgetRefused, match="of its own"):
        adjust(ledger, budget(benefit="2000000000.00"), ref=APPROVAL)
    with pytest.raises(BudgetRefused, match="changes no line"):
        adjust(ledger, budget())
    with pytest.raises(BudgetRefused, match="current-year deficit"):
        adjust(ledger, budget(benefit="2100000000.00"))
    assert adjust(ledger, budget(benefit="2000000000.00"))
    assert not adjust(ledger, budget(benefit="2000000000.00"))  # a retry
    assert adjust(ledger, budget(benefit="2010000000.00"), ref="并医保函〔2025〕120号")
    found = find_budget(ledger, CITY, 2025)
    assert found is not None
    assert (found.adjustments, found.revision) == (2, 4)


def test_fund_and_year_are_checked(ledger: Ledger) -> None:
    with pytest.raises(FundNotRegistered):
        draft_budget(
            ledger, PROVINCE_ADJUSTMENT, 2025, budget(), opening_balance_fen=0, permitted=None
        )
    with pytest.raises(InvalidInput, match="books from 2023"):
        draft_budget(ledger, CITY, 2022, budget(), opening_balance_fen=0, permitted=None)
    ledger.close_year(CITY, 2023, today=date(2024, 3, 1))
    with pytest.raises(BudgetRefused, match="closed"):
        draft_budget(ledger, CITY, 2023, budget(), opening_balance_fen=0, permitted=None)


def test_budget_lines_are_parsed_strictly() -> None:
    with pytest.raises(InvalidInput, match="not a statement line"):
        parse_budget_lines([("benefit.inpatient", "1.00")])
    with pytest.raises(InvalidInput, match="given twice"):
        parse_budget_lines([("benefit", "1.00"), ("benefit", "2.00")])
    with pytest.raises(InvalidInput, match="negative"):
        parse_budget_lines([("benefit", "-1.00")])
    with pytest.raises(InvalidInput, match="at most two decimals"):
        parse_budget_lines([("benefit", "1.005")])
    assert parse_budget_lines([(" interest ", "0.01")]) == {Line.INTEREST: 1}


@given(
    amounts=st.dictionaries(st.sampled_from(list(Line)), st.integers(0, 10**12)),
    opening=st.integers(-(10**12), 10**12),
)
def test_a_budget_passes_exactly_when_it_plans_no_deficit(
    amounts: dict[Line, int], opening: int
) -> None:
    lines = check_line_amounts(amounts)
    income, expense = income_total_fen(lines), expense_total_fen(lines)
    assert income + expense == sum(amounts.values())
    try:
        check_no_current_deficit(lines)
        check_no_cumulative_deficit(lines, opening)
    except BudgetRefused:
        assert expense > income or opening + income - expense < 0
    else:
        assert expense <= income
        assert opening + income - expense >= 0


# --------------------------------------------------------------- CLI and read model, SQL stores


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_app(request: pytest.FixtureRequest) -> Iterator[App]:
    url = request.getfixturevalue(f"{request.param}_url")
    built = bootstrap_app(Settings(database_url=url))
    built.ledger.init(["140000"])
    built.read_models.create_tables()
    built.ledger.open_fund(CITY, first_year=2023, opening_balance_fen=OPENING_FEN)
    built.ledger.open_fund(PROVINCE_ADJUSTMENT, first_year=2023)
    try:
        yield built
    finally:
        built.close()


def run(app: App, *args: str) -> Result:
    return CliRunner().invoke(cli, [*args, "--db", app.settings_url])


def write_csv(path: Path, rows: dict[str, str]) -> str:
    path.write_text(
        "\ufeffline,amount\n" + "".join(f"{k},{v}\n" for k, v in rows.items()), encoding="utf-8"
    )
    return str(path)


def test_cli_budget_round_trip(sql_app: App, tmp_path: Path) -> None:
    original = write_csv(tmp_path / "budget.csv", TAIYUAN_2025)
    first = run(sql_app, "budget", "draft", "resident:140100", "--year", "2025", "--file", original)
    assert first.exit_code == 0, first.output
    assert "opening balance 850000000.00, current surplus 79000000.00" in first.stdout
    approved = run(
        sql_app,
        "budget",
        "approve",
        "resident:140100",
        "--year",
        "2025",
        "--ref",
        APPROVAL,
        "--by",
        "太原市财政局",
    )
    assert approved.exit_code == 0, approved.output
    redraft = run(
        sql_app, "budget", "draft", "resident:140100", "--year", "2025", "--file", original
    )
    assert redraft.exit_code == 2
    assert "is not re-drafted" in redraft.stderr
    changed = write_csv(tmp_path / "adjust.csv", {**TAIYUAN_2025, "benefit": "2000000000.00"})
    adjusted = run(
        sql_app,
        "budget",
        "adjust",
        "resident:140100",
        "--year",
        "2025",
        "--file",
        changed,
        "--ref",
        ADJUSTMENT,
        "--by",
        "太原市医疗保障局",
        "--memo",
        "门诊慢特病待遇提高",
    )
    assert adjusted.exit_code == 0, adjusted.output
    shown = run(sql_app, "budget", "show", "resident:140100", "--year", "2025", "--format", "json")
    view = json.loads(shown.stdout)
    assert view["status"] == "adjusted"
    assert view["original"]["approval_ref"] == APPROVAL
    assert view["original"]["expense"]["benefit"] == "1950000000.00"
    assert view["original"]["current_surplus"] == "79000000.00"
    assert view["current"]["expense"]["benefit"] == "2000000000.00"
    assert view["current"]["expense"]["total"] == "2183000000.00"
    assert view["current"]["closing_balance"] == "879000000.00"
    assert view["current"]["memo"] == "门诊慢特病待遇提高"
    assert [v["status"] for v in view["versions"]] == ["draft", "approved", "adjusted"]
    table = run(sql_app, "budget", "show", "resident:140100", "--year", "2025", "--format", "csv")
    assert "expense,benefit,1950000000.00,2000000000.00\n" in table.stdout
    sql_app.read_models.rebuild()
    again = run(sql_app, "budget", "show", "resident:140100", "--year", "2025", "--format", "json")
    assert json.loads(again.stdout) == view


def test_cli_execution_checked_by_hand(sql_app: App, tmp_path: Path) -> None:
    file = write_csv(tmp_path / "budget.csv", TAIYUAN_2025)
    run(sql_app, "budget", "draft", "resident:140100", "--year", "2025", "--file", file)
    early = run(sql_app, "budget", "execution", "resident:140100", "--year", "2025")
    assert early.exit_code == 2
    assert "only a draft budget" in early.stderr
    run(sql_app, "budget", "approve", "resident:140100", "--year", "2025", "--ref", APPROVAL,
        "--by", "太原市财政局")  # fmt: skip
    changed = write_csv(tmp_path / "adjust.csv", {**TAIYUAN_2025, "benefit": "2000000000.00"})
    run(
        sql_app,
        "budget",
        "adjust",
        "resident:140100",
        "--year",
        "2025",
        "--file",
        changed,
        "--ref",
        ADJUSTMENT,
    )
    sql_app.ledger.import_postings(
        [
            posting("resident:140100 contribution/individual 760000000.00 2025-11-30 C-1"),
            posting("resident:140100 subsidy/standard@central 1400000000.00 2025-06-30 S-1"),
            posting("resident:140100 interest 9876543.21 2025-12-21 I-1"),
            posting("resident:140100 benefit/inpatient 1700000000.00 2025-12-31 B-1"),
            posting("resident:140100 critical_illness 120000000.00 2025-03-31 CI-1"),
            posting(
                "resident:140100 to_upper 63000000.00 2025-12-20 L-1 "
                "counterparty=adjustment:140000 purpose=adjustment_levy"
            ),
        ]
    )
    result = run(
        sql_app, "budget", "execution", "resident:140100", "--year", "2025", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["budget_version"], data["approval_ref"]) == (3, ADJUSTMENT)
    rows = {(r["section"], r["line"]): r for r in data["lines"]}
    # 760,000,000.00 / 800,000,000.00 = 0.95
    assert rows[("income", "contribution")]["rate"] == "0.950000"
    # 9,876,543.21 / 12,000,000.00 = 0.823045267... → 0.823045
    assert rows[("income", "interest")]["rate"] == "0.823045"
    assert rows[("income", "other_income")]["rate"] is None
    # 2,169,876,543.21 / 2,212,000,000.00 = 0.980956845... → 0.980957
    assert rows[("income", "subtotal")]["actual"] == "2169876543.21"
    assert rows[("income", "subtotal")]["rate"] == "0.980957"
    # against the adjusted 2,000,000,000.00, not the original 1,950,000,000.00
    assert rows[("expense", "benefit")]["original"] == "1950000000.00"
    assert rows[("expense", "benefit")]["rate"] == "0.850000"
    # 1,820,000,000.00 / 2,120,000,000.00 = 0.858490566... → 0.858491
    assert rows[("expense", "subtotal")]["rate"] == "0.858491"
    # 1,883,000,000.00 / 2,183,000,000.00 = 0.862574438... → 0.862574
    assert rows[("expense", "total")]["rate"] == "0.862574"
    assert rows[("balance", "current_surplus")]["actual"] == "286876543.21"
    assert data["notes"] == (
        ["2025 is not over: the actual figures are the year to date"]
        if date.today().year <= 2025
        else [
            "2025 is over but not closed: the actual figures may still change until its "
            "final accounts are approved"
        ]
    )
    csv_out = run(
        sql_app, "budget", "execution", "resident:140100", "--year", "2025", "--format", "csv"
    )
    assert "expense,benefit,1950000000.00,2000000000.00,1700000000.00,0.850000\n" in (
        csv_out.stdout
    )


def test_cli_tells_every_problem_of_a_budget_file(sql_app: App, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "line,amount\nbenefit,12.345\nbenefit.inpatient,1.00\ninterest,1.00\ninterest,2.00\n",
        encoding="utf-8",
    )
    result = run(
        sql_app, "budget", "draft", "resident:140100", "--year", "2025", "--file", str(bad)
    )
    assert result.exit_code == 2
    assert f"{bad}:2: benefit:" in result.stderr
    assert f"{bad}:3: line: 'benefit.inpatient' is not a statement line" in result.stderr
    assert f"{bad}:5: line: interest is already given on line 4" in result.stderr
    assert "3 problem(s); nothing was written" in result.stderr
    deficit = write_csv(tmp_path / "deficit.csv", {**TAIYUAN_2025, "other_expense": "1.00"})
    refused = run(
        sql_app, "budget", "draft", "resident:140100", "--year", "2025", "--file", deficit
    )
    assert refused.exit_code == 2
    assert "lines: the province permits no budget on other_expense" in refused.stderr


def test_cli_budget_commands_honour_fundledger_principal(sql_app: App, tmp_path: Path) -> None:
    """Maker ≠ checker on the CLI: the drafter named by FUNDLEDGER_PRINCIPAL may not approve."""
    file = write_csv(tmp_path / "budget.csv", TAIYUAN_2025)
    as_li = {"FUNDLEDGER_PRINCIPAL": "li"}
    args = ["resident:140100", "--year", "2025", "--db", sql_app.settings_url]
    runner = CliRunner()
    drafted = runner.invoke(cli, ["budget", "draft", *args, "--file", file], env=as_li)
    assert drafted.exit_code == 0, drafted.output
    own = runner.invoke(cli, ["budget", "approve", *args, "--ref", APPROVAL], env=as_li)
    assert own.exit_code == 2
    assert "li drafted the resident:140100 2025 budget and may not approve it" in own.stderr
    other = runner.invoke(cli, ["budget", "approve", *args, "--ref", APPROVAL, "--by", "wang"])
    assert other.exit_code == 0, other.output
    shown = runner.invoke(cli, ["budget", "show", *args, "--format", "json"])
    assert [v["principal"] for v in json.loads(shown.stdout)["versions"]][-1] == "wang"


def test_cli_budget_tables_group_thousands_and_write_files(sql_app: App, tmp_path: Path) -> None:
    file = write_csv(tmp_path / "budget.csv", TAIYUAN_2025)
    run(sql_app, "budget", "draft", "resident:140100", "--year", "2025", "--file", file)
    table = run(sql_app, "budget", "show", "resident:140100", "--year", "2025")
    assert "1,950,000,000.00" in table.stdout
    target = tmp_path / "budget.json"
    written = run(sql_app, "budget", "show", "resident:140100", "--year", "2025",
                  "--format", "json", "--output", str(target))  # fmt: skip
    assert written.exit_code == 0, written.output
    assert json.loads(target.read_text(encoding="utf-8"))["status"] == "draft"
