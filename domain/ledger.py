"""The ledger service: one eventsourcing application per province, and the commands on it.

A command loads the funds it touches, checks every rule, triggers the events and saves the
funds and their vouchers in one atomic step. Postings of one file are all checked before any
is written (see :meth:`ProvinceLedger.post_many`).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from copy import deepcopy
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal, overload
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import IntegrityError, StoredEvent, Transcoder

from domain.audit import ChainLink, paused_gc, verify_chain
from domain.authorship import Author
from domain.errors import (
    ConcurrentWrites,
    DomainError,
    FundAlreadyRegistered,
    FundNotRegistered,
    PostingRefused,
    ReferenceConflict,
)
from domain.fund import Fund, mirror_reference
from domain.funds import FundId
from domain.lines import MIRROR
from domain.persistence import VoucherRecorder
from domain.persistence.transcoder import FlatStateTranscoder
from domain.postings import Posting, check_posting_shape
from domain.rules import check_pair
from domain.vouchers import Voucher

SNAPSHOT_INTERVAL = 500
"""A fund is snapshotted every this many events, so a cold load replays at most this many."""

FUND_CACHE_SIZE = 5_000
"""Funds kept in memory per province (a province has a few hundred at most)."""

SAVE_RETRIES = 4
"""Attempts of a single posting: the first without looking its reference up, then up to three
when a concurrent writer got there first."""

IMPORT_ATTEMPTS = 3
"""Attempts of one province's import when other writers moved its funds meanwhile."""

MAX_POSTINGS_PER_CALL = 2_000_000
"""The most postings one import may carry (memory: every event is checked before any save)."""


def named_funds(postings: Iterable[Posting]) -> list[UUID]:
    """The funds the postings name (their own and their counterparties), each once."""
    named: dict[UUID, None] = {}
    for p in postings:
        named[p.fund.aggregate_id] = None
        if p.counterparty is not None:
            named[p.counterparty.aggregate_id] = None
    return list(named)


def replay(fund: Any, events: Iterable[Any]) -> Any:
    """The aggregate moved on by its events in order (the library's ``project_aggregate``
    without its per-event runtime protocol check, a tenth of a bulk load's time)."""
    for event in events:
        fund = event.mutate(fund)
    return fund


class ProvinceLedger(Application[UUID]):
    """The ledger of one province: its funds' events, snapshots and vouchers."""

    snapshotting_intervals = {Fund: SNAPSHOT_INTERVAL}  # noqa: RUF012
    env = {  # noqa: RUF012
        "AGGREGATE_CACHE_MAXSIZE": str(FUND_CACHE_SIZE),
        "AGGREGATE_CACHE_FASTFORWARD": "n",
        "DEEPCOPY_FROM_AGGREGATE_CACHE": "y",
    }

    def __init__(self, province: str, env: dict[str, str] | None = None) -> None:
        self.province = province
        self.name = f"ledger_{province}"
        super().__init__(env=env)
        assert isinstance(self.recorder, VoucherRecorder), type(self.recorder)
        self.vouchers: VoucherRecorder = self.recorder
        self.saves_collide = False
        """Whether this process's last shared save of the province met another writer's
        (then the next is staged under the store's lock at once: see domain.shared_save)."""

    def construct_transcoder(self) -> Transcoder:
        """The library's JSON transcoding, with a faster path for flat states (same bytes)."""
        transcoder = FlatStateTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    # ------------------------------------------------------------------ funds

    def open_fund(
        self,
        fund: FundId,
        *,
        first_year: int,
        opening_balance_fen: int,
        name: str,
        author: Author | None = None,
    ) -> tuple[Fund, bool]:
        """Register a fund; a repeat with the same particulars answers the existing fund.

        ``author`` is recorded on the opening (a repeat records nothing, so it keeps the
        author of the first opening).
        """
        assert fund.province == self.province
        existing = self.find_fund(fund)
        if existing is not None:
            same = (
                existing.first_year == first_year
                and existing.opening_balance_fen == opening_balance_fen
                and existing.name == name
            )
            if not same:
                raise FundAlreadyRegistered(
                    f"{fund} is already open (first year {existing.first_year}); "
                    "its particulars cannot be changed",
                    field="fund",
                )
            return existing, False
        new = Fund.open(
            fund,
            first_year=first_year,
            opening_balance_fen=opening_balance_fen,
            name=name,
            author=author,
        )
        try:
            self.save(new)
        except IntegrityError:
            return self.open_fund(
                fund,
                first_year=first_year,
                opening_balance_fen=opening_balance_fen,
                name=name,
                author=author,
            )
        return new, True

    def find_fund(self, fund: FundId) -> Fund | None:
        """The fund, or None when it was never opened."""
        try:
            found: object = self.repository.get(fund.aggregate_id, projector_func=replay)
        except AggregateNotFoundError:
            return None
        assert isinstance(found, Fund)
        return found

    def fund_events(self, fund: FundId) -> Iterator[DomainEventProtocol[UUID]]:
        """Every event of the fund, in order."""
        return iter(self.events.get(fund.aggregate_id))

    def close_year(
        self, fund: FundId, year: int, *, today: date, author: Author | None = None
    ) -> Fund:
        """Approve a fund's final accounts for a year."""
        return self._command(fund, lambda f: f.close_year(year, today=today, author=author))

    def record_enrolment(
        self,
        fund: FundId,
        year: int,
        county: str,
        enrolled: int,
        *,
        correct: bool = False,
        author: Author | None = None,
    ) -> Fund:
        """Record a county's enrolment for a year on the fund that pools it (the same figure
        again records nothing; another one only as a correction)."""

        def command(found: Fund) -> None:
            found.record_enrolment(year, county, enrolled, correct=correct, author=author)

        return self._command(fund, command)

    def _command(self, fund_id: FundId, command: Callable[[Fund], None]) -> Fund:
        for attempt in range(SAVE_RETRIES):
            fund = self.find_fund(fund_id)
            if fund is None:
                raise FundNotRegistered(f"{fund_id} is not registered", field="fund")
            command(fund)
            try:
                self.save(fund)
            except IntegrityError:
                self.forget_cached([fund.id])
                if attempt == SAVE_RETRIES - 1:
                    raise
                continue
            return fund
        raise AssertionError("unreachable")

    def chain(self, fund: FundId) -> list[ChainLink]:
        """The fund's stored events, each checked against the hash chain.

        The stored rows are read as they are, without replaying the fund, so that an event
        removed, changed or no longer decodable is reported as a finding on its version
        rather than stopping the check.

        Raises:
            FundNotRegistered: no event was ever stored for the fund.
        """
        stored = self.recorder.select_events(fund.aggregate_id)
        if not stored:
            raise FundNotRegistered(f"{fund} is not registered", field="fund")
        return verify_chain(stored, self.mapper.to_domain_event)

    def chains(self, funds: Sequence[FundId]) -> dict[str, list[ChainLink]]:
        """The chains of ``funds`` (by name; a fund with no event left has none), checked as
        :meth:`chain` checks one, from one ordered read of the province's events."""
        with paused_gc():
            return dict(self.walk_chains(funds))

    def walk_chains(self, funds: Sequence[FundId]) -> Iterator[tuple[str, list[ChainLink]]]:
        """Each of ``funds`` that has events, by name with its chain (checked as :meth:`chain`
        checks one), in the order read, from one ordered read of the province's events: a
        walk that keeps what it needs of each fund and drops the rest holds one fund's events
        at a time, not the province's."""
        names = {f.aggregate_id: str(f) for f in funds}
        rows = self.vouchers.select_chains(list(names))
        for originator_id, stored in itertools.groupby(rows, key=lambda s: s.originator_id):
            yield names[originator_id], verify_chain(stored, self.mapper.to_domain_event)

    def bring_up_to_date(self, fund_ids: Iterable[UUID]) -> bool:
        """Move each cached fund on by the events stored since it was cached (one query).

        After a save collided, another writer (usually another process's batch) had added a
        few events: replaying only those keeps the retry cheap, where a reload replays up to a
        snapshot interval of events. A fund further behind than that is dropped from the
        cache, to be loaded from its snapshot. Answers whether any moved.
        """
        cache = self.repository.cache
        if cache is None:
            return False
        cached: dict[UUID, Any] = {}
        for fund_id in fund_ids:
            with contextlib.suppress(KeyError):  # not cached: read from the store when staged
                cached[fund_id] = cache.get(fund_id)
        stored = self.vouchers.select_events_after(
            {fund_id: fund.version for fund_id, fund in cached.items()}, SNAPSHOT_INTERVAL + 1
        )
        to_event = self.mapper.to_domain_event
        for fund_id, rows in itertools.groupby(stored, key=lambda s: s.originator_id):
            newer = [to_event(row) for row in rows]
            if len(newer) > SNAPSHOT_INTERVAL:
                self.forget_cached([fund_id])
            else:
                cache.put(fund_id, replay(deepcopy(cached[fund_id]), newer))
        return bool(stored)

    def forget_cached(self, ids: Iterable[UUID]) -> None:
        """Drop funds from the cache (after a failed save, another writer moved them on)."""
        cache = self.repository.cache
        if cache is None:
            return
        for aggregate_id in ids:
            with contextlib.suppress(KeyError):
                cache.get(aggregate_id, evict=True)

    # --------------------------------------------------------------- postings

    def post(self, posting: Posting, *, restate: bool = False) -> PostingOutcome:
        """Post one posting in one save; a retry of the same content is a duplicate.

        The first attempt does not look the reference up: it saves, and the voucher's key
        refuses a reference already posted. Only then (or when a cached fund was behind) is
        the posting checked again with its voucher looked up, to answer "duplicate" or
        refuse other content. A reversal looks its original up from the start.

        Raises:
            ConcurrentWrites: other writers kept moving the same funds.
        """
        for attempt in range(SAVE_RETRIES):
            optimistic = attempt == 0 and posting.reverses is None
            batch = _Batch(self, [posting], restate=restate, look_up=not optimistic)
            outcome = batch.stage(0, posting)
            if outcome.status == "duplicate":
                return outcome
            try:
                self._save_staged(batch)
            except IntegrityError:
                self.forget_cached(f.id for f in batch.funds.values())
                continue
            return outcome
        raise ConcurrentWrites(
            f"other writers kept changing {posting.fund} during {SAVE_RETRIES} attempts; "
            "nothing was written: post again"
        )

    def _save_staged(self, batch: _Batch) -> None:
        """The library's ``save`` for a batch's staged events, in one save.

        As ``save`` does: record, cache the funds, notify. Unlike it: no runtime protocol check
        per object, and the funds that passed a snapshot boundary are snapshotted as they are
        in memory (:meth:`_snapshot_passed`) instead of replayed from the store.
        """
        processing: ProcessingEvent[UUID] = ProcessingEvent()
        processing.events.extend(e for row_events, _ in batch.staged_events() for e in row_events)
        processing.aggregates.update((f.id, f) for f in batch.funds.values())
        processing.saved_kwargs["vouchers"] = batch.new_vouchers
        recordings = self._record(processing)
        self._snapshot_passed(batch)
        self._notify(recordings)

    def post_atomically(
        self, postings: Sequence[Posting], extra_aggregates: Sequence[Any]
    ) -> list[PostingOutcome]:
        """Post every posting and save the other aggregates' pending events in one save.

        All or nothing: a refused posting raises before anything is written, and a concurrent
        writer makes the one save fail (``IntegrityError``, the caller may start again).
        """
        batch = _Batch(self, postings)
        try:
            outcomes = [batch.stage(index, p) for index, p in enumerate(postings)]
        except DomainError:
            self.forget_cached(f.id for f in batch.funds.values())
            raise
        events = [e for row_events, _ in batch.staged_events() for e in row_events]
        funds = list(batch.funds.values())
        try:
            self.save(*events, *funds, *extra_aggregates, vouchers=batch.new_vouchers)
        except IntegrityError:
            self.forget_cached([*(f.id for f in funds), *(a.id for a in extra_aggregates)])
            raise
        return outcomes

    def check_many(
        self, postings: Sequence[Posting], *, restate: bool = False, author: Author | None = None
    ) -> tuple[_Batch, list[RowError]]:
        """Stage every posting in memory, in order; answer the staged batch and every error.

        ``author`` is recorded on the postings that name no author of their own.
        """
        if len(postings) > MAX_POSTINGS_PER_CALL:
            raise PostingRefused(f"at most {MAX_POSTINGS_PER_CALL} postings at once")
        batch = _Batch(self, postings, restate=restate, author=author)
        errors: list[RowError] = []
        for index, posting in enumerate(postings):
            try:
                batch.stage(index, posting)
            except DomainError as error:
                errors.append(RowError(index, error))
        return batch, errors

    def write_batch(
        self, batch: _Batch, *, chunk: int, progress: Callable[[int], None]
    ) -> tuple[_Batch, list[RowError]]:
        """Write a checked batch all or none: one transaction, statements of ``chunk`` postings.

        When another writer moved one of its funds (or took one of its references) after the
        batch was checked, the transaction fails on a key and writes nothing: the write is tried
        again, at most :data:`IMPORT_ATTEMPTS` times, and every posting is checked again
        against the funds as stored *inside* that transaction, once the store's write lock is
        held (:class:`_CheckedUnderLock`), so that no other writer, in any process, can move a
        fund between the check and the write (on PostgreSQL such a retry cannot collide). A
        posting the other writer already made counts as a duplicate then, or is refused like
        any other. Answers the batch as written, or
        the refusals of the last check (nothing written).

        While the province's saves collide (:attr:`saves_collide`: this process's last one
        met another process's), the first write is not tried: the batch is checked and
        written under the lock at once.

        Raises:
            ConcurrentWrites: the funds kept moving; nothing was written.
        """
        if not self.saves_collide:
            try:
                self._write_all_or_none(batch, chunk=chunk, progress=progress)
            except IntegrityError:
                self.saves_collide = True  # the cache keeps the funds as stored: see below
            else:
                self._after_bulk_write(batch)
                return batch, []
        return self.write_under_lock(
            batch.postings,
            restate=batch.restate,
            author=batch.author,
            stale=[f.id for f in batch.funds.values()],
            chunk=chunk,
            progress=progress,
        )

    def write_under_lock(
        self,
        postings: Sequence[Posting],
        *,
        restate: bool,
        author: Author | None,
        stale: Sequence[UUID],
        chunk: int,
        progress: Callable[[int], None],
        attempts: int = IMPORT_ATTEMPTS - 1,
    ) -> tuple[_Batch, list[RowError]]:
        """Check and write postings all or none inside one transaction, once it holds the
        store's write lock: the ``stale`` funds brought up to date first (see
        :class:`_CheckedUnderLock`); at most ``attempts`` transactions. Answers as
        :meth:`write_batch`.

        Raises:
            ConcurrentWrites: the funds kept moving (SQLite across processes); nothing was
                written.
        """
        for _ in range(attempts):
            locked = _CheckedUnderLock(
                self, postings, restate=restate, author=author, stale=stale, chunk=chunk
            )
            try:
                self.vouchers.insert_batches(locked, locked.reporter(progress))
            except _RefusedUnderLock:
                assert locked.batch is not None
                return locked.batch, locked.errors
            except IntegrityError:  # a store without a table lock (SQLite across processes)
                stale = [*stale, *locked.fund_ids()]
                continue
            assert locked.batch is not None
            progress(len(locked.batch.postings))
            self._after_bulk_write(locked.batch)
            self.saves_collide = locked.moved
            return locked.batch, []
        raise ConcurrentWrites(
            f"other writers kept changing the same funds of {self.province} during "
            f"{IMPORT_ATTEMPTS} attempts; nothing of {self.province} was written: "
            "run the import again"
        )

    def _write_all_or_none(
        self, batch: _Batch, *, chunk: int, progress: Callable[[int], None]
    ) -> None:
        """Every staged event and voucher in one transaction, in statements of ``chunk`` rows."""
        batches, done_at = self._rows_of(batch, chunk)
        if batches:
            self.vouchers.insert_batches(batches, lambda n: progress(done_at[n - 1]))
        progress(len(batch.staged_events()))

    def _rows_of(self, batch: _Batch, chunk: int) -> tuple[list[Rows], list[int]]:
        """The batch's stored events and vouchers in statements of ``chunk`` postings, and
        after each statement the number of postings it completes."""
        to_stored = self.mapper.to_stored_event
        batches: list[Rows] = []
        done_at: list[int] = []
        events: list[StoredEvent] = []
        vouchers: list[Voucher] = []
        staged = batch.staged_events()
        for done, (posting_events, voucher) in enumerate(staged, 1):
            events.extend(to_stored(e) for e in posting_events)
            if voucher is not None:
                vouchers.append(voucher)
            if done % chunk == 0 or done == len(staged):
                if events:
                    batches.append((events, vouchers))
                    done_at.append(done)
                events, vouchers = [], []
        return batches, done_at

    def _after_bulk_write(self, batch: _Batch) -> None:
        """Cache the written funds and snapshot those that passed a snapshot boundary."""
        cache = self.repository.cache
        if cache is not None:
            for fund in batch.funds.values():
                cache.put(fund.id, fund)
        self._snapshot_passed(batch)

    def _snapshot_passed(self, batch: _Batch) -> None:
        """Snapshot each written fund whose version passed a multiple of the snapshot interval.

        The funds in memory are exactly what was written (their events were collected when
        staged), so they are snapshotted as they are, without reading their history back.
        """
        if self.snapshots is None:
            return
        taken = [
            Fund.Snapshot.take(fund)
            for fund in batch.funds.values()
            if fund.version // SNAPSHOT_INTERVAL * SNAPSHOT_INTERVAL
            > batch.loaded_versions[fund.id]
        ]
        if taken:
            self.snapshots.put(taken)


Rows = tuple[list[StoredEvent], list[Voucher]]
"""One statement of a bulk write: stored events and their vouchers."""


class _RefusedUnderLock(Exception):
    """Raised inside a bulk write's transaction when its re-check refused postings: the
    transaction rolls back, writing nothing."""


class _CheckedUnderLock(Sequence[Rows]):
    """An import's rows, checked again when the recorder first reads them.

    The recorders' ``insert_batches`` open their transaction and take the store's write lock
    before they read their first statement (the events table's lock on PostgreSQL, the file's
    on SQLite): the funds are then reloaded and every posting checked while no other writer
    of the province can write. Refused postings raise :class:`_RefusedUnderLock`, which rolls
    the transaction back. Read once: the rows are kept however often the recorder reads them.
    """

    def __init__(
        self,
        ledger: ProvinceLedger,
        postings: Sequence[Posting],
        *,
        restate: bool,
        author: Author | None,
        stale: Sequence[UUID],
        chunk: int,
    ) -> None:
        self._ledger = ledger
        self._postings = postings
        self._restate = restate
        self._author = author
        self._stale = stale
        self._chunk = chunk
        self._rows: list[Rows] | None = None
        self.batch: _Batch | None = None
        self.errors: list[RowError] = []
        self.done_at: list[int] = []
        self.moved = False
        """Whether another writer had moved a stale fund since this process cached it."""

    def reporter(self, progress: Callable[[int], None]) -> Callable[[int], None]:
        """The recorder's "statement N written" as postings done, for ``progress``."""
        return lambda n: progress(self.done_at[n - 1])

    def fund_ids(self) -> list[UUID]:
        """The funds the re-check loaded (none if it was never read)."""
        return [] if self.batch is None else [f.id for f in self.batch.funds.values()]

    def _staged(self) -> list[Rows]:
        if self._rows is None:
            self.moved = self._ledger.bring_up_to_date(self._stale)
            batch, self.errors = self._ledger.check_many(
                self._postings, restate=self._restate, author=self._author
            )
            self.batch = batch
            if self.errors:
                raise _RefusedUnderLock
            self._rows, self.done_at = self._ledger._rows_of(batch, self._chunk)
        return self._rows

    def __len__(self) -> int:
        return len(self._staged())

    @overload
    def __getitem__(self, index: int) -> Rows: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Rows]: ...

    def __getitem__(self, index: int | slice) -> Rows | Sequence[Rows]:
        return self._staged()[index]


@dataclass(frozen=True)
class PostingOutcome:
    """What became of one posting."""

    status: Literal["posted", "duplicate"]
    voucher: Voucher


@dataclass(frozen=True)
class RowError:
    """A posting the ledger refused, by its position in the request."""

    index: int
    error: DomainError


@dataclass
class _Batch:
    """Funds and vouchers of one request, staged in memory before anything is saved."""

    ledger: ProvinceLedger
    postings: Sequence[Posting]
    restate: bool = False
    look_up: bool = True
    """Look the postings' references up before staging (False: the voucher key decides)."""
    author: Author | None = None
    """Recorded on the events of a posting that names no author of its own."""
    funds: dict[FundId, Fund] = field(default_factory=dict)
    missing: set[FundId] = field(default_factory=set)
    known: dict[tuple[FundId, str], Voucher] = field(default_factory=dict)
    reversed_by: dict[tuple[FundId, str], str] = field(default_factory=dict)
    new_vouchers: list[Voucher] = field(default_factory=list)
    loaded_versions: dict[UUID, int] = field(default_factory=dict)
    _events_by_row: list[tuple[list[Any], Voucher | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._preload()

    def _preload(self) -> None:
        """Load, once per request, every fund and voucher the postings name."""
        refs: dict[FundId, set[str]] = {}
        targets: dict[FundId, set[str]] = {}
        for p in self.postings:
            self._ensure_loaded(p.fund)
            self._ensure_loaded(p.counterparty)
            refs.setdefault(p.fund, set()).add(p.reference)
            if p.reverses is not None:
                refs[p.fund].add(p.reverses)
                targets.setdefault(p.fund, set()).add(p.reverses)
        if not self.look_up:
            assert all(p.reverses is None for p in self.postings)
            return
        for fund, references in self._loaded_only(refs):
            found = self.ledger.vouchers.select_vouchers(str(fund), references)
            self.known.update(((fund, ref), voucher) for ref, voucher in found.items())
        for p in self.postings:
            original = self.known.get((p.fund, p.reverses)) if p.reverses else None
            if original is not None and original.counterparty is not None:
                self._ensure_loaded(FundId.parse(original.counterparty))
        for fund, references in self._loaded_only(targets):
            reversals = self.ledger.vouchers.select_reversal_of(str(fund), references)
            self.reversed_by.update(((fund, target), by) for target, by in reversals.items())

    def _loaded_only(self, refs: dict[FundId, set[str]]) -> Iterator[tuple[FundId, list[str]]]:
        for fund, references in refs.items():
            if fund in self.funds:
                yield fund, sorted(references)

    def _ensure_loaded(self, fund: FundId | None) -> None:
        if fund is not None and fund not in self.funds and fund not in self.missing:
            self._load_fund(fund)

    def _load_fund(self, fund: FundId) -> None:
        if fund.province != self.ledger.province:
            self.missing.add(fund)
            return
        found = self.ledger.find_fund(fund)
        if found is None:
            self.missing.add(fund)
            return
        self.funds[fund] = found
        self.loaded_versions[found.id] = found.version

    def fund(self, fund: FundId, field_name: str) -> Fund:
        """A fund the batch touches, or a refusal naming the field that named it."""
        try:
            return self.funds[fund]
        except KeyError:
            raise FundNotRegistered(
                f"{fund} is not registered: open it first with 'fundledger funds open'",
                field=field_name,
            ) from None

    def stage(self, index: int, posting: Posting) -> PostingOutcome:
        """Check one posting against the staged state and trigger its events."""
        check_posting_shape(posting)
        fund = self.fund(posting.fund, "fund")
        key = (posting.fund, posting.reference)
        digest = posting.digest()
        existing = self.known.get(key)
        if existing is not None:
            if existing.digest == digest:
                self._events_by_row.append(([], None))
                return PostingOutcome("duplicate", existing)
            raise _reference_conflict(posting)
        touched = self._trigger(fund, posting)
        voucher = Voucher(
            fund=str(posting.fund),
            reference=posting.reference,
            digest=digest,
            line=posting.line.value,
            amount_fen=posting.amount_fen,
            sub_line=posting.sub_line,
            level=posting.level.value if posting.level else None,
            county=posting.county,
            counterparty=str(posting.counterparty) if posting.counterparty else None,
            purpose=posting.purpose.value if posting.purpose else None,
            reverses=posting.reverses,
            fund_version=fund.version,
        )
        if posting.reverses is not None:
            voucher = _with_original(voucher, self.known[(posting.fund, posting.reverses)])
            self.reversed_by[(posting.fund, posting.reverses)] = posting.reference
        self.known[key] = voucher
        self.new_vouchers.append(voucher)
        self._events_by_row.append(([e for f in touched for e in _take_last(f)], voucher))
        return PostingOutcome("posted", voucher)

    def _trigger(self, fund: Fund, posting: Posting) -> list[Fund]:
        if posting.reverses is not None:
            return self._trigger_reversal(fund, posting)
        fund.check_can_post(posting.value_date, restate=self.restate)
        author = posting.author or self.author
        if posting.counterparty is None:
            fund.post(posting, restate=self.restate, author=author)
            return [fund]
        check_pair(posting.line, posting.purpose, posting.fund, posting.counterparty)
        other = self.fund(posting.counterparty, "counterparty")
        other.check_can_post(posting.value_date, restate=self.restate)
        fund.post(posting, restate=self.restate, author=author)
        other.receive(posting, restate=self.restate, author=author)
        return [fund, other]

    def _trigger_reversal(self, fund: Fund, posting: Posting) -> list[Fund]:
        assert posting.reverses is not None
        original = self.known.get((posting.fund, posting.reverses))
        _check_reversal(posting, original, self.reversed_by.get((posting.fund, posting.reverses)))
        assert original is not None
        fund.check_can_post(posting.value_date, restate=self.restate)
        author = posting.author or self.author
        if original.counterparty is None:
            fund.reverse(
                posting.reference,
                original,
                posting.value_date,
                posting.memo,
                restate=self.restate,
                author=author,
            )
            return [fund]
        counterparty = FundId.parse(original.counterparty)
        other = self.fund(counterparty, "reverses")
        other.check_can_post(posting.value_date, restate=self.restate)
        fund.reverse(
            posting.reference,
            original,
            posting.value_date,
            posting.memo,
            restate=self.restate,
            author=author,
        )
        mirror = Voucher(
            fund=original.counterparty,
            reference=mirror_reference(posting.fund, original.reference),
            digest=original.digest,
            line=MIRROR[posting.line].value,
            amount_fen=original.amount_fen,
            sub_line=original.sub_line,
            level=original.level,
            county=original.county,
            counterparty=str(posting.fund),
            purpose=original.purpose,
            reverses=None,
            fund_version=0,
        )
        mirror_ref = mirror_reference(posting.fund, posting.reference)
        other.reverse(
            mirror_ref,
            mirror,
            posting.value_date,
            posting.memo,
            restate=self.restate,
            author=author,
        )
        return [fund, other]

    def staged_events(self) -> list[tuple[list[Any], Voucher | None]]:
        """Per posting, in order: the events it triggered and its voucher (None: duplicate)."""
        return self._events_by_row


def _take_last(fund: Fund) -> list[Any]:
    """Move the fund's pending events out (they are saved per chunk, not per aggregate)."""
    return list(fund.collect_events())


def _with_original(voucher: Voucher, original: Voucher) -> Voucher:
    """A reversal's voucher keeps the counterparty and purpose of the posting it undoes."""
    return replace(voucher, counterparty=original.counterparty, purpose=original.purpose)


def _reference_conflict(posting: Posting) -> DomainError:
    return ReferenceConflict(
        f"reference {posting.reference!r} was already posted on {posting.fund} with other "
        "content; a correction is a new posting that reverses it",
        field="reference",
    )


def _check_reversal(posting: Posting, original: Voucher | None, reversed_by: str | None) -> None:
    """A reversal names an earlier posting of the same fund, line and amount, once only."""
    if original is None:
        raise PostingRefused(
            f"there is no posting {posting.reverses!r} on {posting.fund} to reverse",
            field="reverses",
        )
    if original.is_reversal:
        raise PostingRefused(
            f"{posting.reverses!r} is itself a reversal and cannot be reversed; post anew",
            field="reverses",
        )
    if reversed_by is not None:
        raise PostingRefused(
            f"{posting.reverses!r} was already reversed by {reversed_by!r}", field="reverses"
        )
    if original.line != posting.line.value:
        raise PostingRefused(
            f"a reversal repeats the line of the posting it undoes ({original.line})",
            field="line",
        )
    if original.amount_fen != posting.amount_fen:
        raise PostingRefused(
            "a reversal repeats the amount of the posting it undoes", field="amount"
        )
    given = {
        "sub_line": posting.sub_line,
        "level": posting.level.value if posting.level else None,
        "county": posting.county,
    }
    for name, value in given.items():
        if value is not None and value != getattr(original, name):
            raise PostingRefused(
                f"a reversal's {name} is that of the posting it undoes "
                f"({getattr(original, name)}) or left empty",
                field=name,
            )
