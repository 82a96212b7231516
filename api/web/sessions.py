"""Signed-in browsers: sessions kept server-side, in the store's default database.

A browser that signs in with a token gets a random session id in an ``HttpOnly``,
``SameSite=Strict`` cookie (``Secure`` over TLS); the table keeps only the id's SHA-256, the
token's name, a CSRF secret and an expiry. Every request looks the session up joined with
its token's row, so revoking the token ends its sessions at once, in every server process;
signing out deletes the row (docs/workbench.md).
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import psycopg

from api.identity.tokens import TABLE as TOKENS
from domain.access import Role
from domain.errors import Retryable
from projections.db import ProjectionDB, connect

TABLE = "fl_web_sessions"
LIFETIME = timedelta(hours=8)
"""A session ends this long after sign-in (a working day), or at sign-out, or at revocation."""
CREATE_TABLE = f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    session_sha256 TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
)"""

_T = TypeVar("_T")


@dataclass(frozen=True)
class Session:
    """A live session: whose token it was opened with, and the secret its forms carry."""

    name: str
    role: Role
    region: str
    csrf: str


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


class SessionStore:
    """The ``fl_web_sessions`` table on a connection of its own, safe to share between threads."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._db: ProjectionDB | None = None
        self._lock = threading.Lock()
        self._created = False

    def _run(self, work: Callable[[ProjectionDB], _T]) -> _T:
        with self._lock:
            try:
                if self._db is None:
                    self._db = connect(self._url)
                if not self._created:
                    self._db.execute(CREATE_TABLE)
                    self._created = True
                return work(self._db)
            except (psycopg.OperationalError, sqlite3.OperationalError) as error:
                if "no such table" in str(error) or isinstance(
                    error, psycopg.errors.UndefinedTable
                ):
                    raise
                self._drop()
                raise Retryable("the store did not answer; try again") from error

    def _drop(self) -> None:
        if self._db is not None:
            with suppress(psycopg.Error, sqlite3.Error):
                self._db.close()
            self._db = None
            self._created = False

    def open(self, name: str, now: datetime | None = None) -> tuple[str, str]:
        """A new session for the token named ``name``: its id (for the cookie) and CSRF secret."""
        moment = now or datetime.now(UTC)
        session_id = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24)

        def insert(db: ProjectionDB) -> None:
            with db.transaction():
                db.execute(
                    f"DELETE FROM {TABLE} WHERE expires_at < %s",  # noqa: S608
                    (_text(moment),),
                )
                db.execute(
                    f"INSERT INTO {TABLE} (session_sha256, name, csrf, created_at, expires_at)"  # noqa: S608
                    " VALUES (%s, %s, %s, %s, %s)",
                    (_digest(session_id), name, csrf, _text(moment), _text(moment + LIFETIME)),
                )

        self._run(insert)
        return session_id, csrf

    def lookup(self, session_id: str, now: datetime | None = None) -> Session | None:
        """The live session of a cookie's id: unexpired, and its token not revoked."""
        moment = _text(now or datetime.now(UTC))
        try:
            rows = self._run(
                lambda db: db.query(
                    f"SELECT s.name, t.role, t.region, s.csrf FROM {TABLE} s"  # noqa: S608
                    f" JOIN {TOKENS} t ON t.name = s.name"
                    " WHERE s.session_sha256 = %s AND s.expires_at > %s"
                    " AND t.revoked_at IS NULL",
                    (_digest(session_id), moment),
                )
            )
        except (psycopg.errors.UndefinedTable, sqlite3.OperationalError):
            return None  # no token was ever made in this store: nobody is signed in
        if not rows:
            return None
        name, role, region, csrf = rows[0]
        return Session(str(name), Role(str(role)), str(region), str(csrf))

    def close_session(self, session_id: str) -> None:
        """Sign out: the session's row is deleted."""
        self._run(
            lambda db: db.execute(
                f"DELETE FROM {TABLE} WHERE session_sha256 = %s",  # noqa: S608
                (_digest(session_id),),
            )
        )

    def close(self) -> None:
        """Close the connection (a later call opens a new one)."""
        with self._lock:
            self._drop()
