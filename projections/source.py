"""Where the projections read the event log from.

On SQLite and PostgreSQL the log is read with one SQL query per batch from the province's
events table, on the projection's own connection (the library's notification log, read
directly, without building event objects). In memory it is read through the ledger's
applications.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol
from uuid import UUID

from domain.ledger_service import Ledger
from projections.db import ProjectionDB
from projections.decode import RawNotification

MISSING_RECHECK_SECONDS = 0.5
"""How often a source looks again for the events tables it did not find."""


class EventSource(Protocol):
    """A province's event log, in notification order."""

    def read(self, province: str, after: int, limit: int) -> list[RawNotification]:
        """At most ``limit`` notifications with an id above ``after``, in order."""

    def head(self, province: str) -> int:
        """The highest notification id of the province (0 when none)."""

    def heads(self, provinces: Sequence[str]) -> dict[str, int]:
        """:meth:`head` of each province, in one query where the store allows."""

    def fund_head(self, province: str, aggregate: UUID) -> int:
        """The notification id of the last event of one aggregate (a fund) of the province
        (0 when it has none): a read of that fund alone needs the log applied up to it, not
        up to the province's head. Never above :meth:`head`."""

    def close(self) -> None:
        """Release the source's connection, if it has one."""


def events_table(province: str) -> str:
    """The library's events table of a province's ledger application."""
    assert province.isdigit(), province
    return f"ledger_{province}_events"


class SqlEventSource:
    """Reads the events tables on the projection's connection."""

    def __init__(self, db: ProjectionDB) -> None:
        self._db = db
        self._missing: set[str] = set()
        """Provinces whose events table was not there when last looked for: looked for again,
        all in one query, once :data:`MISSING_RECHECK_SECONDS` have passed (a server started
        before ``fundledger init`` sees the tables made after it)."""
        self._missing_since = 0.0
        self._present: set[str] = set()
        """Provinces whose events table was found: not looked for again (a background
        projector's pass asks for the heads many times a second), unless a read of it
        fails (:meth:`_reading`)."""

    def _exists(self, province: str) -> bool:
        if province in self._present:
            return True
        now = time.monotonic()
        if province in self._missing:
            if now - self._missing_since < MISSING_RECHECK_SECONDS:
                return False
            self._look_for(sorted(self._missing))
            self._missing_since = now
        else:
            if not self._missing:
                self._missing_since = now
            self._look_for([province])
        return province in self._present

    def _look_for(self, provinces: list[str]) -> None:
        """Which of these provinces' events tables exist now, in one query."""
        tables = [events_table(p) for p in provinces]
        if self._db.dialect == "sqlite":
            marks = ", ".join(["%s"] * len(tables))
            sql = (
                "SELECT name FROM sqlite_master "  # noqa: S608 - placeholders only
                f"WHERE type = 'table' AND name IN ({marks})"
            )
            rows = self._db.query(sql, tables)
        else:
            sql = "SELECT t FROM unnest(%s::text[]) AS t WHERE to_regclass(t) IS NOT NULL"
            rows = self._db.query(sql, (tables,))
        found = {str(row[0]) for row in rows}
        for province, table in zip(provinces, tables, strict=True):
            if table in found:
                self._present.add(province)
                self._missing.discard(province)
            else:
                self._missing.add(province)

    @contextmanager
    def _reading(self, provinces: Sequence[str]) -> Iterator[None]:
        """A read of these provinces' tables; if it fails, their tables are looked for again
        next time (one may have been dropped)."""
        try:
            yield
        except Exception:
            self._present.difference_update(provinces)
            raise

    def read(self, province: str, after: int, limit: int) -> list[RawNotification]:
        if not self._exists(province):
            return []
        table = events_table(province)
        if self._db.dialect == "sqlite":
            sql = (
                f"SELECT rowid, originator_id, topic, state FROM {table} "  # noqa: S608 - ours
                "WHERE rowid > %s ORDER BY rowid LIMIT %s"
            )
        else:
            sql = (
                "SELECT notification_id, originator_id::text, topic, state "  # noqa: S608
                f"FROM {table} WHERE notification_id > %s "
                "ORDER BY notification_id LIMIT %s"
            )
        with self._reading([province]):
            return self._db.query(sql, (after, limit), binary=True)

    def head(self, province: str) -> int:
        if not self._exists(province):
            return 0
        column = "rowid" if self._db.dialect == "sqlite" else "notification_id"
        sql = f"SELECT max({column}) FROM {events_table(province)}"  # noqa: S608
        with self._reading([province]):
            value = self._db.query(sql)[0][0]
        return int(value or 0)

    def heads(self, provinces: Sequence[str]) -> dict[str, int]:
        present = [p for p in provinces if self._exists(p)]
        found = dict.fromkeys(provinces, 0)
        if not present:
            return found
        column = "rowid" if self._db.dialect == "sqlite" else "notification_id"
        sql = " UNION ALL ".join(
            f"SELECT '{p}', (SELECT max({column}) FROM {events_table(p)})"  # noqa: S608 - ours
            for p in present
        )
        with self._reading(present):
            rows = self._db.query(sql)
        for province, value in rows:
            found[str(province)] = int(value or 0)
        return found

    def fund_head(self, province: str, aggregate: UUID) -> int:
        if not self._exists(province):
            return 0
        if self._db.dialect == "sqlite":
            sql = (
                f"SELECT rowid FROM {events_table(province)} "  # noqa: S608 - ours
                "WHERE originator_id = %s ORDER BY originator_version DESC LIMIT 1"
            )
            key: str | UUID = aggregate.hex
        else:
            sql = (
                f"SELECT notification_id FROM {events_table(province)} "  # noqa: S608 - ours
                "WHERE originator_id = %s ORDER BY originator_version DESC LIMIT 1"
            )
            key = aggregate
        with self._reading([province]):
            rows = self._db.query(sql, (key,))
        return int(rows[0][0]) if rows else 0

    def close(self) -> None:
        self._db.close()


class LedgerEventSource:
    """Reads through the ledger's applications (the in-memory store)."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def read(self, province: str, after: int, limit: int) -> list[RawNotification]:
        recorder = self._ledger.province(province).recorder
        return [
            (n.id, n.originator_id.hex, n.topic, n.state)  # type: ignore[union-attr]
            for n in recorder.select_notifications(after + 1, limit)
        ]

    def head(self, province: str) -> int:
        return int(self._ledger.province(province).recorder.max_notification_id() or 0)

    def heads(self, provinces: Sequence[str]) -> dict[str, int]:
        return {p: self.head(p) for p in provinces}

    def fund_head(self, province: str, aggregate: UUID) -> int:
        """The province's head: the in-memory recorder keeps no notification id per event
        (and an in-memory store has no follower, whose wait this bounds)."""
        return self.head(province)

    def close(self) -> None:
        """The ledger's applications are closed by the ledger."""
