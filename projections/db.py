"""A small connection to the projection tables, for SQLite and PostgreSQL alike.

The read models live in the same database as the events they are built from, so that a
batch of rows and its tracking position commit together. SQL is written with ``%s``
placeholders; SQLite gets them as ``?``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal, Protocol
from urllib.parse import parse_qs, urlsplit

import psycopg

from domain.errors import InvalidInput

Row = tuple[Any, ...]


class ProjectionDB(Protocol):
    """What the projections need of a database connection."""

    dialect: Literal["sqlite", "postgres"]

    def query(self, sql: str, params: Sequence[Any] = (), *, binary: bool = False) -> list[Row]:
        """Run a SELECT and answer its rows (``binary``: PostgreSQL's binary protocol)."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; answer the number of rows it changed."""

    def insert_many(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        """Insert many rows fast (COPY on PostgreSQL, executemany on SQLite)."""

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction: everything inside commits together or not at all."""
        yield  # pragma: no cover

    def close(self) -> None:
        """Close the connection."""


class SQLiteDB:
    """SQLite: autocommit connection with explicit ``BEGIN IMMEDIATE`` transactions."""

    dialect: Literal["sqlite", "postgres"] = "sqlite"

    def __init__(self, path: str) -> None:
        # The projector reads the next batch on a worker thread, on a connection of its own.
        self._conn = sqlite3.connect(
            path, isolation_level=None, timeout=30, check_same_thread=False
        )
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")

    def query(self, sql: str, params: Sequence[Any] = (), *, binary: bool = False) -> list[Row]:
        del binary
        return self._conn.execute(sql.replace("%s", "?"), tuple(params)).fetchall()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._conn.execute(sql.replace("%s", "?"), tuple(params)).rowcount

    def insert_many(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        marks = ",".join("?" * len(columns))
        self._conn.executemany(
            f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks})",  # noqa: S608
            rows,
        )

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()


FEW_ROWS = 64
"""Up to this many rows, :meth:`PostgresDB.insert_many` sends one pipelined ``INSERT`` per
row (one round trip in all) rather than a ``COPY`` (two round trips, faster per row)."""


CONNECT_TIMEOUT = 5
"""Seconds a PostgreSQL connection may take to open before the store counts as unreachable."""


def postgres_target(url: str) -> tuple[str, psycopg.sql.Composed | None]:
    """A PostgreSQL URL's connection string (without fundledger's ``schema`` parameter) and
    the statement that puts a new connection in that schema (None: the default one)."""
    parts = urlsplit(url)
    schema = parse_qs(parts.query).get("schema", [""])[0]
    conninfo = parts._replace(query="").geturl().replace("postgres://", "postgresql://", 1)
    if not schema:
        return conninfo, None
    return conninfo, psycopg.sql.SQL("SET search_path TO {}").format(psycopg.sql.Identifier(schema))


class PostgresDB:
    """PostgreSQL through psycopg 3 (binary), in the schema the URL names."""

    dialect: Literal["sqlite", "postgres"] = "postgres"

    def __init__(self, url: str) -> None:
        conninfo, in_schema = postgres_target(url)
        self._conn = psycopg.connect(conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
        if in_schema is not None:
            self._conn.execute(in_schema)

    def query(self, sql: str, params: Sequence[Any] = (), *, binary: bool = False) -> list[Row]:
        with self._conn.cursor(binary=binary) as cursor:
            return cursor.execute(sql, tuple(params)).fetchall()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._conn.execute(sql, tuple(params)).rowcount

    def insert_many(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        if len(rows) <= FEW_ROWS:  # one round trip (pipelined) where COPY takes two
            marks = ",".join(["%s"] * len(columns))
            sql = f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks})"  # noqa: S608
            with self._conn.cursor() as cursor:
                cursor.executemany(sql, rows)
            return
        statement = f"COPY {table} ({','.join(columns)}) FROM STDIN"
        with self._conn.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._conn.transaction():
            yield

    def close(self) -> None:
        self._conn.close()


def connect(url: str) -> ProjectionDB:
    """The projection connection for a database URL (``memory://`` gets SQLite in memory)."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        return SQLiteDB(url[len("sqlite:///") :])
    if scheme in ("postgresql", "postgres"):
        return PostgresDB(url)
    if scheme == "memory":
        return SQLiteDB(":memory:")
    raise InvalidInput(f"{url!r} is not a database URL fundledger knows", field="db")
