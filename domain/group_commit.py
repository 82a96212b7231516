"""Group commit: the postings that reach one province at the same time share one save.

Every save of a province takes its events table's exclusive lock (so that notification ids are
issued in commit order; see docs/architecture.md, "Write side"), so writers that each save their
own posting queue one transaction, one lock and one fsync each. A :class:`GroupCommitter` turns
that queue into batches: the first caller to find nobody writing becomes the leader and saves
what is waiting (at most :data:`domain.shared_save.MAX_BATCH` postings, in one transaction);
callers that arrive meanwhile wait, and the next leader saves all of them at once. Nothing waits
on purpose: an idle province writes a lone posting at once, by the same one-round-trip save as
:meth:`ProvinceLedger.post`, and batches grow only while a save is in flight.

What it guarantees (docs/architecture.md, "Group commit", says the same). Every posting
submitted is answered to its own caller, exactly once: posted (with its voucher), duplicate
(with the voucher of the posting first made under that reference, whether stored earlier or by a
neighbour in the same batch), or its own refusal (its own ``DomainError``, the one
:meth:`ProvinceLedger.post` would raise). A refused posting fails only itself: each posting is
checked on its own against the batch's state, and a refusal that would leave events staged on a
fund makes the batch be staged again without it. A batch is one save: one transaction, all or
none, so a caller told "posted" has its events and voucher stored, and a caller told anything
else has nothing of its posting written by this batch (but for a failure of the store itself,
raised to every caller of the batch, after which, as for a single save, the same posting sent
again answers whether it was written). When the save collides with another writer (another
process moved a fund, or took a reference: the events' version key or the voucher key refuses
it), nothing of it is written; the batch is then checked again inside the transaction of its
next save, once that holds the events table's lock: the funds are brought up to date from the
store, the references looked up, every posting staged again. On PostgreSQL no other writer can
move a fund in between, so that save does not collide, and no process can keep another's batches
colliding. At most :data:`domain.shared_save.GROUP_ATTEMPTS` saves; if they all collide (SQLite,
across processes), nothing of the batch is written and every caller gets ``ConcurrentWrites``
(retryable: the same posting sent again is posted or answered duplicate). So several processes
may write one fund at once, each batching its own callers, and each posting is still recorded
once. Within a process every write to the province goes through its committer (postings through
:meth:`submit`, other writes inside :meth:`exclusive`), because the province's fund cache and a
staged batch are not safe to share between threads.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from domain.errors import ConcurrentWrites, DomainError
from domain.ledger import PostingOutcome, ProvinceLedger
from domain.postings import Posting
from domain.shared_save import MAX_BATCH, Answer, write_group

MAX_WAITING = 10_000
"""Postings that may wait for one province at once; beyond, a caller is told to retry."""

MAX_QUEUED_SECONDS = 120.0
"""A posting not yet taken into a save after this long is withdrawn and told to retry."""

WRITE_LOCK_SECONDS = 120.0
"""The longest a leader waits for another write of the province (an import) to finish."""

WAIT_SLICE_SECONDS = 1.0
"""A waiting caller looks again at least this often (for its deadline)."""

MAX_WAIT_SLICES = 3_600
"""A caller's wait is an assertion failure after this many slices: a leader's work is bounded
by :data:`WRITE_LOCK_SECONDS` plus :data:`domain.shared_save.GROUP_ATTEMPTS` saves, each
bounded by the store's lock timeout."""

BatchObserver = Callable[[int], None]
"""Told the number of postings of each batch as it is saved (for metrics)."""


@dataclass(eq=False, slots=True)
class _Ticket:
    """One caller's posting, waiting for its answer or for its turn to lead.

    A waiting ticket has its own event, so a save wakes only the callers it answered and the
    one it hands the lead to, not every waiting thread (a caller that leads at once has none).
    """

    posting: Posting
    restate: bool
    ready: threading.Event | _LoopSignal | None = None
    answer: Answer | None = None
    failure: BaseException | None = None
    """An error of the whole batch (the store failed): every caller of the batch raises it."""
    taken: bool = False
    done: bool = False
    lead: bool = False
    """Handed the lead by the previous leader: it saves the next batch (itself among them)."""

    def result(self) -> PostingOutcome:
        assert self.done
        if self.failure is not None:
            raise self.failure
        return _outcome(self.answer)


class GroupCommitter:
    """The write path of one province: concurrent postings batched into shared saves.

    Args:
        ledger: the province's ledger; from now on every write to it goes through this object.
        on_batch: told each batch's size before it is saved (see :data:`BatchObserver`).
    """

    def __init__(self, ledger: ProvinceLedger, on_batch: BatchObserver | None = None) -> None:
        self.ledger = ledger
        self.on_batch = on_batch
        self._mutex = threading.Lock()
        """Guards the queue, the leading flag and every ticket's fields."""
        self._queue: list[_Ticket] = []
        self._leading = False
        self._write_lock = threading.Lock()
        self._owner: int | None = None

    def submit(self, posting: Posting, *, restate: bool = False) -> PostingOutcome:
        """Post one posting, in a save shared with the postings submitted meanwhile.

        Safe to call from any thread. Answers or raises exactly as :meth:`ProvinceLedger.post`.

        Raises:
            DomainError: this posting's own refusal.
            ConcurrentWrites: other writers kept moving its funds, or the queue was full or
                not served in time; nothing of it was written.
        """
        assert posting.fund.province == self.ledger.province
        if self._owner == threading.get_ident():  # inside exclusive(): write it at once
            return _outcome(write_group(self.ledger, [posting], restate=restate)[0])
        ticket = _Ticket(posting, restate)
        if not self._enqueue(ticket, threading.Event):
            self._wait_turn(ticket)
            if ticket.done:
                return ticket.result()
        self._lead(ticket)
        return ticket.result()

    async def submit_async(self, posting: Posting, *, restate: bool = False) -> PostingOutcome:
        """:meth:`submit` for a coroutine: the same batches, answers and refusals, but a
        caller waits on its event loop, not on a thread of its own.

        Only a caller that leads a batch hands the save to a thread (``asyncio.to_thread``),
        so a server process holds one thread per batch in flight, not one per waiting
        posting. The posting is seen through once submitted: cancelling the caller (its
        client went away) does not withdraw it, as a thread's caller cannot withdraw either.

        Raises:
            As :meth:`submit`.
        """
        assert posting.fund.province == self.ledger.province
        submitted = asyncio.ensure_future(self._submit_on_loop(posting, restate))
        submitted.add_done_callback(_retrieve)
        return await asyncio.shield(submitted)

    async def _submit_on_loop(self, posting: Posting, restate: bool) -> PostingOutcome:
        ticket = _Ticket(posting, restate)
        loop = asyncio.get_running_loop()
        if not self._enqueue(ticket, lambda: _LoopSignal(loop)):
            await self._await_turn(ticket)
            if ticket.done:
                return ticket.result()
        await asyncio.to_thread(self._lead, ticket)
        return ticket.result()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the province's writes for another command (opening a fund, an import...).

        No batch is saved meanwhile; postings submitted from inside (same thread) are written
        at once. Re-entrant within a thread.

        Raises:
            ConcurrentWrites: another write held the province longer than WRITE_LOCK_SECONDS.
        """
        if self._owner == threading.get_ident():
            yield
            return
        if not self._write_lock.acquire(timeout=WRITE_LOCK_SECONDS):
            raise ConcurrentWrites(
                f"another write of {self.ledger.province} took longer than "
                f"{WRITE_LOCK_SECONDS:.0f} s; nothing was written: try again"
            )
        self._owner = threading.get_ident()
        try:
            yield
        finally:
            self._owner = None
            self._write_lock.release()

    # ------------------------------------------------------------------ internals

    def _enqueue(
        self, ticket: _Ticket, signal: Callable[[], threading.Event | _LoopSignal]
    ) -> bool:
        """Queue the ticket; True when its caller leads at once, else it waits on a new
        ``signal()`` (a thread's event, or a coroutine's).

        Raises:
            ConcurrentWrites: MAX_WAITING postings are waiting already.
        """
        with self._mutex:
            if len(self._queue) >= MAX_WAITING:
                raise ConcurrentWrites(
                    f"{MAX_WAITING} postings are waiting for {self.ledger.province}: post again"
                )
            self._queue.append(ticket)
            leads = not self._leading
            self._leading = True
            if not leads:
                ticket.ready = signal()
        return leads

    def _wait_turn(self, ticket: _Ticket) -> None:
        """Wait until the ticket is answered or handed the lead; withdraw it if not taken in
        time (nothing of it written then)."""
        deadline = time.monotonic() + MAX_QUEUED_SECONDS
        assert isinstance(ticket.ready, threading.Event)
        for _ in range(MAX_WAIT_SLICES):
            ticket.ready.wait(WAIT_SLICE_SECONDS)
            if self._turn_came(ticket, deadline):
                return
        raise AssertionError(f"no answer within {MAX_WAIT_SLICES} waits")

    async def _await_turn(self, ticket: _Ticket) -> None:
        """:meth:`_wait_turn` on the caller's event loop."""
        deadline = time.monotonic() + MAX_QUEUED_SECONDS
        assert isinstance(ticket.ready, _LoopSignal)
        for _ in range(MAX_WAIT_SLICES):
            await ticket.ready.wait(WAIT_SLICE_SECONDS)
            if self._turn_came(ticket, deadline):
                return
        raise AssertionError(f"no answer within {MAX_WAIT_SLICES} waits")

    def _turn_came(self, ticket: _Ticket, deadline: float) -> bool:
        """Whether a waiting ticket is answered or leads now.

        Raises:
            ConcurrentWrites: not taken into a save by ``deadline``; it is withdrawn.
        """
        with self._mutex:
            if ticket.done or ticket.lead:
                return True
            if not ticket.taken and time.monotonic() > deadline:
                self._queue.remove(ticket)
                raise ConcurrentWrites(
                    f"{self.ledger.province} was too busy to take this posting within "
                    f"{MAX_QUEUED_SECONDS:.0f} s; nothing was written: post again"
                )
        return False

    def _lead(self, own: _Ticket) -> None:
        """Save batches from the head of the queue until our own ticket is answered, then hand
        the lead to the oldest waiting ticket (or, with none, let the next caller lead).

        Bounded: each turn answers at least one of the tickets queued ahead of ours.
        """
        try:
            for _ in range(MAX_WAITING + 1):
                if own.done:
                    break
                with self._mutex:
                    group = self._take()
                self._save_group(group, own)
        finally:
            with self._mutex:
                if self._queue:
                    heir = self._queue[0]
                    heir.lead = True
                    _wake(heir)
                else:
                    self._leading = False

    def _take(self) -> list[_Ticket]:
        """The next batch: the oldest tickets, up to MAX_BATCH, of one ``restate`` flag."""
        assert self._queue
        restate = self._queue[0].restate
        group: list[_Ticket] = []
        for ticket in self._queue[:MAX_BATCH]:
            if ticket.restate is not restate:
                break
            group.append(ticket)
        del self._queue[: len(group)]
        for ticket in group:
            ticket.taken = True
        return group

    def _save_group(self, group: list[_Ticket], own: _Ticket) -> None:
        """Save one batch and answer each of its tickets.

        An error of the batch as a whole (the store failed) is every ticket's answer; the
        leader raises it only for its own ticket, so it never leaves a caller unanswered.
        """
        try:
            with self.exclusive():
                if self.on_batch is not None:
                    self.on_batch(len(group))
                answers = write_group(
                    self.ledger, [t.posting for t in group], restate=group[0].restate
                )
        except BaseException as error:
            with self._mutex:
                for ticket in group:
                    ticket.failure, ticket.done = error, True
                    _wake(ticket)
                if isinstance(error, Exception):
                    return
                if not own.done:  # interrupted: withdraw our own ticket too
                    self._queue.remove(own)
            raise
        with self._mutex:
            for ticket, answer in zip(group, answers, strict=True):
                ticket.answer, ticket.done = answer, True
                _wake(ticket)


class _LoopSignal:
    """Wakes a coroutine waiting on its event loop, from any thread (the leader's)."""

    __slots__ = ("_event", "_loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._event = asyncio.Event()

    def set(self) -> None:
        with suppress(RuntimeError):  # the loop closed (the server stopped): nobody waits
            self._loop.call_soon_threadsafe(self._event.set)

    async def wait(self, timeout: float) -> None:
        """Until set, or at most ``timeout`` seconds."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return


def _retrieve(submitted: asyncio.Future[PostingOutcome]) -> None:
    """Take the outcome of a submission whose caller was cancelled, so that its refusal is
    not reported as never retrieved (it was the caller's, and the caller is gone)."""
    if not submitted.cancelled():
        submitted.exception()


def _wake(ticket: _Ticket) -> None:
    """Wake the ticket's caller if it waits (a leader's own ticket has nobody waiting)."""
    if ticket.ready is not None:
        ticket.ready.set()


def _outcome(answer: Answer | None) -> PostingOutcome:
    """The caller's outcome, or its own refusal raised."""
    if isinstance(answer, DomainError):
        raise answer
    assert answer is not None
    return answer
