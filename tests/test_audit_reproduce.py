"""``audit verify`` reproduces what the ledger recorded beside the fund chains, on real stores.

A posted settlement is re-run from its inputs and policy (and the receivables it makes owed
compared), every budget is replayed to each recorded version, and every aggregate's first
event must build it as the class its id belongs to. Each test edits a real SQLite file or
PostgreSQL schema behind the ledger's back and expects exactly the finding it should give; the
offline archive check re-runs the settlement too.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from api.bootstrap import bootstrap_app
from api.settings import Settings
from api.usecases import audit as audit_usecases
from clearing import settlement
from clearing.levy import levy_plan, post_levies
from clearing.policy import load_policy
from domain.access import Principal
from domain.authorship import Author
from domain.budget import budget_id
from domain.budgets import approve_budget, draft_budget
from domain.lines import Line
from domain.settlement import settlement_id
from tests.scenario import CITY, CITY2, PROVINCE_ADJUSTMENT, posting
from tests.test_audit import execute
from tests.test_settlement import POSTINGS

PROVINCE = "140000"
EVENTS = "ledger_140000_events"
SETTLEMENT = "settlement:140000:2024"
OPERATOR = Principal("cli:operator")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest) -> str:
    """A store with two pools, their 2024 levy, the posted 2024 settlement and a budget."""
    found = str(
        request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    )
    app = bootstrap_app(Settings(database_url=found))
    try:
        app.ledger.init([PROVINCE])
        app.read_models.create_tables()
        for fund, balance in ((CITY, 1_000_000_00), (CITY2, 500_000_00), (PROVINCE_ADJUSTMENT, 0)):
            app.ledger.open_fund(fund, first_year=2023, opening_balance_fen=balance)
        app.ledger.import_postings([posting(p) for p in POSTINGS])
        app.read_models.catch_up()
        policy = load_policy(PROVINCE, 2024)
        post_levies(app.ledger, app.read_models, levy_plan(app.read_models, PROVINCE, 2024, policy))
        settlement.draft(app, PROVINCE, 2024, "li")
        settlement.approve(app, PROVINCE, 2024, "zhao")
        settlement.post(app, PROVINCE, 2024, "zhao")
        lines = {Line.CONTRIBUTION: 5_000_000_00, Line.BENEFIT: 4_000_000_00}
        draft_budget(
            app.ledger,
            CITY,
            2025,
            lines,
            opening_balance_fen=0,
            permitted=None,
            author=Author("li"),
        )
        approve_budget(app.ledger, CITY, 2025, "晋财社〔2025〕1号", author=Author("wang"))
        app.read_models.catch_up()
    finally:
        app.close()
    return found


def verify(url: str) -> list[tuple[str, str, int | None]]:
    """``audit verify`` on a fresh application: each finding's check, subject and version."""
    app = bootstrap_app(Settings(database_url=url))
    try:
        report = audit_usecases.verify(app, OPERATOR)
    finally:
        app.close()
    return [(f.check, f.fund, f.version) for f in report.findings]


def details(url: str) -> list[str]:
    app = bootstrap_app(Settings(database_url=url))
    try:
        return [f.detail for f in audit_usecases.verify(app, OPERATOR).findings]
    finally:
        app.close()


def edit_event(url: str, aggregate: uuid.UUID, version: int, change: Callable[[Any], None]) -> None:
    """Rewrite one stored event's JSON state in place, as someone with the database's keys."""
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            where = "WHERE originator_id = ? AND originator_version = ?"
            (state,) = conn.execute(
                f"SELECT state FROM {EVENTS} {where}", (aggregate.hex, version)
            ).fetchone()
            data = json.loads(state)
            change(data)
            new = json.dumps(data, ensure_ascii=False).encode()
            conn.execute(f"UPDATE {EVENTS} SET state = ? {where}", (new, aggregate.hex, version))
        conn.close()
        return
    base, _, schema = url.partition("?schema=")
    table = sql.Identifier(schema, EVENTS)
    with psycopg.connect(base, autocommit=True) as pg:
        where = sql.SQL("WHERE originator_id = %s AND originator_version = %s")
        row = pg.execute(
            sql.SQL("SELECT state FROM {} {}").format(table, where), (aggregate, version)
        ).fetchone()
        assert row is not None
        data = json.loads(bytes(row[0]))
        change(data)
        new = json.dumps(data, ensure_ascii=False).encode()
        pg.execute(
            sql.SQL("UPDATE {} SET state = %s {}").format(table, where), (new, aggregate, version)
        )


def test_a_clean_store_reproduces_its_settlement_budgets_and_origins(url: str) -> None:
    assert verify(url) == []


def test_an_edited_settlement_result_is_found_by_re_running_the_engine(url: str) -> None:
    def more_draw(state: dict[str, Any]) -> None:
        state["result"]["pools"][0]["draw_fen"] += 1

    edit_event(url, settlement_id(PROVINCE, 2024), 1, more_draw)
    assert verify(url) == [("settlement", SETTLEMENT, 3)]
    (detail,) = details(url)
    assert "another result: resident:140100.draw_fen" in detail


def test_an_edited_inputs_hash_of_a_posted_settlement_is_found(url: str) -> None:
    def other_hash(state: dict[str, Any]) -> None:
        state["inputs_hash"] = "sha256:" + "0" * 64

    edit_event(url, settlement_id(PROVINCE, 2024), 1, other_hash)
    assert verify(url) == [("settlement", SETTLEMENT, 3)]
    assert "it records sha256:000" in details(url)[0]


def test_an_edited_posted_event_is_found_against_the_result(url: str) -> None:
    def other_total(state: dict[str, Any]) -> None:
        state["draws_total_fen"] += 1

    edit_event(url, settlement_id(PROVINCE, 2024), 3, other_total)
    assert verify(url) == [("settlement", SETTLEMENT, 3)]
    assert details(url) == ["it posted draws of 36000001 fen, its result 36000000 fen"]


def test_a_receivable_the_recorded_result_makes_owed_is_found(url: str) -> None:
    """A residual slipped into the recorded result makes the government owe it: found twice,
    as a figure the re-run does not give and as a receivable it does not make."""

    def residual(state: dict[str, Any]) -> None:
        state["result"]["pools"][1]["residual_to_government_fen"] = 12_345

    edit_event(url, settlement_id(PROVINCE, 2024), 1, residual)
    assert verify(url) == [("settlement", SETTLEMENT, 3), ("receivable", SETTLEMENT, 3)]
    assert (
        "MAKEGOOD-2024-140200 of resident:140200 is 12345 fen as recorded but None"
        in (details(url)[1])
    )


def test_a_changed_budget_row_is_found_against_the_replay(url: str) -> None:
    execute(
        url,
        "UPDATE fl_budget_lines SET amount_fen = amount_fen + 1 "
        "WHERE version = 2 AND line = 'benefit'",
    )
    assert verify(url) == [("budget", str(CITY), 2)]
    assert details(url) == ["2025 budget version 2 differs from the replay in lines_fen"]


def test_an_edited_budget_event_is_found_against_the_read_model(url: str) -> None:
    def other_ref(state: dict[str, Any]) -> None:
        state["approval_ref"] = "forged"

    edit_event(url, budget_id(CITY, 2025), 3, other_ref)
    assert verify(url) == [("budget", str(CITY), 2)]
    assert details(url) == ["2025 budget version 2 differs from the replay in approval_ref"]


@pytest.mark.parametrize(
    ("aggregate", "name", "also"),
    [
        pytest.param(CITY.aggregate_id, str(CITY), [], id="fund"),
        pytest.param(budget_id(CITY, 2025), str(CITY), [("budget", str(CITY), None)], id="budget"),
        pytest.param(
            settlement_id(PROVINCE, 2024),
            SETTLEMENT,
            [("settlement", SETTLEMENT, None)],
            id="settlement",
        ),
    ],
)
def test_an_edited_originator_topic_is_found(
    url: str, aggregate: uuid.UUID, name: str, also: list[tuple[str, str, None]]
) -> None:
    """The class the library builds an aggregate as is outside the chain's hash: the origin
    check finds it (and a budget or settlement built as a seal no longer loads: found too)."""

    def built_as_seal(state: dict[str, Any]) -> None:
        state["originator_topic"] = "fundledger:Seal"

    edit_event(url, aggregate, 1, built_as_seal)
    assert verify(url) == [("origin", name, 1), *also]
    assert "its first event builds it as fundledger:Seal, not fundledger:" in details(url)[0]


def export(url: str, path: Path) -> None:
    app = bootstrap_app(Settings(database_url=url))
    try:
        audit_usecases.export(app, OPERATOR, PROVINCE, 2024, path)
    finally:
        app.close()


def offline(path: Path) -> list[tuple[str, str, int | None]]:
    _, report = audit_usecases.verify_archive(path)
    return [(f.check, f.fund, f.version) for f in report.findings]


def test_the_offline_archive_check_re_runs_the_settlement(url: str, tmp_path: Path) -> None:
    clean = tmp_path / "clean.zip"
    export(url, clean)
    assert offline(clean) == []

    def more_draw(state: dict[str, Any]) -> None:
        state["result"]["pools"][0]["draw_fen"] += 1

    edit_event(url, settlement_id(PROVINCE, 2024), 1, more_draw)
    tampered = tmp_path / "tampered.zip"
    export(url, tampered)  # the settlement file follows the edited event: only the re-run sees it
    assert offline(tampered) == [("settlement", SETTLEMENT, 3)]
