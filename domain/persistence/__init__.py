"""Storage adapters: the library's recorders, each extended with the voucher index.

Each province's ledger is its own eventsourcing application named ``ledger_<province>``,
whose tables are ``ledger_<province>_events``, ``_snapshots`` and ``_vouchers``. A save
writes the events and their vouchers in one transaction (``app.save(..., vouchers=[...])``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from domain.vouchers import Voucher

Batches = Sequence[tuple[Sequence[StoredEvent], Sequence[Voucher]]]
"""An import's writes: per batch, its stored events and its vouchers."""

SOUGHT_TOPICS = (
    "fundledger:Fund.Opened",
    "fundledger:Budget.Created",
    "fundledger:PoolYear.Created",
    "fundledger:Settlement.Drafted",
    "fundledger:Seal.Created",
    "fundledger:Seal.Recorded",
    "fundledger:Checkpoint.Created",
    "fundledger:Checkpoint.Recorded",
)
"""The topics of the few events the ledger's readers look up by topic among all the others
(the openings and creations the audit lists, every seal and checkpoint). On PostgreSQL a
partial index holds where these events are: finding a province's 11 openings or its seals
among a million postings reads the index, not the million rows (0.44 s for the seals and
checkpoints of a million-event store, read by a scan, against under a millisecond). The topics
are those of the event classes (topics are forever; a test compares them)."""

VOUCHER_COLUMNS = (
    "fund",
    "reference",
    "digest",
    "line",
    "amount_fen",
    "sub_line",
    "level",
    "county",
    "counterparty",
    "purpose",
    "reverses",
    "fund_version",
)


@runtime_checkable
class VoucherRecorder(Protocol):
    """A recorder that also keeps the voucher index."""

    def select_vouchers(self, fund: str, references: Sequence[str]) -> dict[str, Voucher]:
        """The vouchers of ``fund`` among ``references`` (at most a few thousand a call)."""

    def select_reversal_of(self, fund: str, references: Sequence[str]) -> dict[str, str]:
        """For each of ``references`` already reversed on ``fund``: the reversing reference."""

    def tables_exist(self) -> bool:
        """True once ``fundledger init`` created this partition's tables."""

    def select_chains(self, originator_ids: Sequence[UUID]) -> Iterator[StoredEvent]:
        """The stored events of these aggregates, by id then version, in one read (a
        server-side cursor on PostgreSQL, one ordered query on SQLite): the auditor's walk."""

    def select_events_after(self, after: Mapping[UUID, int], limit: int) -> list[StoredEvent]:
        """The stored events of each aggregate of ``after`` past the version given for it (at
        most ``limit`` of each), by id then version, in one query: a fund cache brought up to
        date after another writer's save."""

    def voucher_versions(self, funds: Sequence[str] | None = None) -> dict[str, dict[str, int]]:
        """Every voucher of the partition (of ``funds`` alone when given): fund, then
        reference, to the version it names."""

    def voucher_funds(self) -> list[str]:
        """Every fund with a voucher in the partition, in order: the auditor's list of funds
        that does not rest on their openings (a fund whose opening was removed is still
        named by its postings' vouchers)."""

    def aggregate_ids(self) -> list[UUID]:
        """The id of every aggregate with an event in the partition, in order (the auditor's
        check that each is accounted for by the event that creates it)."""

    def insert_batches(self, batches: Batches, progress: Callable[[int], None]) -> None:
        """Write every batch in ONE transaction (all or none), calling ``progress(n)`` once the
        first ``n`` batches are sent; a key already taken raises ``IntegrityError``, and
        nothing is written."""


class _SelectsEvents(Protocol):
    def select_events(
        self, originator_id: UUID, *, gt: int | None = None, limit: int | None = None
    ) -> Sequence[StoredEvent]: ...


def events_after_each(
    recorder: _SelectsEvents, after: Mapping[UUID, int], limit: int
) -> list[StoredEvent]:
    """:meth:`VoucherRecorder.select_events_after` by the library's ``select_events``, one
    aggregate at a time: for the stores with no round trip to save (SQLite, in memory)."""
    return [
        event
        for originator_id in sorted(after)
        for event in recorder.select_events(originator_id, gt=after[originator_id], limit=limit)
    ]


def voucher_rows(vouchers: Iterable[Voucher]) -> list[tuple[Any, ...]]:
    """Vouchers as rows in :data:`VOUCHER_COLUMNS` order."""
    return [
        (
            v.fund,
            v.reference,
            v.digest,
            v.line,
            v.amount_fen,
            v.sub_line,
            v.level,
            v.county,
            v.counterparty,
            v.purpose,
            v.reverses,
            v.fund_version,
        )
        for v in vouchers
    ]


def voucher_from_row(row: Sequence[Any]) -> Voucher:
    """A voucher from a row in :data:`VOUCHER_COLUMNS` order."""
    return Voucher(*row)
