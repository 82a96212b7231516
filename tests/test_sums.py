"""The sums read model (``fl_sums``) equals a GROUP BY of the postings, whatever happened.

After random histories of postings, inter-level pairs, reversals, restatements and closes,
on SQLite and PostgreSQL: the sums equal the postings summed per key, the reads that use the
sums answer what the same reads of the postings answer, and both still hold after a rebuild
and after the tracking position was moved back. Two projectors applying the same batch leave
it counted once; a store initialised before the table existed gets it, filled, from
``fundledger init`` or from the next catch-up.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from api.bootstrap import App, bootstrap_app
from api.cli import app as cli
from api.settings import Settings
from clearing.queries import ProvinceBooks
from projections.db import ProjectionDB
from projections.monthly import monthly_figures
from projections.queries import FAR_FUTURE, read_statement
from projections.ratios_report import load_histories
from projections.runner import Projector
from projections.sums import GROUP_BY_KEY, GROUPED_POSTINGS, exists
from projections.sums_audit import differences
from tests.conftest import require_postgres
from tests.http.conftest import ServerFactory, server_factory  # noqa: F401 - the real servers
from tests.scenario import posting
from tests.test_projections import FUNDS, YEARS, fresh_store, histories, make_app, run_history

PROVINCE = "140000"
SUMS = (
    "SELECT province, fund, fiscal_year, month, line, sub_line, level, county, is_transfer, "
    "restatement, amount_fen, postings FROM fl_sums"
)
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
REFUSED_ONLY = [("close", posting("resident:140100 interest 1.00 2025-06-15 X-0"))]
"""A history whose one step is refused (2025 closed before 2023): only the openings project."""


def db_of(app: App) -> ProjectionDB:
    return app.read_models.for_province(PROVINCE).db


def stored(db: ProjectionDB) -> list[tuple[Any, ...]]:
    return sorted((tuple(_plain(v) for v in row) for row in db.query(SUMS)), key=repr)


def grouped(db: ProjectionDB) -> list[tuple[Any, ...]]:
    rows = db.query(GROUPED_POSTINGS + GROUP_BY_KEY)
    return sorted((tuple(_plain(v) for v in row) for row in rows), key=repr)


def _plain(value: Any) -> Any:
    return value if isinstance(value, str) else int(value)


def assert_sums_are_the_postings(app: App) -> None:
    """The sums equal the postings' GROUP BY, and every read of the sums answers what the
    same read of the postings answers."""
    db = db_of(app)
    assert stored(db) == grouped(db)
    assert differences(db, PROVINCE) == []
    for fund in FUNDS:
        name = str(fund)
        for year in YEARS:
            from_sums = read_statement(db, name, year)
            from_postings = read_statement(db, name, year, from_postings=True)
            assert from_sums == from_postings, (name, year)
        months = monthly_figures(db, name)
        assert months == monthly_figures(db, name, as_of=FAR_FUTURE)
    for year in YEARS:
        assert load_histories(db, year) == load_histories(db, year, as_of=FAR_FUTURE)
        assert load_histories(db, year, region=PROVINCE) == load_histories(
            db, year, region=PROVINCE, as_of=FAR_FUTURE
        )
        books = ProvinceBooks.read(db, PROVINCE, year)
        for fund in FUNDS:
            assert books.statement(str(fund), year).lines_fen == {
                key: amount
                for key, amount in read_statement(
                    db, str(fund), year, from_postings=True
                ).lines_fen.items()
                if "." not in key
            }


@pytest.mark.parametrize("backend", BACKENDS)
def test_sums_equal_the_postings_after_any_history_a_rebuild_and_a_moved_back_position(
    backend: str,
) -> None:
    if backend == "postgres":
        require_postgres()

    @settings(
        max_examples=10,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        database=None,
    )
    @given(history=histories(), back=st.integers(0, 10**6))
    @example(history=REFUSED_ONLY, back=0)
    def check(history: list[tuple[str, Any]], back: int) -> None:
        with fresh_store(backend) as url:
            app = make_app(url)
            try:
                run_history(app, history)
                assert_sums_are_the_postings(app)
                live = stored(db_of(app))
                db = db_of(app)
                head = int(db.query("SELECT position FROM fl_tracking WHERE province = %s",
                                    (PROVINCE,))[0][0])  # fmt: skip
                db.execute(
                    "UPDATE fl_tracking SET position = %s WHERE province = %s",
                    (back % (head + 1), PROVINCE),
                )
                app.read_models.catch_up()
                assert stored(db) == live  # applied again, counted once
                assert_sums_are_the_postings(app)
                app.read_models.rebuild()
                assert stored(db_of(app)) == live
            finally:
                app.close()

    check()


POSTINGS = (
    "resident:140100 contribution 100.00 2024-03-01 C-1 county=140105",
    "resident:140100 contribution 7.00 2024-03-09 C-2 county=140105",
    "resident:140200 subsidy/standard@central 50.00 2024-05-02 S-1",
)


@pytest.fixture(params=BACKENDS)
def posted(request: pytest.FixtureRequest) -> Iterator[tuple[str, App]]:
    """A store with :data:`POSTINGS` recorded, not projected yet."""
    if request.param == "postgres":
        require_postgres()
    with fresh_store(request.param) as url:
        app = make_app(url)
        try:
            app.ledger.import_postings([posting(text) for text in POSTINGS])
            yield url, app
        finally:
            app.close()


def test_a_batch_two_projectors_apply_is_summed_once(posted: tuple[str, App]) -> None:
    """The loser of the position guard writes nothing: its upserts roll back with it."""
    _, app = posted
    projector = app.read_models.for_province(PROVINCE)
    other = Projector(projector.db, projector.source, (PROVINCE,))
    position = projector.position(PROVINCE)
    batch = projector.source.read(PROVINCE, position, 1000)
    new = batch[-1][0]
    assert projector._apply(PROVINCE, batch, position, new)
    assert not other._apply(PROVINCE, batch, position, new)
    assert_sums_are_the_postings(app)
    (total,) = projector.db.query(
        "SELECT sum(amount_fen) FROM fl_sums WHERE fund = 'resident:140100'"
    )[0]
    assert int(total) == 10_700  # 100.00 + 7.00, once


@pytest.fixture
def older_store(posted: tuple[str, App]) -> str:
    """A store with postings projected, as it was before ``fl_sums`` existed."""
    url, app = posted
    app.ledger.close_year(FUNDS[0], 2023, today=date(2024, 2, 1))
    app.read_models.catch_up()
    db_of(app).execute("DROP TABLE fl_sums")
    assert not exists(db_of(app))
    return url


def test_init_gives_an_older_store_its_sums_filled_from_the_postings(older_store: str) -> None:
    done = CliRunner().invoke(cli, ["init", "--db", older_store])
    assert done.exit_code == 0, done.output
    app = bootstrap_app(Settings(database_url=older_store))
    try:
        db = db_of(app)
        assert exists(db)
        assert stored(db) == grouped(db)
        assert ("140000", "resident:140100", 2024, 3, "contribution", "", "", "140105", 0, 0,
                10_700, 2) in stored(db)  # fmt: skip
    finally:
        app.close()


def test_a_catch_up_gives_an_older_store_its_sums_then_keeps_them(older_store: str) -> None:
    app = bootstrap_app(Settings(database_url=older_store))
    try:
        app.ledger.post(posting("resident:140100 benefit/inpatient 3.00 2024-04-01 B-9"))
        statement = app.read_models.statement(FUNDS[0], 2024).to_json()
        assert statement["income"]["contribution"] == "107.00"
        assert statement["expense"]["benefit"] == "3.00"
        assert_sums_are_the_postings(app)
    finally:
        app.close()


def test_a_server_reading_an_older_store_gives_it_its_sums_before_it_reads(
    older_store: str,
    server_factory: ServerFactory,  # noqa: F811
) -> None:
    """A server's read does not catch up itself (its background projector does): the first
    read of a store from before ``fl_sums`` must still find the table, filled."""
    server = server_factory(older_store)
    token = server.token(role="provincial", region="140000")
    with server.client(token) as client:
        got = client.get("/v1/funds/resident:140100/statement", params={"year": 2024})
        assert got.status_code == 200, got.text
        assert got.json()["income"]["contribution"] == "107.00"
        assert client.get("/v1/ratios", params={"year": 2024}).status_code == 200
