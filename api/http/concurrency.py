"""What makes one App safe to share between the threads of one server process.

FastAPI runs every sync route and dependency in a thread pool, so one process serves many
requests at once from one :class:`api.bootstrap.App`. What is shared, and how:

- **The read models' connections** (to the projection tables and to read the events, per
  database) are not made for concurrent use: a query of one thread would run inside another
  thread's transaction. :class:`SharedDB` lends each connection to one thread at once, for a
  statement or for the whole of a transaction; the requests' read models have up to
  :data:`READ_CONNECTIONS` of them to PostgreSQL, so a statement does not wait behind the
  ratios of a province, and a background projector has one (its session holds the
  province's projector lock). Two catch-ups at once stay exactly-once by the projector's own
  tracking rule (docs/architecture.md).
- **The ledger** is shared as it is: each province's writes go through its group-commit
  writer (postings submitted by many threads share one save; other writes hold the province
  exclusively), and a province's application is opened once however many threads ask first
  (docs/architecture.md, "Group commit").
- **The token store** has its own lock (:class:`api.identity.tokens.TokenStore`).

Across worker processes nothing is shared but the database.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, Literal
from urllib.parse import urlsplit

import psycopg

from domain.errors import Retryable
from projections.db import ProjectionDB, Row, connect

READ_CONNECTIONS = 4
"""Connections each of a server process's read-model pools (the projection tables; the
events) may hold to one PostgreSQL database, so that a long read (the ratios of a province)
does not hold up a short one (a fund's statement)."""


class SharedDB:
    """A projection connection that threads may share: one statement or transaction at once
    on each of up to ``connections`` connections (PostgreSQL; SQLite has one).

    A thread's transaction holds one connection to its end, and what the thread runs inside
    it runs on that connection; any other statement takes whichever connection is free, so
    it reads what is committed. It connects on first use, and a connection the server dropped
    (PostgreSQL restarted, unreachable) is replaced on the next call; meanwhile calls raise
    :class:`Retryable`, so a server starts, and answers 503 on ``/healthz``, while its
    database is away.
    """

    def __init__(self, url: str, *, connections: int = 1) -> None:
        self._url = url
        scheme = urlsplit(url).scheme
        self.dialect: Literal["sqlite", "postgres"] = (
            "postgres" if scheme in ("postgresql", "postgres") else "sqlite"
        )
        self._size = connections if self.dialect == "postgres" else 1
        self._idle: list[ProjectionDB] = []
        self._open = 0
        """Connections made and not dropped: idle, or held by a thread."""
        self._free = threading.Condition()
        self._held = threading.local()
        if self.dialect == "sqlite":
            self._idle.append(connect(url))  # a file: nothing to wait for, and errors at once
            self._open = 1

    @contextmanager
    def _connection(self) -> Iterator[ProjectionDB]:
        held: ProjectionDB | None = getattr(self._held, "db", None)
        if held is not None:  # inside this thread's own transaction or statement
            yield held
            return
        db: ProjectionDB | None = None
        try:
            db = self._take()
            self._held.db = db
            yield db
        except psycopg.OperationalError as error:
            if db is not None:
                self._discard(db)
                db = None
            raise Retryable("the store did not answer; try again") from error
        finally:
            self._held.db = None
            if db is not None:
                self._give_back(db)

    def _take(self) -> ProjectionDB:
        """An idle connection, a new one while fewer than the limit are open, or the first
        one given back."""
        with self._free:
            while not self._idle and self._open >= self._size:
                self._free.wait()
            if self._idle:
                return self._idle.pop()
            self._open += 1
        try:
            return connect(self._url)
        except BaseException:
            with self._free:
                self._open -= 1
                self._free.notify()
            raise

    def _give_back(self, db: ProjectionDB) -> None:
        with self._free:
            self._idle.append(db)
            self._free.notify()

    def _discard(self, db: ProjectionDB) -> None:
        with suppress(psycopg.Error):
            db.close()
        with self._free:
            self._open -= 1
            self._free.notify()

    def query(self, sql: str, params: Sequence[Any] = (), *, binary: bool = False) -> list[Row]:
        with self._connection() as db:
            return db.query(sql, params, binary=binary)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self._connection() as db:
            return db.execute(sql, params)

    def insert_many(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        with self._connection() as db:
            db.insert_many(table, columns, rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._connection() as db, db.transaction():
            yield

    def close(self) -> None:
        """Close every connection, once the threads that hold one have given it back."""
        with self._free:
            while len(self._idle) < self._open:
                self._free.wait()
            idle, self._idle, self._open = self._idle, [], 0
        for db in idle:
            with suppress(psycopg.Error):
                db.close()


def shared_connect(url: str, *, connections: int = 1) -> ProjectionDB:
    """:func:`projections.db.connect`, with connections that threads may share: one by
    default (what a background projector holds: its session keeps the province's projector
    lock), up to ``connections`` to PostgreSQL."""
    if urlsplit(url).scheme not in ("sqlite", "postgresql", "postgres", "memory"):
        return connect(url)  # refused there, with the reason
    return SharedDB(url, connections=connections)


def pooled_connect(url: str) -> ProjectionDB:
    """:func:`shared_connect` with up to :data:`READ_CONNECTIONS` connections to PostgreSQL,
    for the read models that the requests of a server process share."""
    return shared_connect(url, connections=READ_CONNECTIONS)
