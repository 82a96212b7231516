"""Each server process's background projector (docs/architecture.md, "Reads").

A thread started in the app's lifespan applies the event log to the read models, on
connections of its own, so that under write load the read models stay caught up and a read
does not pay for it. It runs a pass when this process has written (at most one every
:data:`MIN_GAP_SECONDS`), when a read waits for it, and otherwise every
:data:`POLL_SECONDS` (the writes of other processes and of the CLI). After each pass it
reads the provinces' positions from the tracking table, so a position moved by another
process's projector counts too; two projectors at once stay exactly-once by the projector's
position guard (:mod:`projections.runner`). On PostgreSQL the server processes' passes also
take turns per province (:func:`_exclusive`), so that they never apply the same batch at once,
and commit without waiting for the disk (derived rows: a crash loses only what the next pass
applies again).

A read takes its province's head, or for a read of one fund's rows that fund's last event,
and the position (two queries) and, when the position is short of it, waits, at most
:data:`WAIT_SECONDS`, until a pass has seen the position reach it (:meth:`ReadModels.fresh`);
a posting acknowledged before the read is then in it. If the follower has not got there in
time (stopped, failing, or far behind), the read catches up itself, as the CLI does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress

import structlog

from projections.db import ProjectionDB
from projections.runner import Projector

POLL_SECONDS = 0.5
"""The pass between wakes: the writes of other processes are applied within this."""
MIN_GAP_SECONDS = 0.05
"""At most one pass per this many seconds for this process's own writes."""
WAIT_SECONDS = 2.0
"""How long a read waits for the follower before catching up itself."""

_log = structlog.get_logger("fundledger.follower")


class Follower:
    """A background projector over ``projectors`` (its own connections)."""

    def __init__(
        self,
        projectors: Sequence[Projector],
        *,
        poll: float = POLL_SECONDS,
        gap: float = MIN_GAP_SECONDS,
        wait: float = WAIT_SECONDS,
        on_pass: Callable[[str, int, int], None] = lambda _outcome, _lost, _left_out: None,
    ) -> None:
        self._projectors = tuple(projectors)
        for projector in self._projectors:
            projector.wait_for_flush = False  # a pass's commit need not wait for the disk
        self._on_pass = on_pass
        self._poll = poll
        self._gap = gap
        self._wait = wait
        self._positions: dict[str, int] = {}
        self._seen = threading.Condition()
        self._woken = threading.Event()
        self._urgent = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="projector", daemon=True)
        self.passes = 0
        self.failures = 0
        self.lost = 0
        """Batches decoded but not written, another projector having moved on."""
        self.left_out = 0
        """Fund events left out of the read models: no opening registered their fund (an
        edited event log, :attr:`projections.runner.Projector.unregistered`)."""
        self.skipped = 0
        """Provinces left to another process's projector, which held their lock."""

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop after the pass under way (its batch commits or rolls back whole)."""
        self._stop.set()
        self._woken.set()
        self._urgent.set()
        if self._thread.ident is not None:  # started
            self._thread.join(timeout=30)

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self._stop.is_set()

    def wake(self) -> None:
        self._woken.set()

    def wait_for(self, heads: Mapping[str, int]) -> bool:
        deadline = time.monotonic() + self._wait
        with self._seen:
            while any(self._positions.get(p, 0) < head for p, head in heads.items()):
                left = deadline - time.monotonic()
                if left <= 0 or not self.running:
                    return False
                self._urgent.set()
                self._woken.set()
                self._seen.wait(left)
        return True

    def run_pass(self) -> None:
        """Apply every event not yet applied, then note each province's position: two
        queries per database when nothing is new (the heads, the positions).

        On PostgreSQL a province is applied only under its projector lock (:func:`_exclusive`):
        a province another process's projector is applying is left to it (its position, read
        from the tracking table, counts here too), unless a read waits, and then this pass
        waits for that projector to finish and applies whatever it left."""
        positions: dict[str, int] = {}
        applied = lost = left_out = 0
        for projector in self._projectors:
            heads = projector.source.heads(projector.provinces)
            now = projector.positions()
            behind = [p for p, head in heads.items() if head > now.get(p, 0)]
            if behind:
                before, unregistered = projector.lost, projector.unregistered
                for province in behind:
                    with _exclusive(projector.db, province, wait=self._urgent.is_set()) as mine:
                        if mine:
                            applied += projector.catch_up(provinces=(province,))
                        else:
                            self.skipped += 1
                lost += projector.lost - before
                left_out += projector.unregistered - unregistered
                now = projector.positions()
            positions.update(now)
        self.lost += lost
        self.left_out += left_out
        self._on_pass("applied" if applied else "idle", lost, left_out)
        with self._seen:
            self._positions.update(positions)
            self.passes += 1
            self._seen.notify_all()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._woken.clear()
            self._urgent.clear()
            try:
                self.run_pass()
            except Exception:  # noqa: BLE001 - a background thread: log, wait, try again
                self.failures += 1
                self._on_pass("failed", 0, 0)
                _log.exception("projector pass failed; trying again")
                self._stop.wait(self._poll)
                continue
            self._woken.wait(self._poll)
            self._urgent.wait(self._gap)  # a read waiting does not wait for the gap


PROJECTOR_LOCK = "fundledger projector"
"""With the province and the schema, the key of a province's projector lock."""


@contextmanager
def _exclusive(db: ProjectionDB, province: str, *, wait: bool) -> Iterator[bool]:
    """Hold the province's projector lock (PostgreSQL: a session advisory lock keyed by the
    schema and the province), so that two server processes never apply the same batch at
    once: one would roll back and both fall behind. Yields False when another projector holds
    it and ``wait`` is false; with ``wait``, waits for it (the holder's pass ends, or its
    process and so its session). SQLite has no such lock (its writers take turns anyway)."""
    if db.dialect != "postgres":
        yield True
        return
    key = (f"{PROJECTOR_LOCK}:{province}",)
    got = db.query("SELECT pg_try_advisory_lock(hashtext(current_schema() || %s))", key)[0][0]
    if not got and wait:
        db.query("SELECT pg_advisory_lock(hashtext(current_schema() || %s))", key)
        got = True
    if not got:
        yield False
        return
    try:
        yield True
    finally:
        with suppress(Exception):  # a lost connection has released it already
            db.query("SELECT pg_advisory_unlock(hashtext(current_schema() || %s))", key)
