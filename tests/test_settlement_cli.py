"""The clearing house from the command line (SQLite), Nantong's municipal pool and Jilin's legacy
funds.

Nantong (resident:320600) pools its counties: 启东 (320681) enrolled 1,000 residents in 2020 and
raised 1,100,000.00 — 100 yuan a head below the 1,200 standard, so it owes 100,000.00 in five
instalments of 20,000.00; 如皋 (320682) raised 1,250 a head and owes nothing. In 2021 启东 paid
15,000.00 of its instalment and missed its collection plan by 50,000.00.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from api.bootstrap import bootstrap_app
from api.cli import app as cli
from api.cli.settle import dry_run_table
from api.settings import Settings
from clearing import settlement
from clearing.catch_up import instalment_dues
from domain.funds import FundId
from tests.scenario import JILIN_MERGED, NCMS, URBAN, posting

NANTONG = "resident:320600"
NANTONG_POSTINGS = """\
fund,line,sub_line,level,amount,value_date,reference,county
resident:320600,contribution,individual,,600000.00,2020-11-02,C20-81,320681
resident:320600,subsidy,standard,county,500000.00,2020-06-30,S20-81,320681
resident:320600,contribution,individual,,1500000.00,2020-11-02,C20-82,320682
resident:320600,subsidy,standard,county,1000000.00,2020-06-30,S20-82,320682
resident:320600,benefit,inpatient,,3500000.00,2020-09-30,B20,
resident:320600,other_income,,,20000.00,2020-12-20,CATCHUP-320681-2020,320681
resident:320600,contribution,individual,,1000000.00,2021-11-02,C21-81,320681
resident:320600,subsidy,standard,county,200000.00,2021-06-30,S21-81,320681
resident:320600,contribution,individual,,2400000.00,2021-11-02,C21-82,320682
resident:320600,other_income,,,15000.00,2021-12-20,CATCHUP-320681-2021,320681
resident:320600,benefit,inpatient,,3800000.00,2021-09-30,B21,
"""


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


@pytest.fixture
def nantong(tmp_path: Path) -> str:
    db = f"sqlite:///{tmp_path}/nantong.db"
    assert run("init", "--db", db).exit_code == 0
    assert run("funds", "open", NANTONG, "--first-year", "2020", "--db", db).exit_code == 0
    app = bootstrap_app(Settings(database_url=db))
    try:
        app.ledger.record_enrolment(FundId.parse(NANTONG), 2020, "320681", 1000)
        app.ledger.record_enrolment(FundId.parse(NANTONG), 2020, "320682", 2000)
    finally:
        app.close()
    file = tmp_path / "nantong.csv"
    file.write_text(NANTONG_POSTINGS, encoding="utf-8")
    assert run("import", str(file), "--db", db).exit_code == 0
    return db


def test_the_catch_up_schedule(nantong: str) -> None:
    result = run("catch-up", NANTONG, "--format", "json", "--db", nantong)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    qidong = [r for r in rows if r["county"] == "320681"]
    assert [(r["year"], r["due"], r["paid"], r["unpaid"]) for r in qidong] == [
        ("2020", "20000.00", "20000.00", "0.00"),
        ("2021", "20000.00", "15000.00", "5000.00"),
        ("2022", "20000.00", "0.00", "20000.00"),
        ("2023", "20000.00", "0.00", "20000.00"),
        ("2024", "20000.00", "0.00", "20000.00"),
    ]
    assert qidong[0]["per_capita"] == "1100.00"
    assert qidong[0]["owed"] == "100000.00"
    assert {r["owed"] for r in rows if r["county"] == "320682"} == {"0.00"}
    table = run("catch-up", NANTONG, "--db", nantong)
    assert "320681" in table.stdout
    refused = run("catch-up", "resident:140100", "--db", nantong)
    assert refused.exit_code == 2
    assert "no financing-standard catch-up" in refused.stderr


def test_instalments_add_up_to_what_is_owed() -> None:
    assert instalment_dues(100_000_00, 5) == [20_000_00] * 5
    assert instalment_dues(7, 5) == [1, 2, 1, 2, 1]  # cumulative 1.4, 2.8, 4.2, 5.6, 7 half-up
    assert sum(instalment_dues(123_456_789, 5)) == 123_456_789


def test_nantong_counties_make_their_own_fault_good(nantong: str) -> None:
    plan = run("plan", NANTONG, "--year", "2021", "--county", "320681", "--contributions",
               "1050000.00", "--subsidies", "200000.00", "--spending", "1500000.00",
               "--by", "wang", "--db", nantong)  # fmt: skip
    assert plan.exit_code == 0, plan.output
    outside = run("plan", NANTONG, "--year", "2021", "--county", "320781", "--contributions",
                  "1.00", "--subsidies", "1.00", "--spending", "1.00", "--db", nantong)  # fmt: skip
    assert outside.exit_code == 2
    assert "not a county inside the pool's region 320600" in outside.stderr
    result = run("settle", "dry-run", "--province", "320000", "--year", "2021",
                 "--format", "json", "--db", nantong)  # fmt: skip
    assert result.exit_code == 0, result.output
    pool = json.loads(result.stdout)["pools"][0]
    # income 3,615,000.00 against 3,800,000.00 of benefits: a gap of 185,000.00
    assert (pool["gap"], pool["own_fault"], pool["draw"]) == ("185000.00", "55000.00", "0.00")
    assert (pool["borne_by_balance"], pool["residual_to_government"]) == ("120000.00", "10000.00")
    assert pool["counties"] == [
        {
            "county": "320681",
            "own_fault": "55000.00",
            "owed": "55000.00",
            "reason": "collection plan missed by 50000.00 (planned 1050000.00, collected "
            "1000000.00); financing-standard catch-up unpaid 5000.00",
            "causes": [
                {"cause": "collection_plan_missed", "amount": "50000.00",
                 "detail": "collection plan missed by 50000.00 (planned 1050000.00, collected "
                 "1000000.00)", "reference": "MAKEGOOD-2021-320681"},
                {"cause": "contribution_policy_not_enforced", "amount": "5000.00",
                 "detail": "financing-standard catch-up unpaid 5000.00",
                 "reference": "CATCHUP-320681-2021"},
            ],
        }
    ]  # fmt: skip


def test_the_settle_commands(nantong: str, tmp_path: Path) -> None:
    as_li = {"FUNDLEDGER_PRINCIPAL": "li"}
    drafted = run("settle", "draft", "--province", "320000", "--year", "2021", "--db", nantong,
                  env=as_li)  # fmt: skip
    assert drafted.exit_code == 0, drafted.output
    assert "resident:320600" in drafted.stdout
    assert "drafted" in drafted.stdout
    refused = run("settle", "approve", "--province", "320000", "--year", "2021", "--db", nantong,
                  env=as_li)  # fmt: skip
    assert refused.exit_code == 2
    assert "li drafted this settlement and may not approve it" in refused.stderr
    approved = run("settle", "approve", "--province", "320000", "--year", "2021",
                   "--by", "zhao", "--db", nantong)  # fmt: skip
    assert approved.exit_code == 0, approved.output
    outputs = []
    for name in ("a", "b"):
        target = tmp_path / f"{name}.xlsx"
        written = run("settle", "report", "--province", "320000", "--year", "2021",
                      "--format", "xlsx", "--output", str(target), "--db", nantong)  # fmt: skip
        assert written.exit_code == 0, written.output
        outputs.append(target.read_bytes())
    assert outputs[0] == outputs[1]
    posted = run("settle", "post", "--province", "320000", "--year", "2021", "--by", "zhao",
                 "--db", nantong)  # fmt: skip
    assert posted.exit_code == 0, posted.output
    again = run("settle", "post", "--province", "320000", "--year", "2021", "--by", "zhao",
                "--db", nantong)  # fmt: skip
    assert again.exit_code == 2
    assert "already posted" in again.stderr
    report = run("settle", "report", "--province", "320000", "--year", "2021", "--format", "json",
                 "--db", nantong)  # fmt: skip
    assert json.loads(report.stdout)["status"] == "posted"
    csv_ = run("settle", "report", "--province", "320000", "--year", "2021", "--format", "csv",
               "--db", nantong)  # fmt: skip
    assert csv_.stdout.splitlines()[1].split(",")[3] == "posted"
    no_output = run("settle", "report", "--province", "320000", "--year", "2021",
                    "--format", "xlsx", "--db", nantong)  # fmt: skip
    assert no_output.exit_code == 2


def test_dry_run_records_nothing(nantong: str) -> None:
    result = run("settle", "dry-run", "--province", "320000", "--year", "2021",
                 "--db", nantong)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "nothing recorded" in result.stdout
    missing = run("settle", "report", "--province", "320000", "--year", "2021", "--db", nantong)
    assert missing.exit_code == 2
    assert "draft one first" in missing.stderr
    app = bootstrap_app(Settings(database_url=nantong))
    try:
        console = Console(record=True, width=200)
        dry_run_table(app, "320000", 2021, console)
        assert "resident:320600" in console.export_text()
        assert settlement.find_settlement(app.ledger, "320000", 2021) is None
    finally:
        app.close()


def test_refusals(nantong: str) -> None:
    bad_province = run("settle", "dry-run", "--province", "320600", "--year", "2021",
                       "--db", nantong)  # fmt: skip
    assert bad_province.exit_code == 2
    assert "not a province code" in bad_province.stderr
    bad_grade = run("assess", NANTONG, "--year", "2021", "--grade", "A", "--db", nantong)
    assert bad_grade.exit_code == 0  # the national grades A to D
    bad_score = run("assess", NANTONG, "--year", "2021", "--grade", "B", "--score", "101",
                    "--db", nantong)  # fmt: skip
    assert bad_score.exit_code == 2
    assert "score" in bad_score.stderr


def test_jilin_legacy_funds_are_covered_by_their_own_government(tmp_path: Path) -> None:
    """Jilin 2016: during integration the legacy funds do not subsidise each other."""
    app = bootstrap_app(Settings(database_url=f"sqlite:///{tmp_path}/jilin.db"))
    try:
        app.init()
        for fund in (URBAN, NCMS, JILIN_MERGED):
            app.ledger.open_fund(fund, first_year=2016, opening_balance_fen=50_000_00)
        app.ledger.import_postings(
            [
                posting("ncms:220100 contribution 100000.00 2017-11-02 C17"),
                posting("ncms:220100 benefit 130000.00 2017-09-30 B17"),
                posting("urban_resident:220100 contribution 100000.00 2017-11-02 C17"),
                posting("urban_resident:220100 benefit 90000.00 2017-09-30 B17"),
            ]
        )
        view = settlement.dry_run(app, "220000", 2017)
        pools = {p["fund"]: p for p in view.to_json()["pools"]}
        ncms = pools["ncms:220100"]
        assert (ncms["gap"], ncms["residual_to_government"]) == ("30000.00", "30000.00")
        assert ncms["borne_by_balance"] == ncms["draw"] == "0.00"
        assert any("Jilin 2016" in rule for rule in ncms["rules"])
        assert pools["urban_resident:220100"]["gap"] == "0.00"
        assert view.policy["name"] == "吉林省城乡居民医保整合过渡期"
    finally:
        app.close()


def test_what_the_posted_settlement_leaves_owed_is_tracked_until_paid(
    nantong: str, tmp_path: Path
) -> None:
    """Nantong 2019: the county at fault makes its part good; the government its residual."""
    assert run("plan", NANTONG, "--year", "2021", "--county", "320681", "--contributions",
               "1050000.00", "--subsidies", "200000.00", "--spending", "1500000.00",
               "--db", nantong).exit_code == 0  # fmt: skip
    settle = ("--province", "320000", "--year", "2021", "--db", nantong)
    assert run("settle", "draft", *settle, "--by", "li").exit_code == 0
    draft = run("settle", "owed", *settle)
    assert draft.exit_code == 2
    assert "amounts are owed once it is posted" in draft.stderr
    assert run("settle", "approve", *settle, "--by", "zhao").exit_code == 0
    posted = run("settle", "post", *settle, "--by", "zhao")
    assert posted.exit_code == 0, posted.output
    report = json.loads(run("settle", "report", *settle, "--format", "json").stdout)
    pool = report["pools"][0]
    assert any(r.startswith("no adjustment fund") for r in pool["rules"])  # no draw requested
    assert not any(r.startswith("draw scaled") for r in pool["rules"])  # so none scaled to 0
    assert report["adjustment_fund"]["scale"] == "1.000000"
    payment = tmp_path / "pay.csv"
    payment.write_text(
        "fund,line,sub_line,level,amount,value_date,reference,county\n"
        "resident:320600,subsidy,standard,county,30000.00,2022-03-01,MAKEGOOD-2021-320681,320681\n",
        encoding="utf-8",
    )
    assert run("import", str(payment), "--db", nantong).exit_code == 0
    owed = run("settle", "owed", *settle, "--format", "json")
    assert owed.exit_code == 0, owed.output
    keys = ("debtor", "kind", "source", "owed", "paid", "outstanding", "reference")
    rows = [{k: r[k] for k in keys} for r in json.loads(owed.stdout)]
    assert rows == [  # the unpaid catch-up instalment is its own receivable, listed once
        {"debtor": "320681", "kind": "county", "source": "catch-up", "owed": "20000.00",
         "paid": "15000.00", "outstanding": "5000.00", "reference": "CATCHUP-320681-2021"},
        {"debtor": "320681", "kind": "county", "source": "make-good", "owed": "50000.00",
         "paid": "30000.00", "outstanding": "20000.00", "reference": "MAKEGOOD-2021-320681"},
        {"debtor": "320600", "kind": "government", "source": "residual", "owed": "10000.00",
         "paid": "0.00", "outstanding": "10000.00", "reference": "MAKEGOOD-2021-320600"},
    ]  # fmt: skip


def test_a_dry_run_has_one_name(nantong: str) -> None:
    """``settle draft --dry-run`` was a second name for ``settle dry-run``: it is gone."""
    result = run("settle", "draft", "--dry-run", "--province", "320000", "--year", "2021",
                 "--db", nantong)  # fmt: skip
    assert result.exit_code == 2
    assert "No such option" in result.output
    missing = run("settle", "report", "--province", "320000", "--year", "2021", "--db", nantong)
    assert missing.exit_code == 2  # and nothing was drafted


def test_no_amount_is_cut_in_a_120_column_terminal(
    nantong: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A settlement of a big province: every figure whole, with thousands separators."""
    from api.cli import common
    from api.cli.clearing_tables import print_settlement
    from clearing.report import SettlementView
    from domain.money import format_fen_grouped

    plan = ("--contributions", "1050000.00", "--subsidies", "200000.00", "--spending", "1.00")
    run("plan", NANTONG, "--year", "2021", "--county", "320681", *plan, "--db", nantong)
    assert run("settle", "draft", "--province", "320000", "--year", "2021", "--by", "li",
               "--db", nantong).exit_code == 0  # fmt: skip
    monkeypatch.setattr(common.out, "width", 120)
    table = run("settle", "report", "--province", "320000", "--year", "2021", "--db", nantong)
    assert table.exit_code == 0, table.output
    assert "185,000.00" in table.stdout
    assert "…" not in table.stdout
    app = bootstrap_app(Settings(database_url=nantong))
    try:
        view = settlement.settlement_view(app, "320000", 2021)
    finally:
        app.close()

    def huge(value: object) -> object:  # 185,000.00 becomes 18,500,000,000.00
        if isinstance(value, dict):
            return {k: v * 10**5 if k.endswith("_fen") else huge(v) for k, v in value.items()}
        return [huge(v) for v in value] if isinstance(value, list) else value

    big = SettlementView(**{**view.__dict__, "result": huge(view.result)})
    console = Console(record=True, width=120)
    print_settlement(big, console)
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 120
    figures = [p[f"{k}_fen"] for p in big.result["pools"] for k in ("income", "gap", "draw")]
    assert all(format_fen_grouped(f) in text for f in figures), text
    assert "…" not in text


def test_read_commands_honour_format_and_output(nantong: str, tmp_path: Path) -> None:
    schedule = tmp_path / "catch-up.csv"
    written = run("catch-up", NANTONG, "--format", "csv", "--output", str(schedule),
                  "--db", nantong)  # fmt: skip
    assert written.exit_code == 0, written.output
    assert schedule.read_text(encoding="utf-8").startswith("county,enrolled,per_capita,owed,")
    dry = tmp_path / "dry.json"
    done = run("settle", "dry-run", "--province", "320000", "--year", "2021", "--format", "json",
               "--output", str(dry), "--db", nantong)  # fmt: skip
    assert done.exit_code == 0, done.output
    assert json.loads(dry.read_text(encoding="utf-8"))["status"] == "draft"
    no_file = run("settle", "dry-run", "--province", "320000", "--year", "2021",
                  "--format", "xlsx", "--db", nantong)  # fmt: skip
    assert no_file.exit_code == 2
    assert "--output" in no_file.stderr
    table = run("catch-up", NANTONG, "--db", nantong)
    assert "100,000.00" in table.stdout  # yuan with thousands separators in every table
