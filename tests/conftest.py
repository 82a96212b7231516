"""Shared fixtures: one store per test, on memory, SQLite and (where it answers) PostgreSQL.

PostgreSQL tests run against ``FUNDLEDGER_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``), each in a schema of its own that is dropped
afterwards. Where no server answers they are skipped with the reason, unless
``FUNDLEDGER_REQUIRE_POSTGRES=1`` (CI sets it), where they fail instead.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from api.bootstrap import bootstrap
from api.settings import Settings
from domain.ledger_service import Ledger

POSTGRES_URL = os.environ.get(
    "FUNDLEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("FUNDLEDGER_REQUIRE_POSTGRES") == "1"
TEST_PROVINCES = ("140000", "220000", "320000")


@functools.cache
def postgres_unavailable() -> str | None:
    """Why PostgreSQL cannot be used here, or None when it answers (asked once per run)."""
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {error}".strip()
    return None


def require_postgres() -> None:
    """Skip (or, in CI, fail) a test that needs PostgreSQL when none answers."""
    reason = postgres_unavailable()
    if reason is None:
        return
    if REQUIRE_POSTGRES:
        pytest.fail(f"PostgreSQL is required (FUNDLEDGER_REQUIRE_POSTGRES=1): {reason}")
    pytest.skip(reason)


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A PostgreSQL URL whose schema is new and empty, dropped afterwards."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}schema={schema}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose schema is this test's own, dropped afterwards."""
    with postgres_schema() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: object) -> str:
    """A SQLite file of this test's own."""
    return f"sqlite:///{tmp_path}/fundledger.db"


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    """The same test on every backend."""
    if request.param == "memory":
        yield "memory://"
    elif request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/fundledger.db"
    else:
        yield request.getfixturevalue("postgres_url")


@pytest.fixture
def ledger(store_url: str) -> Iterator[Ledger]:
    """An initialised ledger (the test provinces' tables) on each backend."""
    built = bootstrap(Settings(database_url=store_url))
    built.init(TEST_PROVINCES)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def memory_ledger() -> Iterator[Ledger]:
    """An initialised in-memory ledger, for unit tests and properties."""
    built = bootstrap(Settings(database_url="memory://"))
    built.init(TEST_PROVINCES)
    try:
        yield built
    finally:
        built.close()
