"""Each server process's background projector (docs/architecture.md, "Reads").

A thread started in the app's lifespan applies the event log to the read models, on
connections of its own, so that under write load the read models stay caught up and a read
does not pay for it. It runs a pass when this process has written (at most one every
:data:`MIN_GAP_SECONDS`), when a read waits for it, and otherwise every
:data:`POLL_SECONDS` (the writes of other processes and of the CLI). After each pass it
reads the provinces' positions from the tracking table, so a position moved by another
process's projector counts too; two projectors at once stay exactly-once by the projector's
position guard (:mod:`projections.runner`).

A read takes its province's head (one query) and waits, at most :data:`WAIT_SECONDS`, until
a pass has seen the position reach it (:meth:`ReadModels.fresh`); a posting acknowledged
before the read is then in it. If the follower has not got there in time (stopped, failing,
or far behind), the read catches up itself, as the CLI does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence

import structlog

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
    ) -> None:
        self._projectors = tuple(projectors)
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

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop after the pass under way (its batch commits or rolls back whole)."""
        self._stop.set()
        self._woken.set()
        self._urgent.set()
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
        queries per database when nothing is new (the heads, the positions)."""
        positions: dict[str, int] = {}
        for projector in self._projectors:
            heads = projector.source.heads(projector.provinces)
            now = _positions(projector)
            behind = [p for p, head in heads.items() if head > now.get(p, 0)]
            if behind:
                projector.catch_up(provinces=behind)
                now = _positions(projector)
            positions.update(now)
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
                _log.exception("projector pass failed; trying again")
                self._stop.wait(self._poll)
                continue
            self._woken.wait(self._poll)
            self._urgent.wait(self._gap)  # a read waiting does not wait for the gap


def _positions(projector: Projector) -> dict[str, int]:
    """Each province's tracking position, in one query."""
    rows = projector.db.query("SELECT province, position FROM fl_tracking")
    return {str(p): int(pos) for p, pos in rows if p in projector.provinces}
