"""What makes one App safe to share between the threads of one server process.

FastAPI runs every sync route and dependency in a thread pool, so one process serves many
requests at once from one :class:`api.bootstrap.App`. What is shared, and how:

- **The read models' connections** (one to the projection tables, one to read the events,
  per database) are not made for concurrent use: a query of one thread would run inside
  another thread's transaction. :class:`SharedDB` gives each connection a lock, held for
  every statement and for the whole of a transaction. A catch-up and a query of two requests
  therefore take turns on the connection, and two catch-ups stay exactly-once by the
  projector's own tracking rule (docs/architecture.md).
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


class SharedDB:
    """A projection connection that threads may share: one statement or transaction at once.

    It connects on first use, and a connection the server dropped (PostgreSQL restarted,
    unreachable) is replaced on the next call; meanwhile calls raise :class:`Retryable`, so a
    server starts, and answers 503 on ``/healthz``, while its database is away.
    """

    def __init__(self, url: str) -> None:
        self._url = url
        self._inner: ProjectionDB | None = None
        self._lock = threading.RLock()
        scheme = urlsplit(url).scheme
        self.dialect: Literal["sqlite", "postgres"] = (
            "postgres" if scheme in ("postgresql", "postgres") else "sqlite"
        )
        if self.dialect == "sqlite":
            self._inner = connect(url)  # a file: nothing to wait for, and errors at once

    @contextmanager
    def _connection(self) -> Iterator[ProjectionDB]:
        with self._lock:
            try:
                if self._inner is None:
                    self._inner = connect(self._url)
                yield self._inner
            except psycopg.OperationalError as error:
                self._drop()
                raise Retryable("the store did not answer; try again") from error

    def _drop(self) -> None:
        inner, self._inner = self._inner, None
        if inner is not None:
            with suppress(psycopg.Error):
                inner.close()

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
        with self._lock:
            self._drop()


def shared_connect(url: str) -> ProjectionDB:
    """:func:`projections.db.connect`, with a connection that threads may share."""
    if urlsplit(url).scheme not in ("sqlite", "postgresql", "postgres", "memory"):
        return connect(url)  # refused there, with the reason
    return SharedDB(url)
