"""The tokens that let a caller in over HTTP (docs/operations.md, "Tokens").

A token is shown once, when it is made; the store keeps only its SHA-256, so a copy of the
database lets no one in. Every request looks its token's hash up again, with no cache, so a
revocation takes effect on the next request in every server process. The table lives in the
store's default database, beside the read models, and is created by ``fundledger init``.

The server looks tokens up from its event loop (:meth:`TokenStore.lookup_async`): on
PostgreSQL on asynchronous connections of their own, so that authenticating a request takes
no hop to a worker thread and back, and the requests of a worker that ask at once share one
query (each still answered by a query sent after it asked, so a revocation is never missed).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import sqlite3
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import psycopg

from domain.access import Role
from domain.errors import Conflict, NotFound, Retryable
from projections.db import CONNECT_TIMEOUT, ProjectionDB, connect, postgres_target

TOKEN_PREFIX = "flt_"  # noqa: S105 - a prefix, not a secret
"""Every token starts with it, so that a leaked one is recognisable in a scan of text."""

TABLE = "fl_tokens"
CREATE_TABLE = f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    region TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
)"""
COLUMNS = "name, role, region, created_at, revoked_at"
LOOKUP = f"SELECT {COLUMNS} FROM {TABLE} WHERE token_sha256 = %s AND revoked_at IS NULL"  # noqa: S608
"""A known token that is not revoked, by its hash."""

LOOKUP_MANY = (
    f"SELECT token_sha256, {COLUMNS} FROM {TABLE} "  # noqa: S608
    "WHERE token_sha256 = ANY(%s) AND revoked_at IS NULL"
)
"""The known tokens that are not revoked among several hashes (requests asking at once)."""

POOL_SIZE = 4
"""Connections a server process keeps for token lookups on PostgreSQL."""

_T = TypeVar("_T")


@dataclass(frozen=True)
class TokenRecord:
    """What the store knows of a token: never the token itself, nor its hash."""

    name: str
    role: Role
    region: str
    created_at: str
    revoked_at: str | None

    @property
    def revoked(self) -> bool:
        """True once the token has been revoked."""
        return self.revoked_at is not None


def new_token() -> str:
    """A fresh token: the prefix and 32 random bytes, URL-safe."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """The SHA-256 of a token, in hex: all that the store keeps of it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _record(row: tuple[object, ...]) -> TokenRecord:
    name, role, region, created_at, revoked_at = row
    return TokenRecord(
        name=str(name),
        role=Role(str(role)),
        region=str(region),
        created_at=str(created_at),
        revoked_at=None if revoked_at is None else str(revoked_at),
    )


def _missing_table(error: Exception) -> bool:
    return isinstance(error, psycopg.errors.UndefinedTable) or (
        isinstance(error, sqlite3.OperationalError) and "no such table" in str(error)
    )


class TokenStore:
    """The ``fl_tokens`` table, on a few connections of its own, safe to share between threads.

    A lookup is one indexed query on an idle connection of a small pool (at most
    :data:`POOL_SIZE`, opened as needed), so concurrent requests of one server process do not
    queue behind one connection. A connection the database dropped is closed rather than
    returned, so a server outlives a restart of its database; meanwhile every call raises
    :class:`Retryable`.
    """

    def __init__(self, url: str, pool_size: int | None = None) -> None:
        self._url = url
        self._idle: list[ProjectionDB] = []
        self._lock = threading.Lock()
        # SQLite: one connection (its writes serialise anyway, and a memory store is one).
        postgres = url.startswith(("postgresql:", "postgres:"))
        size = pool_size or (POOL_SIZE if postgres else 1)
        self._slots = threading.BoundedSemaphore(size)
        # One asynchronous connection: a loop's lookups go one shared query at a time
        # (AsyncLookups.shared_lookup), so a second one would never be used.
        self._async = AsyncLookups(url, 1) if postgres else None

    def _run(self, work: Callable[[ProjectionDB], _T]) -> _T:
        with self._slots:
            with self._lock:
                db = self._idle.pop() if self._idle else None
            try:
                if db is None:
                    db = connect(self._url)
                answer = work(db)
            except (psycopg.OperationalError, sqlite3.OperationalError) as error:
                if _missing_table(error):
                    self._give_back(db)
                    raise
                self._close(db)
                raise Retryable("the store did not answer; try again") from error
            except BaseException:
                self._give_back(db)
                raise
            self._give_back(db)
            return answer

    def _give_back(self, db: ProjectionDB | None) -> None:
        if db is not None:
            with self._lock:
                self._idle.append(db)

    @staticmethod
    def _close(db: ProjectionDB | None) -> None:
        if db is not None:
            with suppress(psycopg.Error, sqlite3.Error):
                db.close()

    def create_table(self) -> None:
        """Create the table if it does not exist yet (``fundledger init``)."""
        self._run(lambda db: db.execute(CREATE_TABLE))

    def ping(self) -> None:
        """Raise :class:`Retryable` unless the store answers a query."""
        self._run(lambda db: db.query("SELECT 1"))

    def add(self, name: str, role: Role, region: str) -> tuple[str, TokenRecord]:
        """Record a new token for ``name``; answer the token (shown once) and its record.

        Raises:
            Conflict: ``name`` already has a token (revoked or not: a name is never reused,
                since it is the ``recorded_by`` of every write made with it).
        """
        token = new_token()
        record = TokenRecord(name, role, region, _now(), None)

        def insert(db: ProjectionDB) -> None:
            db.execute(CREATE_TABLE)
            with db.transaction():
                if db.query(f"SELECT 1 FROM {TABLE} WHERE name = %s", (name,)):  # noqa: S608
                    raise Conflict(f"a token named {name!r} already exists", field="name")
                db.execute(
                    f"INSERT INTO {TABLE} (name, role, region, token_sha256, created_at)"  # noqa: S608
                    " VALUES (%s, %s, %s, %s, %s)",
                    (name, role.value, region, token_hash(token), record.created_at),
                )

        try:
            self._run(insert)
        except (psycopg.errors.UniqueViolation, sqlite3.IntegrityError) as error:
            raise Conflict(f"a token named {name!r} already exists", field="name") from error
        return token, record

    def list(self) -> list[TokenRecord]:
        """Every token's record, by name (an empty list before the first token)."""
        try:
            rows = self._run(
                lambda db: db.query(f"SELECT {COLUMNS} FROM {TABLE} ORDER BY name")  # noqa: S608
            )
        except (psycopg.Error, sqlite3.Error) as error:
            if _missing_table(error):
                return []
            raise
        return [_record(row) for row in rows]

    def revoke(self, name: str) -> TokenRecord:
        """Revoke the token of ``name`` (again: nothing changes, the first time stays).

        Raises:
            NotFound: no token has that name.
        """

        def update(db: ProjectionDB) -> list[tuple[object, ...]]:
            db.execute(
                f"UPDATE {TABLE} SET revoked_at = %s WHERE name = %s AND revoked_at IS NULL",  # noqa: S608
                (_now(), name),
            )
            return db.query(f"SELECT {COLUMNS} FROM {TABLE} WHERE name = %s", (name,))  # noqa: S608

        try:
            rows = self._run(update)
        except (psycopg.Error, sqlite3.Error) as error:
            if not _missing_table(error):
                raise
            rows = []
        if not rows:
            raise NotFound(f"no token is named {name!r}", field="name")
        return _record(rows[0])

    def lookup(self, token: str) -> TokenRecord | None:
        """The record of a token that is known and not revoked, else None.

        Asked on every request; the token itself is hashed at once and never kept.
        """
        digest = token_hash(token)
        try:
            rows = self._run(lambda db: db.query(LOOKUP, (digest,)))
        except (psycopg.Error, sqlite3.Error) as error:
            if _missing_table(error):
                return None
            raise
        return _record(rows[0]) if rows else None

    async def lookup_async(self, token: str) -> TokenRecord | None:
        """:meth:`lookup`, awaited on an event loop (the server's, for every request).

        On PostgreSQL the query runs on :class:`AsyncLookups` of the loop, with no hop to a
        thread (without that hop 8 clients post 22 % more a second, 32 clients 13 % more:
        bench/README.md, "Authenticating on the event loop"), shared with the lookups that
        other requests ask meanwhile (:meth:`AsyncLookups.shared_lookup`); on SQLite
        :meth:`lookup` runs in a worker thread.

        Raises:
            Retryable: the store did not answer.
        """
        if self._async is None:
            return await asyncio.to_thread(self.lookup, token)
        try:
            row = await self._async.shared_lookup(token_hash(token))
        except psycopg.errors.UndefinedTable:
            return None
        return None if row is None else _record(row)

    async def aclose(self) -> None:
        """Close the asynchronous connections (on the loop that opened them)."""
        if self._async is not None:
            await self._async.close()

    def close(self) -> None:
        """Close the idle connections (a later call opens new ones)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for db in idle:
            self._close(db)


class AsyncLookups:
    """Asynchronous PostgreSQL connections for token lookups, for one event loop.

    Opened as needed, at most ``size`` at once; a connection that failed, or whose query was
    cancelled midway, is closed rather than returned, so a server outlives a restart of its
    database (meanwhile every lookup raises :class:`Retryable`, as :meth:`TokenStore.lookup`).
    """

    def __init__(self, url: str, size: int) -> None:
        self._conninfo, self._in_schema = postgres_target(url)
        self._idle: list[psycopg.AsyncConnection[tuple[object, ...]]] = []
        self._slots = asyncio.Semaphore(size)
        self._asking: list[tuple[str, asyncio.Future[tuple[object, ...] | None]]] = []
        self._asker: asyncio.Task[None] | None = None

    async def shared_lookup(self, digest: str) -> tuple[object, ...] | None:
        """The row of :data:`LOOKUP` for one token hash, in one query with the lookups that
        other requests of this loop ask for meanwhile (:data:`LOOKUP_MANY`).

        Every lookup is answered by a query sent after it was asked: one waits for the query
        in flight to end and joins the next. So a token revoked before a request arrived is
        refused to that request, as with a query of its own, and 16 requests of a worker
        asking at once cost a few queries, not 16.

        Raises:
            Retryable: the store did not answer.
        """
        answer: asyncio.Future[tuple[object, ...] | None] = (
            asyncio.get_running_loop().create_future()
        )
        self._asking.append((digest, answer))
        if self._asker is None:
            self._asker = asyncio.ensure_future(self._ask_all())
        return await answer

    async def _ask_all(self) -> None:
        """Send the lookups asked so far as one query, again while more were asked meanwhile.

        A task of its own, so that a request cancelled while it waits does not leave the
        others unanswered; whatever ends it (a programmer's error, the loop stopping) is
        every waiting asker's answer."""
        asking: list[tuple[str, asyncio.Future[tuple[object, ...] | None]]] = []
        try:
            while self._asking:
                asking, self._asking = self._asking, []
                try:
                    rows = await self.rows(LOOKUP_MANY, ([digest for digest, _ in asking],))
                except (Retryable, psycopg.Error) as error:  # each asker raises it
                    _answer_all(asking, error)
                    continue
                found = {row[0]: row[1:] for row in rows}
                for digest, answer in asking:
                    if not answer.done():
                        answer.set_result(found.get(digest))
        except BaseException as error:
            _answer_all([*asking, *self._asking], error)
            self._asking = []
            raise
        finally:
            self._asker = None

    async def rows(self, sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
        """The rows of one query, on an idle connection (a new one when none is idle).

        Raises:
            Retryable: the store did not answer.
        """
        async with self._slots:
            conn = self._idle.pop() if self._idle else None
            try:
                if conn is None:
                    conn = await self._open()
                cursor = await conn.execute(sql, params)
                rows = await cursor.fetchall()
            except psycopg.OperationalError as error:
                await _close_async(conn)
                raise Retryable("the store did not answer; try again") from error
            except psycopg.Error:
                if conn is not None:
                    self._idle.append(conn)
                raise
            except BaseException:
                await _close_async(conn)
                raise
            self._idle.append(conn)
            return rows

    async def _open(self) -> psycopg.AsyncConnection[tuple[object, ...]]:
        conn = await psycopg.AsyncConnection.connect(
            self._conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT
        )
        if self._in_schema is not None:
            await conn.execute(self._in_schema)
        return conn

    async def close(self) -> None:
        """Close the idle connections (a later query opens new ones)."""
        idle, self._idle = self._idle, []
        for conn in idle:
            await _close_async(conn)


def _answer_all(
    asking: list[tuple[str, asyncio.Future[tuple[object, ...] | None]]], error: BaseException
) -> None:
    for _, answer in asking:
        if answer.done():
            continue
        if isinstance(error, asyncio.CancelledError):
            answer.cancel()
        else:
            answer.set_exception(error)


async def _close_async(conn: psycopg.AsyncConnection[tuple[object, ...]] | None) -> None:
    if conn is not None:
        with suppress(psycopg.Error):
            await conn.close()
