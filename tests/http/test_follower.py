"""The server's background projector (api.http.follower): reads see acknowledged postings,
the thread survives a database error, and stops on shutdown."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from eventsourcing.persistence import StoredEvent

from api.bootstrap import App, bootstrap_app, projectors
from api.http.follower import Follower
from api.settings import Settings
from api.usecases.ledger import open_fund, post
from domain.funds import FundId
from domain.postings import Line, Posting
from projections.runner import Projector
from tests.conftest import postgres_schema
from tests.http.conftest import OPERATOR, ServerFactory, init_store
from tests.http.routes import open_fund as open_fund_over_http
from tests.http.routes import row


@pytest.mark.parametrize("workers", [1, 2])
def test_a_read_right_after_an_acknowledged_posting_sees_it(
    backend_url: str, server_factory: ServerFactory, workers: int
) -> None:
    server = server_factory(backend_url, workers=workers)
    fund = "resident:140100"
    open_fund_over_http(server, fund)
    token = server.token(role="provincial", region="140000")
    for number in range(1, 21):
        # New connections each time: with two workers, the write and the read land on
        # either worker.
        with server.client(token) as writer:
            body = row(fund, "contribution", "1.00", "2024-05-01", f"F-{number}",
                       sub_line="individual")  # fmt: skip
            assert writer.post("/v1/postings", json=body).status_code == 201
        with server.client(token) as reader:
            got = reader.get(f"/v1/funds/{fund}/statement", params={"year": 2024})
        assert got.status_code == 200, got.text
        assert got.json()["income"]["contribution.individual"] == f"{number}.00"
    with server.client(token) as client:
        text = client.get("/metrics").text
    assert _sample(text, 'fundledger_read_phase_seconds_count{phase="query"}') == 20
    assert _sample(text, 'fundledger_read_phase_seconds_count{phase="wait"}') == 20
    if backend_url.startswith("postgresql"):  # the two workers' projectors take turns
        assert _sample(text, "fundledger_projector_batches_lost_total") == 0
    assert _sample(text, "fundledger_projector_events_left_out_total") == 0


def _sample(text: str, name: str) -> float:
    """The value of one sample of a metrics text."""
    values = [line.rpartition(" ")[2] for line in text.splitlines() if line.startswith(name + " ")]
    assert len(values) == 1, (name, values)
    return float(values[0])


@pytest.fixture
def app(backend_url: str) -> Iterator[App]:
    app = bootstrap_app(Settings(database_url=backend_url))
    try:
        yield app
    finally:
        app.close()


def _posted(app: App, fund: FundId, reference: str) -> None:
    post(app, OPERATOR, Posting(fund, Line.CONTRIBUTION, 100, date(2024, 5, 1), reference))


def _heads(app: App, province: str) -> dict[str, int]:
    return {province: app.read_models.for_province(province).source.head(province)}


def _own(app: App, backend_url: str) -> list[Projector]:
    return projectors(Settings(database_url=backend_url), app.ledger)


def test_the_follower_survives_a_database_error_and_resumes(app: App, backend_url: str) -> None:
    fund = FundId.parse("resident:150100")
    open_fund(app, OPERATOR, fund, first_year=2024)
    own = _own(app, backend_url)
    follower = Follower(own, poll=0.05, gap=0.0, wait=10)
    follower.start()
    try:
        assert follower.wait_for(_heads(app, "150000"))
        app.read_models.projectors[0].db.execute("ALTER TABLE fl_tracking RENAME TO fl_held")
        try:
            _posted(app, fund, "E-1")
            deadline = time.monotonic() + 20
            while follower.failures < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert follower.failures >= 2
            assert follower.running
        finally:
            app.read_models.projectors[0].db.execute("ALTER TABLE fl_held RENAME TO fl_tracking")
        assert follower.wait_for(_heads(app, "150000"))
        status = {s.province: s for s in app.read_models.status()}["150000"]
        assert status.lag == 0
        assert status.head == 2
    finally:
        follower.stop()
        for projector in own:
            projector.source.close()
            projector.db.close()


def test_reads_wait_for_the_follower_and_shutdown_stops_it(app: App, backend_url: str) -> None:
    fund = FundId.parse("resident:150200")
    open_fund(app, OPERATOR, fund, first_year=2024)
    own = _own(app, backend_url)
    follower = Follower(own, poll=30, gap=0.0, wait=10)  # woken only by writes and reads
    follower.start()
    app.read_models.follower = follower
    try:
        for number in range(5):
            _posted(app, fund, f"W-{number}")
            statement = app.read_models.statement(fund, 2024)
            assert statement.income_subtotal_fen == (number + 1) * 100
        assert follower.passes >= 2
    finally:
        app.read_models.follower = None
        follower.stop()
        for projector in own:
            projector.source.close()
            projector.db.close()
    assert not follower.running
    _posted(app, fund, "W-after")
    started = time.monotonic()
    assert not follower.wait_for(_heads(app, "150000"))  # stopped: no wait at all
    assert time.monotonic() - started < 1


POSTGRES_ONLY = pytest.mark.parametrize(
    "backend_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
"""The projector lock is PostgreSQL's (SQLite's writers take turns anyway)."""


@POSTGRES_ONLY
def test_a_province_another_process_is_applying_is_left_to_it(app: App, backend_url: str) -> None:
    """A pass leaves a province whose projector lock another session holds (another worker's
    pass under way), and applies it once the lock is free; a read waiting makes it wait."""
    fund = FundId.parse("resident:150300")
    open_fund(app, OPERATOR, fund, first_year=2024)
    _posted(app, fund, "L-1")
    own = _own(app, backend_url)
    other = _own(app, backend_url)  # another worker's projector connections
    holder = other[0].db
    key = "fundledger projector:150000"
    follower = Follower(own, poll=30, gap=0.0, wait=10)  # not started yet: passes by hand
    try:
        holder.query("SELECT pg_advisory_lock(hashtext(current_schema() || %s))", (key,))
        follower.run_pass()
        assert follower.skipped == 1
        assert own[0].positions().get("150000", 0) < _heads(app, "150000")["150000"]
        holder.query("SELECT pg_advisory_unlock(hashtext(current_schema() || %s))", (key,))
        follower.run_pass()
        assert own[0].positions()["150000"] == _heads(app, "150000")["150000"]

        _posted(app, fund, "L-2")
        holder.query("SELECT pg_advisory_lock(hashtext(current_schema() || %s))", (key,))
        follower.start()
        releaser = threading.Timer(
            0.3,
            holder.query,
            ("SELECT pg_advisory_unlock(hashtext(current_schema() || %s))", (key,)),
        )
        releaser.start()
        # The thread's first pass may come before the read waits, and skip the province; a
        # pass for the waiting read must wait for the holder (a skip then would leave the
        # read waiting for the next poll, 30 s, beyond its 10 s).
        assert follower.wait_for(_heads(app, "150000"))
        releaser.join()
        assert own[0].positions()["150000"] == _heads(app, "150000")["150000"]
    finally:
        follower.stop()
        for projector in [*own, *other]:
            projector.source.close()
            projector.db.close()


@POSTGRES_ONLY
def test_two_workers_projectors_never_apply_the_same_batch_at_once(
    app: App, backend_url: str
) -> None:
    """Two workers' followers, both woken after every posting (as when both write), apply
    every event once between them and never lose a batch to each other; a read then sees
    every posting."""
    fund = FundId.parse("resident:150400")
    open_fund(app, OPERATOR, fund, first_year=2024)
    owns = [_own(app, backend_url), _own(app, backend_url)]
    followers = [Follower(own, poll=0.01, gap=0.0, wait=10) for own in owns]
    for follower in followers:
        follower.start()
    try:
        for number in range(60):
            _posted(app, fund, f"T-{number}")
            for follower in followers:
                follower.wake()
        heads = _heads(app, "150000")
        for follower in followers:
            assert follower.wait_for(heads)
        assert [f.lost for f in followers] == [0, 0]
        app.read_models.follower = followers[0]
        assert app.read_models.statement(fund, 2024).income_subtotal_fen == 60 * 100
    finally:
        app.read_models.follower = None
        for follower in followers:
            follower.stop()
        for own in owns:
            for projector in own:
                projector.source.close()
                projector.db.close()


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_server_started_before_init_reads_what_is_written_after(
    backend: str, server_factory: ServerFactory, tmp_path: Path
) -> None:
    with contextlib.ExitStack() as stack:
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path}/fundledger.db"
        else:
            url = stack.enter_context(postgres_schema())
        server = server_factory(url)
        with server.client() as anyone:  # its projectors look for the provinces' tables
            assert anyone.get("/healthz").status_code in (200, 503)
        time.sleep(0.3)  # a background pass or two, with no table there yet
        init_store(url)  # `fundledger init` while the server runs
        fund = "resident:140100"
        open_fund_over_http(server, fund)
        token = server.token(role="provincial", region="140000")
        with server.client(token) as client:
            body = row(fund, "contribution", "7.00", "2024-05-01", "LATE-1", sub_line="individual")
            assert client.post("/v1/postings", json=body).status_code == 201
            got = client.get(f"/v1/funds/{fund}/statement", params={"year": 2024})
            metrics = client.get("/metrics").text
        assert got.status_code == 200, got.text
        assert got.json()["income"]["contribution.individual"] == "7.00"
        # The background projector applied it: the read did not wait in vain and catch up.
        caught_up = 'fundledger_read_phase_seconds_count{phase="catch_up"} '
        assert [line for line in metrics.splitlines() if line.startswith(caught_up)] in (
            [],
            [caught_up + "0.0"],
        )


def test_a_fund_read_waits_only_for_its_own_funds_events(app: App, backend_url: str) -> None:
    """A statement needs its own fund's events applied, not the province's: with events of
    another fund not yet applied it reads at once (the follower here never runs, so any
    wait would end in the read's own catch-up); with one of its own unapplied it catches
    up, and sees it."""
    mine, other = FundId.parse("resident:150500"), FundId.parse("resident:150600")
    for fund in (mine, other):
        open_fund(app, OPERATOR, fund, first_year=2024)
    _posted(app, mine, "M-1")
    app.read_models.catch_up()
    own = _own(app, backend_url)
    source = app.read_models.for_province("150000").source
    phases: list[str] = []
    app.read_models.follower = Follower(own, poll=30, gap=0.0, wait=10)  # not started
    app.read_models.observe = lambda phase, _seconds: phases.append(phase)
    try:
        assert source.fund_head("150000", mine.aggregate_id) == _heads(app, "150000")["150000"]
        _posted(app, other, "O-1")
        assert source.fund_head("150000", mine.aggregate_id) < _heads(app, "150000")["150000"]
        assert source.fund_head("150000", other.aggregate_id) == _heads(app, "150000")["150000"]
        unknown = FundId.parse("resident:150700")
        assert source.fund_head("150000", unknown.aggregate_id) == 0

        assert app.read_models.statement(mine, 2024).income_subtotal_fen == 100
        assert phases == ["wait", "query"]
        position = app.read_models.for_province("150000").position("150000")
        assert position < _heads(app, "150000")["150000"]  # the other fund's is not applied

        phases.clear()
        _posted(app, mine, "M-2")
        assert app.read_models.statement(mine, 2024).income_subtotal_fen == 200
        assert phases == ["wait", "catch_up", "query"]
        assert app.read_models.statement(other, 2024).income_subtotal_fen == 100
    finally:
        app.read_models.follower = None
        for projector in own:
            projector.source.close()
            projector.db.close()


def test_an_event_of_no_opened_fund_is_left_out_and_counted(app: App, backend_url: str) -> None:
    """An event whose fund no opening registered (an edited log: here a copy of a posting
    under an aggregate of its own, written by the recorder behind the ledger's back) is left
    out of the read models and counted, and the follower moves on past it."""
    fund = FundId.parse("resident:150500")
    open_fund(app, OPERATOR, fund, first_year=2024)
    _posted(app, fund, "L-1")
    recorder = app.ledger.province("150000").recorder
    copied = recorder.select_events(fund.aggregate_id)[-1]
    stray = StoredEvent(uuid.uuid4(), 1, copied.topic, copied.state)
    recorder.insert_events([stray])
    _posted(app, fund, "L-2")
    passes: list[tuple[str, int, int]] = []
    follower = Follower(_own(app, backend_url), poll=30, gap=0.0, wait=10, on_pass=_record(passes))
    follower.run_pass()
    assert follower.left_out == 1
    assert passes == [("applied", 0, 1)]
    assert follower.wait_for(_heads(app, "150000"))
    assert app.read_models.statement(fund, 2024).income_subtotal_fen == 200


def _record(passes: list[tuple[str, int, int]]) -> Callable[[str, int, int], None]:
    def on_pass(outcome: str, lost: int, left_out: int) -> None:
        passes.append((outcome, lost, left_out))

    return on_pass
