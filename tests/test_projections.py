"""The read models: live equals rebuild equals a fold of the events; views; as of; tracking."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.bootstrap import App, bootstrap_app
from api.settings import Settings
from domain.errors import FundNotRegistered, InvalidInput, PostingRefused
from domain.funds import FundId
from domain.lines import EXPENSE_LINES, INCOME_LINES, INTER_LEVEL_EXPENSE, INTER_LEVEL_INCOME
from domain.money import parse_yuan
from domain.postings import Posting
from projections.decode import utc_text
from projections.service import china_date
from projections.statement import fold_statement
from tests.conftest import postgres_schema, require_postgres
from tests.scenario import CITY, CITY2, PROVINCE_ADJUSTMENT, posting

FUNDS = (CITY, CITY2, PROVINCE_ADJUSTMENT)
YEARS = (2023, 2024, 2025)


def make_app(url: str) -> App:
    app = bootstrap_app(Settings(database_url=url))
    app.ledger.init(["140000"])
    app.read_models.create_tables()
    for fund in FUNDS:
        app.ledger.open_fund(fund, first_year=2023, opening_balance_fen=1_000_000)
    return app


@pytest.fixture
def app(store_url: str) -> Iterator[App]:
    built = make_app(store_url)
    try:
        yield built
    finally:
        built.close()


def folded(app: App, fund: FundId, year: int) -> dict[str, object]:
    events = list(app.ledger.fund_events(fund))
    data = fold_statement(str(fund), year, events).to_json()
    return {k: data[k] for k in ("opening_balance", "income", "expense", "closing_balance")}


def projected(app: App, fund: FundId, year: int) -> dict[str, object]:
    data = app.read_models.statement(fund, year).to_json()
    return {k: data[k] for k in ("opening_balance", "income", "expense", "closing_balance")}


def test_live_rebuild_and_fold_agree(app: App) -> None:
    app.ledger.import_postings(
        [
            posting("resident:140100 contribution/individual 1200.00 2024-11-02 C-1 county=140105"),
            posting("resident:140100 subsidy/standard@central 5000.00 2024-06-30 S-1"),
            posting("resident:140100 benefit/inpatient 3000.50 2024-03-31 B-1"),
            posting(
                "resident:140100 to_upper 100.00 2024-12-20 L-1 "
                "counterparty=adjustment:140000 purpose=adjustment_levy"
            ),
            posting("resident:140100 benefit/inpatient 3000.50 2025-01-05 B-1R reverses=B-1"),
        ]
    )
    live = {(f, y): projected(app, f, y) for f in FUNDS for y in YEARS}
    assert live[(CITY, 2024)]["closing_balance"] == "13099.50"
    assert live[(CITY, 2025)]["opening_balance"] == "13099.50"
    assert live[(CITY, 2025)]["closing_balance"] == "16100.00"
    assert live[(PROVINCE_ADJUSTMENT, 2024)]["income"]["from_lower"] == "100.00"  # type: ignore[index]
    for key, value in live.items():
        assert value == folded(app, *key), key
    app.read_models.rebuild()
    for key, value in live.items():
        assert projected(app, *key) == value, key


def test_tracking_applies_each_event_once(app: App) -> None:
    app.ledger.post(posting("resident:140100 benefit 10.00 2024-01-31 B-1"))
    assert app.read_models.catch_up() > 0
    assert app.read_models.catch_up() == 0
    second = bootstrap_app(Settings(database_url=app_url(app)))
    try:
        if app_url(app).startswith("memory:"):
            return  # another process cannot share an in-memory store
        assert second.read_models.catch_up() == 0
        app.ledger.post(posting("resident:140100 benefit 5.00 2024-02-28 B-2"))
        assert second.read_models.catch_up() == 1
        assert app.read_models.catch_up() == 0
        statuses = {s.province: s for s in app.read_models.status()}
        assert statuses["140000"].lag == 0
        assert app.read_models.statement(CITY, 2024).to_json()["expense"]["benefit"] == "15.00"
    finally:
        second.close()


def app_url(app: App) -> str:
    return app.settings_url


def test_closed_year_restatement_and_views(app: App) -> None:
    app.ledger.post(posting("resident:140100 contribution 500.00 2024-11-02 C-1"))
    with pytest.raises(PostingRefused, match="2023 is not closed yet: close the years in order"):
        app.ledger.close_year(CITY, 2024, today=date(2025, 3, 1))
    app.ledger.close_year(CITY, 2023, today=date(2025, 3, 1))
    app.ledger.close_year(CITY, 2024, today=date(2025, 3, 1))
    with pytest.raises(PostingRefused, match="closed"):
        app.ledger.post(posting("resident:140100 benefit 100.00 2024-12-31 B-LATE"))
    app.ledger.post(posting("resident:140100 benefit 100.00 2024-12-31 B-LATE"), restate=True)
    restated = app.read_models.statement(CITY, 2024).to_json()
    as_closed = app.read_models.statement(CITY, 2024, view="as_closed").to_json()
    assert restated["closing_balance"] == "10400.00"
    assert restated["restatements"] == "-100.00"
    assert as_closed["closing_balance"] == "10500.00"
    assert as_closed["view"] == "as_closed"
    following = app.read_models.statement(CITY, 2025).to_json()
    assert following["opening_balance"] == "10400.00"
    assert following["opening_balance_restatements"] == "-100.00"
    assert any("restated" in note for note in following["notes"])
    with pytest.raises(InvalidInput, match="not closed"):
        app.read_models.statement(CITY, 2025, view="as_closed")


def test_as_of_answers_what_was_recorded_then(app: App) -> None:
    app.ledger.post(posting("resident:140100 contribution 500.00 2024-11-02 C-1"))
    time.sleep(0.01)
    between = utc_text(app.ledger.find_fund(CITY).modified_on)  # type: ignore[union-attr]
    time.sleep(0.01)
    app.ledger.post(posting("resident:140100 contribution 70.00 2024-05-02 C-2"))
    now = app.read_models.statement(CITY, 2024).to_json()
    then = app.read_models.statement(CITY, 2024, as_of=between).to_json()
    assert now["income"]["contribution"] == "570.00"
    assert then["income"]["contribution"] == "500.00"
    assert then["as_of"] == between


amounts = st.integers(min_value=1, max_value=500_000)
months = st.integers(min_value=1, max_value=12)
lines = st.sampled_from(
    ["contribution/individual", "subsidy/standard@central", "benefit/inpatient", "interest"]
)


@st.composite
def histories(draw: st.DrawFn) -> list[tuple[str, Posting]]:
    steps: list[tuple[str, Posting]] = []
    count = draw(st.integers(min_value=1, max_value=25))
    for i in range(count):
        fund = draw(st.sampled_from(["resident:140100", "resident:140200"]))
        year = draw(st.sampled_from(YEARS))
        kind = draw(st.sampled_from(["post", "post", "post", "pair", "reverse", "close"]))
        amount = f"{draw(amounts) / 100:.2f}"
        when = f"{year}-{draw(months):02d}-15"
        if kind == "pair":
            text = f"{fund} to_upper {amount} {when} P-{i} counterparty=adjustment:140000"
        elif kind == "reverse" and steps:
            kind_before, before = steps[draw(st.integers(0, len(steps) - 1))]
            if kind_before != "post":
                continue
            steps.append(("reverse", posting(
                f"{before.fund} {before.line.value} {before.amount_fen / 100:.2f} {when} "
                f"R-{i} reverses={before.reference}"
            )))  # fmt: skip
            continue
        else:
            text = f"{fund} {draw(lines)} {amount} {when} X-{i}"
        steps.append((kind if kind != "reverse" else "post", posting(text)))
    return steps


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories())
def test_projection_equals_rebuild_equals_fold(history: list[tuple[str, Posting]]) -> None:
    app = make_app("memory://")
    try:
        for kind, step in history:
            try:
                if kind == "close":
                    app.ledger.close_year(step.fund, step.value_date.year, today=date(2026, 1, 1))
                else:
                    app.ledger.post(step, restate=True)
            except (PostingRefused, InvalidInput):
                continue
            app.read_models.catch_up()
        live = {(f, y): projected(app, f, y) for f in FUNDS for y in YEARS}
        for key, value in live.items():
            assert value == folded(app, *key), key
            income = value["income"]
            assert isinstance(income, dict)
        app.read_models.rebuild()
        assert {(f, y): projected(app, f, y) for f in FUNDS for y in YEARS} == live
    finally:
        app.close()


# ------------------------------------------------- the same property on SQLite and PostgreSQL


@contextmanager
def fresh_store(backend: str) -> Iterator[str]:
    """A new empty store for one example: a SQLite file, or a PostgreSQL schema of its own."""
    if backend == "sqlite":
        folder = tempfile.mkdtemp()
        try:
            yield f"sqlite:///{folder}/fundledger.db"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    with postgres_schema() as url:
        yield url


def fold_until(app: App, fund: FundId, year: int, cutoff: str | None) -> dict[str, object]:
    """The oracle: a fold of the fund's events recorded up to ``cutoff`` (every one if None)."""
    events = [
        e for e in app.ledger.fund_events(fund) if cutoff is None or utc_text(e.timestamp) <= cutoff
    ]
    data = fold_statement(str(fund), year, events).to_json()
    return {k: data[k] for k in ("opening_balance", "income", "expense", "closing_balance")}


def restated_by(app: App, fund: FundId, year: int) -> int:
    """The oracle of a year's restatements: the signed effect of its restatement events."""
    total = 0
    for event in app.ledger.fund_events(fund):
        if not getattr(event, "restatement", False) or int(event.value_date[:4]) != year:  # type: ignore[attr-defined]
            continue
        one = fold_statement(str(fund), year, [event])
        total += one.closing_balance_fen
    return total


def check_adds_up(data: dict[str, Any]) -> None:
    """Subtotals, totals and closing = opening + merged-in balances + surplus, to the fen."""
    fen = {
        side: {k: parse_yuan(v) for k, v in data[side].items()} for side in ("income", "expense")
    }
    income, expense = fen["income"], fen["expense"]
    assert income["subtotal"] == sum(income[x.value] for x in INCOME_LINES)
    assert income["total"] == income["subtotal"] + sum(income[x.value] for x in INTER_LEVEL_INCOME)
    assert expense["subtotal"] == sum(expense[x.value] for x in EXPENSE_LINES)
    assert expense["total"] == expense["subtotal"] + sum(
        expense[x.value] for x in INTER_LEVEL_EXPENSE
    )
    surplus = parse_yuan(data["current_surplus"])
    assert surplus == income["total"] - expense["total"]
    opening = parse_yuan(data["opening_balance"]) + parse_yuan(data["opening_balance_transfers"])
    assert parse_yuan(data["closing_balance"]) == opening + surplus


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_live_equals_rebuild_equals_fold_with_closes_restatements_and_as_of(
    backend: str,
) -> None:
    """On a real store: after any history of postings, pairs, reversals, closes and
    restatements, the live projection equals a rebuild from zero and a fold of the raw events,
    in the restated view, the as-closed view (the fold of what was recorded up to the close)
    and "as of" any recorded time; every statement adds up; each year opens on the restated
    closing balance of the year before."""
    if backend == "postgres":
        require_postgres()

    @settings(
        max_examples=12,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        database=None,
    )
    @given(history=histories(), picks=st.lists(st.integers(0, 10**6), min_size=3, max_size=3))
    def check(history: list[tuple[str, Posting]], picks: list[int]) -> None:
        with fresh_store(backend) as url:
            app = make_app(url)
            try:
                run_history(app, history)
                live = {
                    (f, y): app.read_models.statement(f, y).to_json() for f in FUNDS for y in YEARS
                }
                for (fund, year), data in live.items():
                    assert {k: data[k] for k in folded_keys} == fold_until(app, fund, year, None)
                    check_adds_up(data)
                    assert parse_yuan(data["restatements"]) == restated_by(app, fund, year)
                    if year > YEARS[0]:
                        before = live[(fund, year - 1)]
                        assert data["opening_balance"] == before["closing_balance"]
                    if data["closed_at"] is not None:
                        as_closed = app.read_models.statement(fund, year, view="as_closed")
                        expected = fold_until(app, fund, year, data["closed_at"])
                        shown = as_closed.to_json()
                        assert {k: shown[k] for k in folded_keys} == expected
                        check_adds_up(shown)
                times = sorted(
                    utc_text(e.timestamp) for f in FUNDS for e in app.ledger.fund_events(f)
                )
                opened = {
                    f: utc_text(next(iter(app.ledger.fund_events(f))).timestamp) for f in FUNDS
                }
                for pick in picks:
                    cutoff = times[pick % len(times)]
                    for fund in FUNDS:
                        if opened[fund] > cutoff:
                            with pytest.raises(FundNotRegistered):
                                app.read_models.statement(fund, YEARS[0], as_of=cutoff)
                            continue
                        for year in YEARS:
                            then = app.read_models.statement(fund, year, as_of=cutoff).to_json()
                            kept = {k: then[k] for k in folded_keys}
                            assert kept == fold_until(app, fund, year, cutoff), (fund, year)
                app.read_models.rebuild()
                again = {
                    (f, y): app.read_models.statement(f, y).to_json() for f in FUNDS for y in YEARS
                }
                assert again == live
            finally:
                app.close()

    check()


folded_keys = ("opening_balance", "income", "expense", "closing_balance")


def run_history(app: App, history: list[tuple[str, Posting]]) -> None:
    """Apply the steps live, catching up after each (refused steps are skipped), and once at
    the end: a history whose every step is refused still has its funds' openings projected."""
    for kind, step in history:
        try:
            if kind == "close":
                app.ledger.close_year(step.fund, step.value_date.year, today=date(2026, 1, 1))
            else:
                app.ledger.post(step, restate=True)
        except (PostingRefused, InvalidInput):
            continue
        app.read_models.catch_up()
    app.read_models.catch_up()


@pytest.mark.parametrize(
    ("moment", "day"),
    [
        ("2025-01-01T06:00:00+08:00", date(2025, 1, 1)),
        ("2024-12-31T22:00:00+00:00", date(2025, 1, 1)),
        ("2024-12-31T15:59:59+00:00", date(2024, 12, 31)),
    ],
)
def test_as_of_completeness_follows_the_day_in_china(moment: str, day: date) -> None:
    assert china_date(moment) == day
