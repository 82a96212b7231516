"""``fundledger tokens``: a token shown once, only its SHA-256 kept, refused once revoked."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import sys

import httpx
import pytest

from projections.db import connect
from tests.http.conftest import LiveServer, ServerFactory, init_store, pids_answering
from tests.http.test_infra import assert_problem

CLI = [sys.executable, "-c", "from api.cli import main; main()"]


def fundledger(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the command line on a store, as an operator would."""
    return subprocess.run(
        [*CLI, *args, "--db", db_url], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def sqlite_store(sqlite_url: str) -> str:
    """An initialised SQLite store of the test's own (the refusals need no other backend)."""
    init_store(sqlite_url)
    return sqlite_url


def stored_rows(db_url: str) -> list[tuple[object, ...]]:
    db = connect(db_url)
    try:
        return db.query("SELECT * FROM fl_tokens ORDER BY name")
    finally:
        db.close()


def test_a_token_is_shown_once_and_only_its_hash_is_kept(backend_url: str) -> None:
    added = fundledger(
        backend_url, "tokens", "add", "li", "--role", "provincial", "--region", "140000"
    )
    assert added.returncode == 0, added.stderr
    lines = added.stdout.splitlines()
    assert len(lines) == 1
    token = lines[0]
    assert token.startswith("flt_")
    assert len(token) > 40
    assert token not in added.stderr
    rows = stored_rows(backend_url)
    assert len(rows) == 1
    assert hashlib.sha256(token.encode()).hexdigest() in rows[0]
    assert not any(token in str(value) for value in rows[0])

    listed = {
        fmt: fundledger(backend_url, "tokens", "list", "--format", fmt)
        for fmt in ("table", "json", "csv")
    }
    digest = hashlib.sha256(token.encode()).hexdigest()
    for result in listed.values():
        assert result.returncode == 0, result.stderr
        assert "li" in result.stdout
        assert token not in result.stdout + result.stderr
        assert digest not in result.stdout + result.stderr
    entries = json.loads(listed["json"].stdout)
    assert entries == [
        {
            "name": "li",
            "role": "provincial",
            "region": "140000",
            "created_at": entries[0]["created_at"],
            "revoked_at": None,
        }
    ]
    assert next(csv.DictReader(io.StringIO(listed["csv"].stdout)))["region"] == "140000"


def test_revoking_is_listed_and_a_name_is_never_reused(backend_url: str) -> None:
    assert (
        fundledger(
            backend_url, "tokens", "add", "wang", "--role", "municipal", "--region", "140100"
        ).returncode
        == 0
    )
    revoked = fundledger(backend_url, "tokens", "revoke", "wang")
    assert revoked.returncode == 0, revoked.stderr
    entries = json.loads(fundledger(backend_url, "tokens", "list", "--format", "json").stdout)
    assert entries[0]["revoked_at"]
    again = fundledger(
        backend_url, "tokens", "add", "wang", "--role", "municipal", "--region", "140100"
    )
    assert again.returncode == 2
    assert again.stdout == ""
    assert "name: a token named 'wang' already exists" in again.stderr
    missing = fundledger(backend_url, "tokens", "revoke", "nobody")
    assert missing.returncode == 2
    assert "name: no token is named 'nobody'" in missing.stderr


@pytest.mark.parametrize(
    ("role", "region", "field"),
    [
        ("admin", "140000", "role"),
        ("municipal", "140000", "region"),
        ("provincial", "140100", "region"),
        ("provincial", "000000", "region"),
        ("auditor", "140105", "region"),
        ("auditor", "14000", "region"),
        ("municipal", "990100", "region"),
    ],
)
def test_a_role_gets_only_the_regions_it_may_have(
    sqlite_store: str, role: str, region: str, field: str
) -> None:
    result = fundledger(sqlite_store, "tokens", "add", "x", "--role", role, "--region", region)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"{field}: ")
    assert "Traceback" not in result.stderr


def test_an_auditor_may_have_every_province(sqlite_store: str) -> None:
    result = fundledger(
        sqlite_store, "tokens", "add", "audit", "--role", "auditor", "--region", "000000"
    )
    assert result.returncode == 0, result.stderr


FEED = "/v1/provinces/140000/feed"


def test_no_unknown_or_revoked_token_is_let_in(live_server: LiveServer) -> None:
    path = FEED
    token = live_server.token("let-in", role="auditor", region="140000")
    with live_server.client() as anonymous:
        assert_problem(anonymous.get(path), 401)
        wrong_scheme = anonymous.get(path, headers={"Authorization": f"Basic {token}"})
        assert_problem(wrong_scheme, 401)
    with live_server.client("flt_not-a-token") as unknown:
        body = assert_problem(unknown.get(path), 401)
        assert unknown.get(path).headers["www-authenticate"] == "Bearer"
        assert "events" not in body
    with live_server.client(token) as client:
        assert client.get(path).status_code == 200
        live_server.revoke("let-in")
        assert_problem(client.get(path), 401)


def test_revocation_reaches_every_worker_on_the_next_request(
    backend_url: str, server_factory: ServerFactory
) -> None:
    server = server_factory(backend_url, workers=2, cli=True)
    token = server.token("two-workers", role="auditor", region="000000")
    answers: list[int] = []

    def send() -> httpx.Response:
        response = client.get(FEED, headers={"Connection": "close"})
        answers.append(response.status_code)
        return response

    with server.client(token) as client:
        before = pids_answering(server, send)
        assert set(answers) == {200}
        answers.clear()
        server.revoke("two-workers")
        after = pids_answering(server, send)
        assert set(answers) == {401}
    assert before == after


def test_the_event_loops_lookup_answers_as_the_threads(backend_url: str) -> None:
    """The server's lookup (a coroutine, on asynchronous connections on PostgreSQL) finds
    what :meth:`TokenStore.lookup` finds, in the URL's schema, and refuses a revoked token."""
    import asyncio

    from api.identity.tokens import TokenStore
    from domain.access import Role

    store = TokenStore(backend_url)

    async def both(token: str) -> tuple[object, object]:
        return store.lookup(token), await store.lookup_async(token)

    async def scenario() -> None:
        token, record = store.add("wang", Role.MUNICIPAL, "140100")
        found, awaited = await both(token)
        assert found == awaited == record
        assert await both("flt_not-a-token") == (None, None)
        store.revoke("wang")
        assert await both(token) == (None, None)
        await store.aclose()

    try:
        asyncio.run(scenario())
    finally:
        store.close()


@pytest.mark.postgres
def test_a_lookup_connection_the_database_dropped_is_retryable_then_replaced(
    postgres_url: str,
) -> None:
    """A terminated connection answers Retryable (503) once and is closed, not kept: the
    next lookup opens a new one. A schema with no token table lets no one in."""
    import asyncio

    import psycopg

    from api.identity.tokens import TokenStore
    from domain.access import Role
    from domain.errors import Retryable

    init_store(postgres_url)
    server, _, query = postgres_url.partition("?")
    schema = query.removeprefix("schema=")
    store = TokenStore(postgres_url)
    token, record = store.add("zhao", Role.AUDITOR, "000000")

    async def scenario() -> None:
        assert await store.lookup_async(token) == record
        (conn,) = store._async._idle  # type: ignore[union-attr]
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [conn.info.backend_pid])
        with pytest.raises(Retryable):
            await store.lookup_async(token)
        assert store._async._idle == []  # type: ignore[union-attr]
        assert await store.lookup_async(token) == record
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP TABLE "{schema}".fl_tokens')
        assert await store.lookup_async(token) is None
        await store.aclose()

    try:
        asyncio.run(scenario())
    finally:
        store.close()


@pytest.mark.postgres
def test_lookups_asked_at_once_share_a_query_and_each_sees_what_was_revoked_before_it(
    postgres_url: str,
) -> None:
    """Concurrent lookups of one loop share queries (``AsyncLookups.shared_lookup``), each
    answered for its own token; a lookup asked while a query is in flight waits for the next
    one, so a token revoked before it was asked is refused to it even though the query in
    flight (sent before the revocation) still finds the token; a cancelled asker leaves the
    others answered."""
    import asyncio

    from api.identity.tokens import AsyncLookups, TokenStore
    from domain.access import Role

    init_store(postgres_url)
    store = TokenStore(postgres_url)
    tokens = {name: store.add(name, Role.MUNICIPAL, "140100") for name in ("li", "wu", "xu")}
    store.revoke("xu")
    lookups = store._async
    assert isinstance(lookups, AsyncLookups)
    queries: list[int] = []
    real_rows = lookups.rows
    hold: asyncio.Event | None = None

    async def counted_rows(sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
        rows = await real_rows(sql, params)  # the query ran; its answer may be held back
        queries.append(len(params[0]))  # type: ignore[arg-type]
        if hold is not None:
            await hold.wait()
        return rows

    lookups.rows = counted_rows  # type: ignore[method-assign]

    async def scenario() -> None:
        nonlocal hold
        asked = [tokens[name][0] for name in ("li", "wu", "xu")] * 10 + ["flt_unknown"]
        answers = await asyncio.gather(*(store.lookup_async(t) for t in asked))
        names = [None if a is None else a.name for a in answers]
        assert names == ["li", "wu", None] * 10 + [None]
        assert sum(queries) == len(asked)
        assert len(queries) < len(asked) / 4, queries  # shared, not one query each

        hold = asyncio.Event()
        queries.clear()
        in_flight = asyncio.ensure_future(store.lookup_async(tokens["wu"][0]))
        while not queries:  # its query has run, its answer is held
            await asyncio.sleep(0.01)
        await asyncio.to_thread(store.revoke, "wu")
        after = asyncio.ensure_future(store.lookup_async(tokens["wu"][0]))
        cancelled = asyncio.ensure_future(store.lookup_async(tokens["li"][0]))
        await asyncio.sleep(0.05)
        cancelled.cancel()
        hold.set()
        found_before, found_after = await asyncio.gather(in_flight, after)
        assert found_before is not None  # asked before the revocation
        assert found_before.name == "wu"
        assert found_after is None  # asked after the revocation: its own, later query
        assert cancelled.cancelled()
        assert queries == [1, 2]  # the second query was the later askers'
        assert (await store.lookup_async(tokens["li"][0])).name == "li"  # type: ignore[union-attr]
        await store.aclose()

    try:
        asyncio.run(scenario())
    finally:
        store.close()
