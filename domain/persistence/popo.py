"""In-memory storage (unit tests): the library's POPO recorder with the voucher index."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, IntegrityError, StoredEvent
from eventsourcing.popo import POPOApplicationRecorder, POPOFactory

from domain.persistence import Batches, events_after_each
from domain.vouchers import Voucher


class LedgerPOPORecorder(POPOApplicationRecorder):
    """Keeps vouchers in dicts, checked and written under the recorder's lock."""

    def __init__(self) -> None:
        super().__init__()
        self._vouchers: dict[tuple[str, str], Voucher] = {}
        self._reversals: dict[tuple[str, str], str] = {}

    def _assert_uniqueness(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        super()._assert_uniqueness(stored_events, **kwargs)
        keys: set[tuple[str, str]] = set()
        reversed_keys: set[tuple[str, str]] = set()
        for v in kwargs.get("vouchers", ()):
            key = (v.fund, v.reference)
            if key in self._vouchers or key in keys:
                raise IntegrityError(f"voucher {key} already recorded")
            keys.add(key)
            if v.reverses is not None:
                rkey = (v.fund, v.reverses)
                if rkey in self._reversals or rkey in reversed_keys:
                    raise IntegrityError(f"voucher {rkey} already reversed")
                reversed_keys.add(rkey)

    def _update_table(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._update_table(stored_events, **kwargs)
        for v in kwargs.get("vouchers", ()):
            self._vouchers[(v.fund, v.reference)] = v
            if v.reverses is not None:
                self._reversals[(v.fund, v.reverses)] = v.reference
        return ids

    def select_vouchers(self, fund: str, references: Sequence[str]) -> dict[str, Voucher]:
        with self._database_lock:
            return {r: self._vouchers[(fund, r)] for r in references if (fund, r) in self._vouchers}

    def select_reversal_of(self, fund: str, references: Sequence[str]) -> dict[str, str]:
        with self._database_lock:
            return {
                r: self._reversals[(fund, r)] for r in references if (fund, r) in self._reversals
            }

    def tables_exist(self) -> bool:
        return True

    def select_chains(self, originator_ids: Sequence[UUID]) -> Iterator[StoredEvent]:
        for originator_id in sorted(originator_ids):
            yield from self.select_events(originator_id)

    def select_events_after(self, after: Mapping[UUID, int], limit: int) -> list[StoredEvent]:
        return events_after_each(self, after, limit)

    def voucher_versions(self, funds: Sequence[str] | None = None) -> dict[str, dict[str, int]]:
        found: dict[str, dict[str, int]] = {}
        wanted = None if funds is None else set(funds)
        with self._database_lock:
            for (fund, reference), voucher in self._vouchers.items():
                if wanted is None or fund in wanted:
                    found.setdefault(fund, {})[reference] = voucher.fund_version
        return found

    def voucher_funds(self) -> list[str]:
        with self._database_lock:
            return sorted({fund for fund, _ in self._vouchers})

    def aggregate_ids(self) -> list[UUID]:
        with self._database_lock:
            return sorted(UUID(i) for i, versions in self._stored_events_index.items() if versions)

    def insert_batches(self, batches: Batches, progress: Callable[[int], None]) -> None:
        """One insert under the recorder's lock: checked whole, then written whole."""
        self.insert_events(
            [s for events, _ in batches for s in events],
            vouchers=[v for _, vouchers in batches for v in vouchers],
        )
        for done in range(1, len(batches) + 1):
            progress(done)


class LedgerPOPOFactory(POPOFactory):
    """In-memory factory whose application recorder keeps vouchers."""

    def application_recorder(self) -> ApplicationRecorder:
        return LedgerPOPORecorder()
