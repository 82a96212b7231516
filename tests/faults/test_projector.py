"""The projector under faults: killed inside a batch, racing another, its position moved back.

Each test compares the read models with a rebuild from the events, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from typing import Any

from api.bootstrap import bootstrap_app
from api.settings import Settings
from projections.db import connect
from projections.runner import Projector
from projections.source import SqlEventSource
from tests.faults.common import (
    EXPECTED_INDEXES,
    READ_MODEL_TABLES,
    caught_up,
    kill,
    read_models,
    rebuilt,
    schema_objects,
    start_holding,
)
from tests.scenario import CITY


def event_count(url: str) -> int:
    db = connect(url)
    try:
        return int(db.query("SELECT count(*) FROM ledger_140000_events")[0][0])
    finally:
        db.close()


def position(url: str) -> int:
    db = connect(url)
    try:
        return int(db.query("SELECT position FROM fl_tracking WHERE province = '140000'")[0][0])
    finally:
        db.close()


def test_a_projector_killed_between_its_inserts_and_its_commit_applies_nothing(
    url: str,
) -> None:
    held = start_holding(url, "catch_up", after_batches=3)
    kill(held)
    assert position(url) == 100  # two batches of 50 committed, the third rolled back
    after = read_models(url)
    assert len(after["fl_postings"]) < event_count(url)
    assert caught_up(url) == rebuilt(url)
    assert position(url) == event_count(url)


def test_a_rebuild_killed_midway_leaves_every_table_and_index(url: str) -> None:
    reference = caught_up(url)
    tables_before, indexes_before = schema_objects(url)
    assert indexes_before >= EXPECTED_INDEXES
    for after_batches in (1, 4):
        held = start_holding(url, "rebuild", after_batches=after_batches)
        kill(held)
        tables, indexes = schema_objects(url)
        assert set(READ_MODEL_TABLES) <= tables
        assert (tables, indexes) == (tables_before, indexes_before)
        assert position(url) == 50 * (after_batches - 1)
        assert caught_up(url) == reference


class RacingProjector(Projector):
    """A projector that waits at a barrier before writing its first batch."""

    def __init__(self, url: str, barrier: threading.Barrier) -> None:
        super().__init__(connect(url), SqlEventSource(connect(url)), ("140000",))
        self.barrier = barrier
        self.first = True

    def _apply(self, province: str, batch: list[Any], old: int, new: int) -> bool:
        if self.first:
            self.first = False
            self.barrier.wait(timeout=30)
        return super()._apply(province, batch, old, new)


def test_two_projectors_racing_for_one_batch_apply_it_once(url: str) -> None:
    reference = rebuilt(url)
    db = connect(url)
    with db.transaction():
        for table in READ_MODEL_TABLES:
            db.execute(f"DELETE FROM {table}")
        db.execute("UPDATE fl_tracking SET position = 0")
        db.execute("UPDATE fl_applied SET high = 0")
    db.close()
    barrier = threading.Barrier(2)
    projectors = [RacingProjector(url, barrier) for _ in range(2)]
    applied: list[int] = []
    errors: list[BaseException] = []

    def run(projector: Projector) -> None:
        try:
            applied.append(projector.catch_up())
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(p,)) for p in projectors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for projector in projectors:
        projector.db.close()
        projector.source.close()
    assert errors == []
    assert sorted(applied) == [0, event_count(url)]  # one applied the batch, the other nothing
    assert read_models(url) == reference


def test_a_position_moved_back_applies_the_events_again_once(url: str) -> None:
    reference = caught_up(url)
    for moved_to in (0, 7, event_count(url) - 3):
        db = connect(url)
        db.execute("UPDATE fl_tracking SET position = %s", (moved_to,))
        db.close()
        app = bootstrap_app(Settings(database_url=url))
        try:
            statement = app.read_models.statement(CITY, 2024, view="as_closed")
            assert statement.closed_at is not None
        finally:
            app.close()
        assert read_models(url) == reference
        assert position(url) == event_count(url)
