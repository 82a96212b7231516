"""The auditor's check finds a changed read-model row and a changed event, on real stores."""

from __future__ import annotations

import json
import sqlite3
from datetime import date

import psycopg
import pytest
from typer.testing import CliRunner

from api.bootstrap import bootstrap_app
from api.cli import app as cli
from api.settings import Settings
from projections.audit import audit
from tests.scenario import CITY, PROVINCE_ADJUSTMENT, posting


def populate(url: str) -> None:
    app = bootstrap_app(Settings(database_url=url))
    try:
        app.ledger.init(["140000"])
        app.read_models.create_tables()
        app.ledger.open_fund(CITY, first_year=2024, opening_balance_fen=100_000)
        app.ledger.open_fund(PROVINCE_ADJUSTMENT, first_year=2024)
        app.ledger.import_postings(
            [
                posting("resident:140100 subsidy/standard@central 5000.00 2024-06-30 S-1"),
                posting("resident:140100 benefit/inpatient 300.00 2025-01-31 B-1"),
                posting(
                    "resident:140100 to_upper 10.00 2024-12-01 L-1 counterparty=adjustment:140000"
                ),
            ]
        )
        report = audit(app.ledger, app.read_models)
        assert report.ok, report.findings
        assert (report.funds, report.events, report.statements) == (
            2,
            6,
            3,
        )  # 140100: 2024, 2025; the adjustment fund: 2024
    finally:
        app.close()


def execute(url: str, sql: str) -> None:
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute(sql)
        return
    base, _, query = url.partition("?schema=")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{query}"')
        conn.execute(sql)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def real_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    if request.param == "sqlite":
        return sqlite_url
    return str(request.getfixturevalue("postgres_url"))


def test_audit_verify_passes_then_finds_a_changed_projection_row(real_url: str) -> None:
    populate(real_url)
    runner = CliRunner()
    ok = runner.invoke(cli, ["audit", "verify", "--db", real_url])
    assert ok.exit_code == 0, ok.output
    assert "every chain intact" in ok.output
    execute(real_url, "UPDATE fl_postings SET amount_fen = amount_fen + 1 WHERE reference = 'S-1'")
    bad = runner.invoke(cli, ["audit", "verify", "--db", real_url])
    assert bad.exit_code == 1
    assert "resident:140100 2024: income.subsidy is 5000.01 in the read model but 5000.00" in (
        bad.output
    )
    assert "1 finding" not in bad.output  # subtotal, total, surplus, closing differ too
    rebuilt = runner.invoke(cli, ["projections", "rebuild", "--db", real_url])
    assert rebuilt.exit_code == 0
    assert runner.invoke(cli, ["audit", "verify", "--db", real_url]).exit_code == 0
    status = runner.invoke(cli, ["projections", "status", "--format", "csv", "--db", real_url])
    assert status.exit_code == 0, status.output
    header, *rows = status.stdout.splitlines()
    assert header == "province,position,head,lag"
    assert rows
    assert all(row.endswith(",0") for row in rows)


def test_audit_verify_finds_a_changed_removed_or_added_sum(real_url: str) -> None:
    """The sums the pages read (fl_sums) are checked against the postings, row by row."""
    populate(real_url)
    runner = CliRunner()
    execute(real_url, "UPDATE fl_sums SET amount_fen = amount_fen + 1 WHERE line = 'subsidy'")
    execute(real_url, "DELETE FROM fl_sums WHERE line = 'benefit'")
    execute(
        real_url,
        "INSERT INTO fl_sums VALUES ('140000', 'resident:140100', 2023, 1, 'interest', '', '', "
        "'', 0, 0, 99, 1)",
    )
    bad = runner.invoke(cli, ["audit", "verify", "--db", real_url])
    assert bad.exit_code == 1
    for line in (
        "resident:140100 2024-06 subsidy.standard@central: 5000.01 over 1 posting(s) in fl_sums "
        "but 5000.00 over 1 posting(s) in fl_postings",
        "resident:140100 2025-01 benefit.inpatient: no sum in fl_sums but 300.00 over 1 "
        "posting(s) in fl_postings",
        "resident:140100 2023-01 interest: 0.99 over 1 posting(s) in fl_sums but no sum in "
        "fl_postings",
        "3 finding(s)",
    ):
        assert line in bad.output
    narrowed = runner.invoke(
        cli, ["audit", "verify", "--year", "2025", "--format", "json", "--db", real_url]
    )
    assert [f["check"] for f in json.loads(narrowed.stdout)["findings"]] == ["sums"]
    assert runner.invoke(cli, ["projections", "rebuild", "--db", real_url]).exit_code == 0
    assert runner.invoke(cli, ["audit", "verify", "--db", real_url]).exit_code == 0


def test_audit_verify_finds_a_changed_event(real_url: str) -> None:
    populate(real_url)
    execute(
        real_url,
        "UPDATE ledger_140000_events SET state = "
        + (
            "CAST(replace(CAST(state AS TEXT), '\"amount_fen\":30000,', "
            "'\"amount_fen\":30001,') AS BLOB)"
            if real_url.startswith("sqlite")
            else "convert_to(replace(convert_from(state, 'UTF8'), '\"amount_fen\":30000,', "
            "'\"amount_fen\":30001,'), 'UTF8')"
        )
        + " WHERE topic = 'fundledger:Fund.BenefitPaid'",
    )
    result = CliRunner().invoke(cli, ["audit", "verify", "--db", real_url])
    assert result.exit_code == 1
    assert "resident:140100 version 3: chain_hash does not match" in result.output


def test_audit_verify_replays_closes_restatements_and_enrolment(real_url: str) -> None:
    populate(real_url)
    app = bootstrap_app(Settings(database_url=real_url))
    try:
        app.ledger.record_enrolment(CITY, 2025, "140105", 1000)
        app.ledger.record_enrolment(CITY, 2025, "140105", 1200, correct=True)
        app.ledger.close_year(CITY, 2024, today=date(2025, 3, 1))
        app.ledger.post(
            posting("resident:140100 benefit/inpatient 7.00 2024-12-30 B-LATE"), restate=True
        )
        report = audit(app.ledger, app.read_models)
        assert report.ok, report.findings
    finally:
        app.close()
    execute(real_url, "UPDATE fl_enrolment SET enrolled = 1300 WHERE enrolled = 1200")
    execute(real_url, "UPDATE fl_closes SET closed_at = '2000-01-01T00:00:00.000000+00:00'")
    result = CliRunner().invoke(cli, ["audit", "verify", "--db", real_url])
    assert result.exit_code == 1
    assert "resident:140100 2025: enrolment of 140105 is 1300 in the read model but 1200" in (
        result.output
    )
    assert "resident:140100 2024: closed at 2000-01-01T00:00:00.000000+00:00 in the read model" in (
        result.output
    )
    assert "resident:140100 2024 as closed: closing_balance is 1000.00 in the read model but " in (
        result.output
    )
    assert "2 funds, 10 events, 3 statements checked: 11 finding(s)" in result.output


def test_audit_verify_still_checks_a_fund_whose_opening_was_removed(real_url: str) -> None:
    populate(real_url)
    execute(
        real_url,
        "DELETE FROM ledger_140000_events WHERE originator_version = 1 "
        f"AND originator_id = '{CITY.aggregate_id.hex}'",
    )
    result = CliRunner().invoke(cli, ["audit", "verify", "--db", real_url])
    assert result.exit_code == 1
    assert "resident:140100 version 2: version 2 follows 0: events are missing" in result.output
    assert "resident:140100: its first event is not the fund's opening" in result.output


def test_audit_verify_json_narrowed_to_a_fund_and_year(real_url: str) -> None:
    populate(real_url)
    runner = CliRunner()
    args = ["audit", "verify", "--fund", "resident:140100", "--year", "2024", "--db", real_url]
    ok = runner.invoke(cli, [*args, "--format", "json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout) == {
        "ok": True,
        "checked": {"funds": 1, "events": 4, "statements": 1, "anchors": 0},
        "findings": [],
    }
    execute(real_url, "UPDATE fl_postings SET amount_fen = amount_fen + 1 WHERE reference = 'S-1'")
    bad = runner.invoke(cli, [*args, "--format", "json"])
    assert bad.exit_code == 1
    document = json.loads(bad.stdout)
    assert document["ok"] is False
    detail = "2024: income.subsidy is 5000.01 in the read model but 5000.00 on replay"
    assert {"check": "statement", "fund": "resident:140100", "version": None, "detail": detail} in (
        document["findings"]
    )
    assert {f["detail"][:4] for f in document["findings"]} == {"2024"}  # only the year asked
    rows = runner.invoke(cli, [*args, "--format", "csv"])
    assert rows.stdout.startswith("check,fund,version,detail\nstatement,resident:140100,,2024:")
    province = runner.invoke(cli, ["audit", "verify", "--province", "140100", "--db", real_url])
    assert province.exit_code == 2
    assert "not a province code" in province.stderr
