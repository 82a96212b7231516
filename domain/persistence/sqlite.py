"""SQLite storage (the embedded default): one file, one set of tables per province."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import AggregateRecorder, ApplicationRecorder, StoredEvent
from eventsourcing.sqlite import (
    SQLiteAggregateRecorder,
    SQLiteApplicationRecorder,
    SQLiteCursor,
    SQLiteDatastore,
    SQLiteFactory,
)

from domain.persistence import (
    VOUCHER_COLUMNS,
    Batches,
    events_after_each,
    voucher_from_row,
    voucher_rows,
)
from domain.vouchers import Voucher

SELECT_CHUNK = 500
"""References per SELECT (SQLite allows 999 parameters by default on old builds)."""


class LedgerSQLiteRecorder(SQLiteApplicationRecorder):
    """The library's SQLite recorder plus the voucher table, written in the same transaction."""

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        self.vouchers_table_name = events_table_name.removesuffix("_events") + "_vouchers"
        super().__init__(datastore, events_table_name)

    def construct_create_table_statements(self) -> list[str]:
        table = self.vouchers_table_name
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {table} ("
            "fund TEXT NOT NULL, reference TEXT NOT NULL, digest TEXT NOT NULL, "
            "line TEXT NOT NULL, amount_fen INTEGER NOT NULL, sub_line TEXT, level TEXT, "
            "county TEXT, counterparty TEXT, "
            "purpose TEXT, reverses TEXT, fund_version INTEGER NOT NULL, "
            "PRIMARY KEY (fund, reference)) WITHOUT ROWID",
            f"CREATE UNIQUE INDEX IF NOT EXISTS {table}_reverses ON {table} (fund, reverses) "
            "WHERE reverses IS NOT NULL",
        ]

    def insert_batches(self, batches: Batches, progress: Callable[[int], None]) -> None:
        """One transaction, an ``executemany`` of vouchers and one of events per batch.

        The file's write lock is taken before ``batches`` is read, as PostgreSQL's recorder
        takes its table lock first: a group-commit batch re-checked while it is read cannot
        then collide with another process (docs/architecture.md, "Group commit"). A no-op
        write takes it (the library's transaction opens with a deferred ``BEGIN``).
        """
        with self.datastore.transaction(commit=True) as c:
            c.execute(f"DELETE FROM {self.vouchers_table_name} WHERE 0")  # noqa: S608
            for done, (stored_events, vouchers) in enumerate(batches, 1):
                self._insert_vouchers(c, vouchers)
                c.executemany(
                    self.insert_events_statement,
                    [
                        (s.originator_id.hex, s.originator_version, s.topic, s.state)  # type: ignore[union-attr]
                        for s in stored_events
                    ],
                )
                progress(done)

    def _insert_vouchers(self, c: SQLiteCursor, vouchers: Sequence[Voucher]) -> None:
        if vouchers:
            marks = ",".join("?" * len(VOUCHER_COLUMNS))
            c.executemany(
                f"INSERT INTO {self.vouchers_table_name} VALUES ({marks})",  # noqa: S608 - our table
                voucher_rows(vouchers),
            )

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        self._insert_vouchers(c, kwargs.get("vouchers", ()))
        return super()._insert_events(c, stored_events, **kwargs)

    def select_vouchers(self, fund: str, references: Sequence[str]) -> dict[str, Voucher]:
        found: dict[str, Voucher] = {}
        columns = ", ".join(VOUCHER_COLUMNS)
        for start in range(0, len(references), SELECT_CHUNK):
            chunk = list(references[start : start + SELECT_CHUNK])
            marks = ",".join("?" * len(chunk))
            with self.datastore.transaction(commit=False) as c:
                c.execute(
                    f"SELECT {columns} FROM {self.vouchers_table_name} "  # noqa: S608 - our table
                    f"WHERE fund = ? AND reference IN ({marks})",
                    [fund, *chunk],
                )
                for row in c.fetchall():
                    found[row["reference"]] = voucher_from_row(tuple(row))
        return found

    def select_reversal_of(self, fund: str, references: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for start in range(0, len(references), SELECT_CHUNK):
            chunk = list(references[start : start + SELECT_CHUNK])
            marks = ",".join("?" * len(chunk))
            with self.datastore.transaction(commit=False) as c:
                c.execute(
                    f"SELECT reverses, reference FROM {self.vouchers_table_name} "  # noqa: S608
                    f"WHERE fund = ? AND reverses IN ({marks})",
                    [fund, *chunk],
                )
                for row in c.fetchall():
                    found[row["reverses"]] = row["reference"]
        return found

    def select_chains(self, originator_ids: Sequence[UUID]) -> Iterator[StoredEvent]:
        wanted = {i.hex for i in originator_ids}
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT originator_id, originator_version, topic, state "  # noqa: S608 - our table
                f"FROM {self.events_table_name} ORDER BY originator_id, originator_version"
            )
            last_text, last_id = "", UUID(int=0)
            for row in iter(c.fetchone, None):
                if row[0] in wanted:
                    if row[0] != last_text:  # one UUID per aggregate: the rows are grouped
                        last_text, last_id = row[0], UUID(row[0])
                    yield StoredEvent(last_id, row[1], row[2], bytes(row[3]))

    def voucher_funds(self) -> list[str]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT DISTINCT fund FROM {self.vouchers_table_name} ORDER BY fund")  # noqa: S608
            return [str(row[0]) for row in c.fetchall()]

    def aggregate_ids(self) -> list[UUID]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT DISTINCT originator_id FROM {self.events_table_name} "  # noqa: S608
                "ORDER BY originator_id"
            )
            return [UUID(row[0]) for row in c.fetchall()]

    def select_events_after(self, after: Mapping[UUID, int], limit: int) -> list[StoredEvent]:
        return events_after_each(self, after, limit)

    def voucher_versions(self, funds: Sequence[str] | None = None) -> dict[str, dict[str, int]]:
        found: dict[str, dict[str, int]] = {}
        wanted = None if funds is None else set(funds)
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT fund, reference, fund_version FROM {self.vouchers_table_name}"  # noqa: S608
            )
            for fund, reference, version in c.fetchall():
                if wanted is None or fund in wanted:
                    found.setdefault(fund, {})[reference] = version
        return found

    def tables_exist(self) -> bool:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?",
                [self.vouchers_table_name],
            )
            row = c.fetchone()
        return bool(row["n"])


class LedgerSQLiteFactory(SQLiteFactory):
    """Names every table after the application (``ledger_<province>_...``)."""

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        recorder = SQLiteAggregateRecorder(
            datastore=self.datastore, events_table_name=f"{self.env.name.lower()}_{purpose}"
        )
        if self.env_create_table():
            recorder.create_table()
        return recorder

    def application_recorder(self) -> ApplicationRecorder:
        recorder = LedgerSQLiteRecorder(
            datastore=self.datastore, events_table_name=f"{self.env.name.lower()}_events"
        )
        if self.env_create_table():
            recorder.create_table()
        return recorder
