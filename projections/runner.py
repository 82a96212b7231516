"""The projector: applies the event log to the read models in batches, exactly once.

Each batch (at most :data:`BATCH_SIZE` notifications of one province) is written in one
transaction together with the province's new tracking position. The transaction first moves
the position from the value it read to the new one; if another projector moved it meanwhile,
nothing is written and the batch is read again from the new position. So each event is
applied exactly once, a stopped projector resumes where it stopped, and two projectors may
run at once.

A position moved back (by hand, or a restored tracking table) applies events again: the
province's highest position ever applied is kept beside it (``fl_applied``), and a batch
below that mark first removes the rows its events made before, so nothing is applied twice.
A rebuild deletes rows but keeps every table and index, so that a rebuild stopped at any
point leaves a complete schema (the next catch-up finishes it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson

from domain.regions import PROVINCES
from projections import sums
from projections.db import ProjectionDB
from projections.decode import RawNotification, StoredNotification, decode
from projections.extras import Insert, registered
from projections.schema import (
    BY_FUND_TABLES,
    CLOSE_COLUMNS,
    DATA_TABLES,
    ENROLMENT_COLUMNS,
    FUND_COLUMNS,
    POSTING_COLUMNS,
    TABLES,
    create_tables,
)
from projections.source import EventSource

BATCH_SIZE = 20_000
MAX_BATCHES_PER_CALL = 100_000
"""A bound on one catch-up's loop (a billion events)."""


_MOVE_POSITION = """
WITH moved AS (
    UPDATE fl_tracking SET position = %s WHERE province = %s AND position = %s RETURNING 1
), before AS (
    SELECT high FROM fl_applied WHERE province = %s
), raised AS (
    UPDATE fl_applied SET high = %s
    WHERE province = %s AND high < %s AND EXISTS (SELECT 1 FROM moved)
)
SELECT (SELECT count(*) FROM moved), (SELECT high FROM before),
       set_config('synchronous_commit',
                  CASE WHEN %s THEN current_setting('synchronous_commit') ELSE 'off' END, true)
"""
""":meth:`Projector._move_position` in one PostgreSQL statement: the parts of a statement
see one snapshot, so ``before`` reads the mark as it was before ``raised`` changes it."""


@dataclass(frozen=True)
class ProvinceStatus:
    """Where a province's projection stands."""

    province: str
    position: int
    head: int

    @property
    def lag(self) -> int:
        return self.head - self.position


class Projector:
    """Keeps the read models of one database up to date with its provinces' event logs."""

    def __init__(
        self, db: ProjectionDB, source: EventSource, provinces: Sequence[str] = tuple(PROVINCES)
    ) -> None:
        self.db = db
        self.source = source
        self.provinces = tuple(provinces)
        self.extras = registered()
        self._funds: dict[str, str] = {}
        self._marks_ready = False
        self.lost = 0
        """Batches read and decoded but not written: another projector had moved on."""
        self.unregistered = 0
        """Fund events left out because no opening registered their aggregate (an edited log)."""
        self.wait_for_flush = True
        """False: on PostgreSQL a batch's commit does not wait for its WAL to reach the disk
        (``synchronous_commit = off``). Safe for rows derived from the log: a crash loses at
        most the last batches together with their position, which the next catch-up applies
        again; what others see once it commits is the same."""

    def create_tables(self) -> None:
        """Create the read-model tables (part of ``fundledger init``)."""
        create_tables(self.db)
        with self.db.transaction():
            for extra in self.extras:
                for name, columns in extra.tables.items():
                    self.db.execute(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")
                for statement in extra.indexes:
                    self.db.execute(statement)

    def position(self, province: str) -> int:
        rows = self.db.query("SELECT position FROM fl_tracking WHERE province = %s", (province,))
        return int(rows[0][0]) if rows else 0

    def positions(self) -> dict[str, int]:
        """Every province's position, in one query (provinces never applied are left out)."""
        rows = self.db.query("SELECT province, position FROM fl_tracking")
        return {str(p): int(pos) for p, pos in rows if p in self.provinces}

    def status(self) -> list[ProvinceStatus]:
        """Every province's position and lag (provinces without events are left out)."""
        statuses = []
        for province in self.provinces:
            head = self.source.head(province)
            position = self.position(province)
            if head or position:
                statuses.append(ProvinceStatus(province, position, head))
        return statuses

    def catch_up(
        self,
        progress: Callable[[int], None] = lambda _: None,
        provinces: Sequence[str] | None = None,
    ) -> int:
        """Apply every event not yet applied (of ``provinces`` only, when given: a read of
        one fund needs only its own province caught up); answer how many were applied."""
        self._ensure_marks()
        applied = 0
        wanted = (
            self.provinces if provinces is None else [p for p in self.provinces if p in provinces]
        )
        with ThreadPoolExecutor(max_workers=1) as reader:
            for province in wanted:

                def report(done: int, base: int = applied) -> None:
                    progress(base + done)

                applied += self._catch_up_province(province, report, reader)
        return applied

    def _catch_up_province(
        self, province: str, progress: Callable[[int], None], reader: ThreadPoolExecutor
    ) -> int:
        """Apply a province's new events batch by batch, reading the next batch meanwhile; a
        batch shorter than :data:`BATCH_SIZE` held all there was, and is the last."""
        applied = 0
        position = self.position(province)
        batch = self.source.read(province, position, BATCH_SIZE)
        for _ in range(MAX_BATCHES_PER_CALL):
            if not batch:
                return applied
            new_position = batch[-1][0]
            whole = len(batch) < BATCH_SIZE  # all there was at the read: nothing to read ahead
            ahead = (
                None
                if whole
                else reader.submit(self.source.read, province, new_position, BATCH_SIZE)
            )
            if self._apply(province, batch, position, new_position):
                applied += len(batch)
                progress(applied)
                if ahead is None:
                    return applied
                position = new_position
                batch = ahead.result()
            else:  # another projector moved on: read again from where it stopped
                self.lost += 1
                if ahead is not None:
                    ahead.result()
                position = self.position(province)
                batch = self.source.read(province, position, BATCH_SIZE)
        raise AssertionError("catch-up did not finish within its bound")

    def _decode(self, province: str, batch: list[RawNotification]) -> list[Insert]:
        """The batch's rows. A fund event whose aggregate this projector does not know was
        opened by another projector's batch (the funds are read again), or by no opening at
        all: the event log was edited, and the event is left out of the read models (counted in
        :attr:`unregistered`; ``audit verify`` reports the aggregate, docs/faults.md)."""
        rows = decode(province, batch, self._funds)
        if rows.unregistered:
            self._load_funds()
            rows = decode(province, batch, self._funds)
        self.unregistered += len(rows.unregistered)
        inserts: list[Insert] = []
        for table, columns, values in (
            ("fl_funds", FUND_COLUMNS, rows.funds),
            ("fl_postings", POSTING_COLUMNS, rows.postings),
            ("fl_closes", CLOSE_COLUMNS, rows.closes),
            ("fl_enrolment", ENROLMENT_COLUMNS, rows.enrolment),
        ):
            inserts.extend((table, columns, row) for row in values)
        for raw in batch:
            for extra in self.extras:
                if raw[2] in extra.topics:
                    n = StoredNotification(*raw)
                    inserts.extend(extra.rows(province, n, orjson.loads(n.state), self._funds))
        return inserts

    def prepare(self) -> None:
        """Give a store initialised by an older version the tables added since (``fl_applied``,
        ``fl_sums``), once per projector: a read that does not catch up itself (a server's,
        whose background projector applies the events) calls it before it queries."""
        self._ensure_marks()

    def _ensure_marks(self) -> None:
        """Create ``fl_applied`` and ``fl_sums`` on a store initialised before they existed
        (once per projector)."""
        if self._marks_ready:
            return
        with self.db.transaction():
            self.db.execute(f"CREATE TABLE IF NOT EXISTS fl_applied ({TABLES['fl_applied']})")
            known = {row[0] for row in self.db.query("SELECT province FROM fl_applied")}
            for province in self.provinces:
                if province not in known:
                    self.db.execute(
                        "INSERT INTO fl_applied (province, high) "
                        "SELECT province, position FROM fl_tracking WHERE province = %s",
                        (province,),
                    )
        sums.ensure(self.db)  # a store initialised before fl_sums existed
        self._marks_ready = True

    def _apply(self, province: str, batch: list[RawNotification], old: int, new: int) -> bool:
        """Write a batch and move the position from ``old`` to ``new``, in one transaction;
        False (nothing written) when another projector moved the position meanwhile."""
        inserts = self._decode(province, batch)
        by_table: dict[tuple[str, tuple[str, ...]], list[tuple[Any, ...]]] = {}
        for table, columns, row in inserts:
            by_table.setdefault((table, tuple(columns)), []).append(row)
        with self.db.transaction():
            moved, high = self._move_position(province, old, new)
            if not moved:
                return False
            if high > old:
                self._forget(province, old, new, by_table.get(("fl_funds", FUND_COLUMNS), []))
            for (table, columns), values in by_table.items():
                self.db.insert_many(table, columns, values)
            sums.add(self.db, by_table.get(("fl_postings", POSTING_COLUMNS), []))
        return True

    def _move_position(self, province: str, old: int, new: int) -> tuple[bool, int]:
        """Inside a batch's transaction: move the position from ``old`` to ``new`` and raise
        the province's highest applied mark to ``new``; answer whether the position moved
        (False: another projector moved it meanwhile, and nothing else is changed) and the
        mark as it was before.

        On PostgreSQL this is one statement (a background projector's pass under write load
        is mostly round trips: a batch of a few postings), which also says whether the
        commit waits for the disk (:attr:`wait_for_flush`, ``synchronous_commit`` for this
        transaction only)."""
        if self.db.dialect == "postgres":
            rows = self.db.query(
                _MOVE_POSITION,
                (
                    new,
                    province,
                    old,
                    province,
                    new,
                    province,
                    new,
                    self.wait_for_flush,
                ),
            )
            return int(rows[0][0]) == 1, int(rows[0][1] or 0)
        moved = self.db.execute(
            "UPDATE fl_tracking SET position = %s WHERE province = %s AND position = %s",
            (new, province, old),
        )
        if moved != 1:
            return False, 0
        high = self.db.query("SELECT high FROM fl_applied WHERE province = %s", (province,))
        self.db.execute(
            "UPDATE fl_applied SET high = %s WHERE province = %s AND high < %s",
            (new, province, new),
        )
        return True, int(high[0][0]) if high else 0

    def _forget(self, province: str, old: int, new: int, funds: Sequence[tuple[Any, ...]]) -> None:
        """Remove the rows that the events after ``old`` up to ``new`` made when they were
        applied before (the position was moved back): they are about to be inserted again."""
        span = (old, new)
        for table in BY_FUND_TABLES:
            self.db.execute(
                f"DELETE FROM {table} WHERE notification_id > %s AND notification_id <= %s "  # noqa: S608
                "AND fund IN (SELECT fund FROM fl_funds WHERE province = %s)",
                (*span, province),
            )
        scoped = ["fl_postings", *(name for extra in self.extras for name in extra.tables)]
        for table in scoped:
            self.db.execute(
                f"DELETE FROM {table} WHERE notification_id > %s AND notification_id <= %s "  # noqa: S608
                "AND province = %s",
                (*span, province),
            )
        for row in funds:
            self.db.execute("DELETE FROM fl_funds WHERE aggregate_id = %s", (row[0],))
        sums.recompute(self.db, province)  # from the postings left; the batch adds its own

    def _load_funds(self) -> None:
        for aggregate_hex, fund in self.db.query("SELECT aggregate_id, fund FROM fl_funds"):
            self._funds[aggregate_hex] = fund

    def total_lag(self) -> int:
        """Events recorded but not yet applied, over every province."""
        return sum(s.lag for s in self.status())

    def rebuild(self, progress: Callable[[int], None] = lambda _: None) -> int:
        """Delete every read-model row and apply the whole event log again.

        Tables and indexes stay: a rebuild stopped at any point (a killed process) leaves the
        schema whole, its rows those of a consistent prefix of the log, which the next
        catch-up completes.
        """
        self._ensure_marks()
        tables = [*DATA_TABLES, *(name for extra in self.extras for name in extra.tables)]
        with self.db.transaction():
            for table in tables:
                self.db.execute(f"DELETE FROM {table}")  # noqa: S608
            self.db.execute("UPDATE fl_tracking SET position = 0")
            self.db.execute("UPDATE fl_applied SET high = 0")
        self._funds.clear()
        return self.catch_up(progress)
