"""The read models' connections in a server process (api.http.concurrency.SharedDB).

On PostgreSQL the requests' read models lend up to READ_CONNECTIONS connections, one thread
each: a short read does not wait behind a long one; a thread's transaction keeps its own
connection to its end; no more connections are opened than the limit; a connection the server
dropped answers Retryable once and is replaced. SQLite keeps its one connection.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from api.http.concurrency import READ_CONNECTIONS, SharedDB, pooled_connect, shared_connect
from domain.errors import Retryable
from tests.conftest import POSTGRES_URL, postgres_schema

pytestmark = pytest.mark.postgres


@pytest.fixture
def url() -> Iterator[str]:
    with postgres_schema() as schema_url:
        yield schema_url


def _short_read_behind_a_long_one(db: SharedDB) -> float:
    """Seconds a short read took while another thread's read sleeps 1 s."""
    marker = f"long read {uuid.uuid4().hex}"
    sleeper = threading.Thread(target=db.query, args=(f"SELECT pg_sleep(1) /* {marker} */",))
    sleeper.start()
    _until_running(marker)
    began = time.perf_counter()
    assert db.query("SELECT 41 + 1") == [(42,)]
    took = time.perf_counter() - began
    sleeper.join()
    return took


def _until_running(marker: str) -> None:
    """Wait until the server runs the statement that carries ``marker``."""
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        for _ in range(500):
            running = admin.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE state = 'active' AND pid <> pg_backend_pid() AND query LIKE %s",
                (f"%{marker}%",),
            ).fetchone()
            if running and running[0]:
                return
            time.sleep(0.01)
    raise AssertionError("the long read never started")


def test_a_short_read_does_not_wait_behind_a_long_one(url: str) -> None:
    pooled, single = pooled_connect(url), shared_connect(url)
    assert isinstance(pooled, SharedDB)
    assert isinstance(single, SharedDB)
    try:
        assert _short_read_behind_a_long_one(pooled) < 0.5
        assert _short_read_behind_a_long_one(single) > 0.6  # one connection: it waits
    finally:
        pooled.close()
        single.close()


def test_a_transaction_keeps_its_connection_and_others_read_what_is_committed(url: str) -> None:
    db = SharedDB(url, connections=2)
    db.execute("CREATE TABLE t (n int)")
    seen: list[int] = []
    try:
        with db.transaction():
            backend = db.query("SELECT pg_backend_pid()")[0][0]
            db.execute("INSERT INTO t VALUES (1)")
            other = threading.Thread(
                target=lambda: seen.append(db.query("SELECT count(*) FROM t")[0][0])
            )
            other.start()
            other.join()
            assert db.query("SELECT pg_backend_pid()")[0][0] == backend
            assert db.query("SELECT count(*) FROM t") == [(1,)]
        assert seen == [0]  # the other thread's read ran on another connection, outside it
        assert db.query("SELECT count(*) FROM t") == [(1,)]
    finally:
        db.close()


def test_no_more_connections_than_the_limit(url: str) -> None:
    db = SharedDB(url, connections=2)
    backends: set[int] = set()
    lock = threading.Lock()

    def read() -> None:
        pid = db.query("SELECT pg_backend_pid() FROM pg_sleep(0.3)")[0][0]
        with lock:
            backends.add(pid)

    threads = [threading.Thread(target=read) for _ in range(6)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - began
    db.close()
    assert len(backends) == 2
    assert took >= 0.85  # six reads of 0.3 s, two at a time: three rounds
    assert READ_CONNECTIONS > 1


def test_a_dropped_connection_answers_retryable_once_and_is_replaced(url: str) -> None:
    db = SharedDB(url, connections=2)
    try:
        first = db.query("SELECT pg_backend_pid()")[0][0]
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (first,))
        time.sleep(0.2)
        with pytest.raises(Retryable):
            db.query("SELECT 1")
        assert db.query("SELECT 1") == [(1,)]
        assert db.query("SELECT pg_backend_pid()")[0][0] != first
    finally:
        db.close()


def test_sqlite_keeps_its_one_connection(tmp_path: object) -> None:
    db = pooled_connect(f"sqlite:///{tmp_path}/read.db")
    assert isinstance(db, SharedDB)
    try:
        assert _short_sqlite_reads(db) == 1
    finally:
        db.close()


def _short_sqlite_reads(db: SharedDB) -> int:
    """How many distinct connections eight threads' reads were lent."""
    seen: set[int] = set()
    lock = threading.Lock()

    def read() -> None:
        with db._connection() as inner, lock:
            seen.add(id(inner))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(seen)
