"""PostgreSQL storage: one set of tables per province, in the schema the settings name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
)
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from domain.persistence import VOUCHER_COLUMNS, voucher_from_row, voucher_rows
from domain.vouchers import Voucher

SELECT_CHUNK = 10_000
"""References per SELECT."""

_COLUMN_TYPES = (
    "text",
    "text",
    "text",
    "text",
    "bigint",
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
    "bigint",
)


class LedgerPostgresRecorder(PostgresApplicationRecorder):
    """The library's PostgreSQL recorder plus the voucher table, in the same transaction."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        self.vouchers_table_name = events_table_name.removesuffix("_events") + "_vouchers"
        self.check_identifier_length(self.vouchers_table_name + "_reverses")
        schema, table = Identifier(self.datastore.schema), Identifier(self.vouchers_table_name)
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {schema}.{table} ("
                "fund text NOT NULL, reference text NOT NULL, digest text NOT NULL, "
                "line text NOT NULL, amount_fen bigint NOT NULL, sub_line text, level text, "
                "county text, counterparty text, "
                "purpose text, reverses text, fund_version bigint NOT NULL, "
                "PRIMARY KEY (fund, reference))"
            ).format(schema=schema, table=table)
        )
        self.sql_create_statements.append(
            SQL(
                "CREATE UNIQUE INDEX IF NOT EXISTS {index} ON {schema}.{table} "
                "(fund, reverses) WHERE reverses IS NOT NULL"
            ).format(
                index=Identifier(self.vouchers_table_name + "_reverses"), schema=schema, table=table
            )
        )
        unnest = SQL(", ").join(SQL("%s::{}[]").format(SQL(t)) for t in _COLUMN_TYPES)
        self.insert_vouchers_statement = SQL(
            "INSERT INTO {schema}.{table} SELECT * FROM unnest({unnest})"
        ).format(schema=schema, table=table, unnest=unnest)
        self.select_vouchers_statement = SQL(
            "SELECT {columns} FROM {schema}.{table} WHERE fund = %s AND reference = ANY(%s)"
        ).format(
            columns=SQL(", ").join(Identifier(c) for c in VOUCHER_COLUMNS),
            schema=schema,
            table=table,
        )
        self.copy_vouchers_statement = SQL("COPY {schema}.{table} ({columns}) FROM STDIN").format(
            schema=schema,
            table=table,
            columns=SQL(", ").join(Identifier(c) for c in VOUCHER_COLUMNS),
        )
        self.copy_events_statement = SQL(
            "COPY {schema}.{table} (originator_id, originator_version, topic, state) FROM STDIN"
        ).format(schema=schema, table=Identifier(self.events_table_name))
        self.select_reversals_statement = SQL(
            "SELECT reverses, reference FROM {schema}.{table} "
            "WHERE fund = %s AND reverses = ANY(%s)"
        ).format(schema=schema, table=table)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The library's insert, or with ``bulk=True`` a COPY of vouchers and events.

        The bulk path keeps the library's table lock (so notification ids are issued in
        commit order) and its NOTIFY, in one transaction; it answers no notification ids.
        """
        if not kwargs.get("bulk"):
            ids: Sequence[int] | None = super().insert_events(stored_events, **kwargs)
            return ids
        with self.datastore.transaction(commit=True) as curs:
            self._lock_table(curs)
            self._notify_channel(curs)
            with curs.copy(self.copy_vouchers_statement) as copy:
                for row in voucher_rows(kwargs.get("vouchers", ())):
                    copy.write_row(row)
            with curs.copy(self.copy_events_statement) as copy:
                for s in stored_events:
                    copy.write_row((s.originator_id, s.originator_version, s.topic, s.state))
        return None

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        vouchers = kwargs.get("vouchers", ())
        if vouchers:
            columns = list(zip(*voucher_rows(vouchers), strict=True))
            curs.execute(self.insert_vouchers_statement, [list(c) for c in columns])
        super()._insert_events(curs, stored_events, **kwargs)

    def select_vouchers(self, fund: str, references: Sequence[str]) -> dict[str, Voucher]:
        found: dict[str, Voucher] = {}
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            for start in range(0, len(references), SELECT_CHUNK):
                chunk = list(references[start : start + SELECT_CHUNK])
                curs.execute(self.select_vouchers_statement, [fund, chunk], prepare=True)
                for row in curs.fetchall():
                    found[row["reference"]] = voucher_from_row([row[c] for c in VOUCHER_COLUMNS])
        return found

    def select_reversal_of(self, fund: str, references: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            for start in range(0, len(references), SELECT_CHUNK):
                chunk = list(references[start : start + SELECT_CHUNK])
                curs.execute(self.select_reversals_statement, [fund, chunk], prepare=True)
                found.update((row["reverses"], row["reference"]) for row in curs.fetchall())
        return found

    def tables_exist(self) -> bool:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                "SELECT to_regclass(%s) AS t",
                [f"{self.datastore.schema or 'public'}.{self.vouchers_table_name}"],
            )
            row = curs.fetchone()
        return row is not None and row["t"] is not None


class LedgerPostgresFactory(PostgresFactory):
    """The library's PostgreSQL factory with the voucher-keeping application recorder."""

    application_recorder_class = LedgerPostgresRecorder
