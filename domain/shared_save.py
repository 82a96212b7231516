"""One save for the postings of many callers, each answered on its own (group commit's write).

A :class:`domain.group_commit.GroupCommitter` leader hands a batch of postings, from as many
callers, to :func:`write_group`, which checks each posting on its own, saves the accepted ones
in one transaction, and answers each posting with its outcome or its own refusal. What it
guarantees is told in :mod:`domain.group_commit` and in docs/architecture.md, "Group commit".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import overload
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent

from domain.errors import ConcurrentWrites, DomainError
from domain.ledger import PostingOutcome, ProvinceLedger, _Batch, named_funds
from domain.persistence import VOUCHER_COLUMNS
from domain.postings import Posting
from domain.vouchers import Voucher

MAX_BATCH = 500
"""The most postings one save carries; a longer queue is saved in several turns."""

GROUP_ATTEMPTS = 4
"""Saves of one batch: an optimistic one (unless the province's saves collide), then saves
checked under the store's table lock (on PostgreSQL the first of those cannot collide, but for a
reference already posted; on SQLite another process still may)."""

ONE_TRIP_PARAMS = 50
"""A batch of up to this many values (a voucher has 12, an event 4: a posting 16, a pair 20) is
saved in the single posting's one round trip; a larger one through the import's bulk path
(``COPY`` in one transaction). The one round trip binds every value into one query text, and
psycopg parses that text once and keeps it only up to 50 values; beyond, it parses it on every
save, which costs more (1.5 ms for 16 postings) than the bulk path's few extra round trips."""

Answer = PostingOutcome | DomainError
"""What became of one posting of a batch: its outcome, or its own refusal."""


def write_group(
    ledger: ProvinceLedger, postings: Sequence[Posting], *, restate: bool = False
) -> list[Answer]:
    """Check every posting on its own and save the accepted ones in one save.

    Answers, per posting in order, its outcome or its own refusal. The first attempt is
    optimistic: staged on the cached funds, without looking references up (unless a posting
    reverses one), saved in one round trip; the events' version key and the voucher key refuse
    it if another writer got there first. Every later attempt is checked again *inside* its
    transaction, once the store's table lock is held (see :class:`_StagedUnderLock`): the
    funds are brought up to date, the references looked up, the batch staged and written, and
    no other writer can move a fund in between. So a batch that collided with another
    process is written at its second attempt; without it, one process that never collides
    could keep another's batches colliding forever. While the province's saves collide
    (``ledger.saves_collide``: the last one met another process's), the first attempt is
    already under the lock, without looking references up (a reference already posted fails
    on the voucher key, and the next attempt looks them up); a save under the lock that found
    no fund moved makes the next one optimistic again. The caller must hold the province's
    writes (a :class:`GroupCommitter` leader, or inside its ``exclusive()``).
    """
    assert 1 <= len(postings) <= MAX_BATCH, len(postings)
    optimistic = all(p.reverses is None for p in postings)
    attempts = GROUP_ATTEMPTS
    if ledger.saves_collide:
        stale = named_funds(postings)
    else:
        batch, answers = _stage(ledger, postings, restate=restate, look_up=not optimistic)
        if not batch.new_vouchers:
            return answers  # nothing to write: every posting a duplicate or refused
        try:
            _save(ledger, batch)
        except IntegrityError:
            stale = [f.id for f in batch.funds.values()]
            ledger.saves_collide = True
            optimistic = False  # the voucher key may have refused a reference posted before
            attempts -= 1
        else:
            return answers
    for _ in range(attempts):
        staged = _StagedUnderLock(
            ledger, postings, restate=restate, stale=stale, look_up=not optimistic
        )
        try:
            ledger.vouchers.insert_batches(staged, lambda _: None)
        except IntegrityError:  # a reference posted before, or SQLite across processes
            stale = [*stale, *staged.fund_ids()]
            optimistic = False
            continue
        assert staged.batch is not None
        ledger._after_bulk_write(staged.batch)
        ledger.saves_collide = staged.moved
        return staged.answers
    # Nothing written: even a refusal or a duplicate may have rested on a neighbour's posting.
    return [
        ConcurrentWrites(
            f"other writers kept changing the funds of {ledger.province} during "
            f"{GROUP_ATTEMPTS} attempts; nothing was written: post again"
        )
        for _ in postings
    ]


Rows = tuple[list[StoredEvent], list[Voucher]]


class _StagedUnderLock(Sequence[Rows]):
    """A batch's rows for ``insert_batches``, checked when the recorder first reads them.

    The recorders' ``insert_batches`` opens its transaction and, on PostgreSQL, takes the
    events table's exclusive lock before it reads its first batch (docs/architecture.md,
    "Imports"): so the funds are brought up to date, the references looked up and the
    postings staged while no other writer of the province, in any process, can write. Read
    once: the rows are kept, however often the recorder reads them.
    """

    def __init__(
        self,
        ledger: ProvinceLedger,
        postings: Sequence[Posting],
        *,
        restate: bool,
        stale: Sequence[UUID],
        look_up: bool = True,
    ) -> None:
        self._ledger = ledger
        self._postings = postings
        self._restate = restate
        self._stale = stale
        self._look_up = look_up
        self.moved = False
        """Whether another writer had moved a fund since this process cached it."""
        self._rows: list[Rows] | None = None
        self.batch: _Batch | None = None
        self.answers: list[Answer] = []

    def fund_ids(self) -> list[UUID]:
        """The funds the staged batch touched (none if it was never read)."""
        return [] if self.batch is None else [f.id for f in self.batch.funds.values()]

    def _staged(self) -> list[Rows]:
        if self._rows is None:
            self._rows = self._stage()
        return self._rows

    def _stage(self) -> list[Rows]:
        """Bring the funds up to date, then stage; again if staging met another stale fund
        (a reversal's counterparty, found only once the original's voucher was read)."""
        self.moved = self._ledger.bring_up_to_date(self._stale)
        done = set(self._stale)
        for _ in range(2):
            batch, self.answers = _stage(
                self._ledger, self._postings, restate=self._restate, look_up=self._look_up
            )
            self.batch = batch
            others = [f.id for f in batch.funds.values() if f.id not in done]
            done.update(others)
            if not self._ledger.bring_up_to_date(others):
                break
            self.moved = True
        to_stored = self._ledger.mapper.to_stored_event
        events = [to_stored(e) for row, _ in batch.staged_events() for e in row]
        return [(events, list(batch.new_vouchers))] if events else []

    def __len__(self) -> int:
        return len(self._staged())

    @overload
    def __getitem__(self, index: int) -> Rows: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Rows]: ...

    def __getitem__(self, index: int | slice) -> Rows | Sequence[Rows]:
        return self._staged()[index]


def _stage(
    ledger: ProvinceLedger, postings: Sequence[Posting], *, restate: bool, look_up: bool
) -> tuple[_Batch, list[Answer]]:
    """Stage each posting on its own; a refusal that left events staged is staged out.

    ``_Batch.stage`` checks every rule before it triggers an event, so a refusal leaves nothing
    behind; should one ever leave events pending on a fund, the batch is staged again from the
    cache without that posting (so at most one pass more per posting).
    """
    excluded: dict[int, DomainError] = {}
    for _ in range(len(postings) + 1):
        rows = [i for i in range(len(postings)) if i not in excluded]
        batch = _Batch(ledger, [postings[i] for i in rows], restate=restate, look_up=look_up)
        answers: list[Answer | None] = [excluded.get(i) for i in range(len(postings))]
        clean = True
        for position, index in enumerate(rows):
            try:
                answers[index] = batch.stage(position, postings[index])
            except DomainError as error:
                answers[index] = error
                if any(f.pending_events for f in batch.funds.values()):
                    excluded[index] = error
                    clean = False
                    break
        if clean:
            done = [a for a in answers if a is not None]
            assert len(done) == len(postings)
            return batch, done
    raise AssertionError("unreachable: every pass stages out one more posting")


def _save(ledger: ProvinceLedger, batch: _Batch) -> None:
    """One transaction for the batch: the single save's one round trip, or the bulk path."""
    events = sum(len(row) for row, _ in batch.staged_events())
    if len(VOUCHER_COLUMNS) * len(batch.new_vouchers) + 4 * events <= ONE_TRIP_PARAMS:
        ledger._save_staged(batch)
        return
    ledger._write_all_or_none(batch, chunk=MAX_BATCH, progress=lambda _: None)
    ledger._after_bulk_write(batch)
