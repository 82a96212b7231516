"""Many writers on one fund at once, over HTTP, with two server processes (group commit).

Eight clients post to one fund at the same time, through a server of two uvicorn workers: every
posting is answered 201 exactly once, refused postings among them fail only themselves, and the
fund's balance, event count and hash chain come out exact. A retry storm (two clients sending
the same postings at once) writes each posting once. On PostgreSQL each client sends 500
postings; on SQLite 100 (SQLite takes one writer at a time across processes, so the same count
would only make the run longer and prove nothing more).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from tests.http.conftest import LiveServer, ServerFactory
from tests.http.store_count import count_events

CLIENTS = 8
PER_CLIENT = {"postgres": 500, "sqlite": 100}
REFUSED_PER_CLIENT = 10
OPENING_FEN = 50_000_000
MAX_RETRIES = 20
"""503 (retryable) answers a client sends again, at most, per posting."""

CLI = [sys.executable, "-c", "from api.cli import main; main()"]


def backend_of(db_url: str) -> str:
    return "sqlite" if db_url.startswith("sqlite") else "postgres"


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


@dataclass
class Answer:
    """One answer to a posting, after any 503 was sent again."""

    status: int
    body: dict[str, Any]
    hit: str | None
    retried: int


def send(client: httpx.Client, row: dict[str, Any]) -> Answer:
    """POST one posting; a 503 (retryable, nothing written) is sent again after Retry-After."""
    for attempt in range(MAX_RETRIES + 1):
        response = client.post("/v1/postings", json=row)
        if response.status_code != 503:
            return Answer(
                response.status_code,
                response.json(),
                response.headers.get("idempotency-hit"),
                attempt,
            )
        assert response.headers["retry-after"], response.text
        time.sleep(0.05)
    raise AssertionError(f"{row['reference']}: still 503 after {MAX_RETRIES} retries")


def open_fund(client: httpx.Client, fund: str) -> None:
    body = {"fund": fund, "first_year": 2024, "opening_balance": yuan(OPENING_FEN)}
    response = client.post("/v1/funds", json=body)
    assert response.status_code == 201, response.text


def run_clients(
    server: LiveServer, token: str, work: list[list[dict[str, Any]]]
) -> list[list[tuple[dict[str, Any], Answer]]]:
    """Each list of rows sent by a client of its own, all clients at once (a barrier start)."""
    barrier = threading.Barrier(len(work))

    def client_run(rows: list[dict[str, Any]]) -> list[tuple[dict[str, Any], Answer]]:
        # A connection per request, so that both workers take postings (a kept-alive
        # connection stays with the worker that accepted it).
        headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
            barrier.wait(timeout=30)
            return [(row, send(client, row)) for row in rows]

    with ThreadPoolExecutor(max_workers=len(work)) as pool:
        return list(pool.map(client_run, work))


def good_row(fund: str, client: int, number: int) -> dict[str, Any]:
    """A posting of its own amount: one in five a benefit, the others contributions."""
    amount_fen = 10_000 + client * 1_000 + number
    line = "benefit" if number % 5 == 4 else "contribution"
    return {
        "fund": fund,
        "line": line,
        "amount": yuan(amount_fen),
        "value_date": f"2024-{number % 12 + 1:02d}-15",
        "reference": f"C{client}-{number:04d}",
        "memo": f"client {client}",
    }


def refused_row(fund: str, client: int, number: int) -> dict[str, Any]:
    """A posting the ledger refuses when it stages the batch (not the request's validation)."""
    row = good_row(fund, client, 900 + number)
    row["reference"] = f"BAD{client}-{number}"
    if number % 2:
        row["reverses"] = f"NEVER-POSTED-{client}-{number}"
    else:
        row["county"] = "140211"  # a county of Datong, outside the fund's region (Taiyuan)
    return row


def statement(client: httpx.Client, fund: str) -> dict[str, Any]:
    response = client.get(f"/v1/funds/{fund}/statement", params={"year": 2024})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def history(client: httpx.Client, fund: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every event of the fund through the keyset pages, and the chain's state."""
    events: list[dict[str, Any]] = []
    after = 0
    chain: dict[str, Any] = {}
    for _ in range(100):
        response = client.get(f"/v1/funds/{fund}/events", params={"after": after, "limit": 1000})
        assert response.status_code == 200, response.text
        page = response.json()
        events += page["events"]
        chain = page["chain"]
        if page["next"] is None:
            return events, chain
        after = page["next"]
    raise AssertionError("the history did not end")


def cli_events(db_url: str, fund: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "events", fund, "--limit", "1", "--format", "json", "--db", db_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def log_records(text: str) -> list[dict[str, Any]]:
    """Every JSON object of a server log, even where two workers' lines ran together."""
    decoder = json.JSONDecoder()
    records, position = [], text.find("{")
    while 0 <= position < len(text):
        try:
            record, end = decoder.raw_decode(text, position)
        except ValueError:
            end = position + 1
        else:
            if isinstance(record, dict):
                records.append(record)
        position = text.find("{", end)
    return records


def workers_that_answered(server: LiveServer, route: str) -> set[int]:
    return {r["pid"] for r in log_records(server.log_text()) if r.get("route") == route}


def assert_balance(client: httpx.Client, fund: str, rows: list[dict[str, Any]]) -> None:
    def total(line: str) -> int:
        return sum(int(r["amount"].replace(".", "")) for r in rows if r["line"] == line)

    income, expense = total("contribution"), total("benefit")
    got = statement(client, fund)
    assert got["opening_balance"] == yuan(OPENING_FEN)
    assert got["income"]["contribution"] == yuan(income)
    assert got["expense"]["benefit"] == yuan(expense)
    assert got["closing_balance"] == yuan(OPENING_FEN + income - expense)


def test_eight_clients_post_to_one_fund_at_once(
    backend_url: str, server_factory: ServerFactory
) -> None:
    server = server_factory(backend_url, workers=2)
    fund = "resident:140100"
    token = server.token("concurrent-writers", "municipal", "140100")
    opener = server.token("concurrent-opener", "provincial", "140000")
    with server.client(opener) as client:
        open_fund(client, fund)
    count = PER_CLIENT[backend_of(backend_url)]
    work = []
    for c in range(CLIENTS):
        rows = [good_row(fund, c, n) for n in range(count)]
        for n in range(REFUSED_PER_CLIENT):  # spread among the good ones
            rows.insert((n + 1) * count // (REFUSED_PER_CLIENT + 1), refused_row(fund, c, n))
        work.append(rows)

    answers = [
        pair for client_answers in run_clients(server, token, work) for pair in client_answers
    ]

    good = [(row, a) for row, a in answers if not row["reference"].startswith("BAD")]
    refused = [(row, a) for row, a in answers if row["reference"].startswith("BAD")]
    assert Counter(a.status for _, a in good) == {201: CLIENTS * count}
    assert len({row["reference"] for row, _ in good}) == CLIENTS * count
    for row, answer in good:
        assert answer.hit is None, row
        assert answer.body["reference"] == row["reference"]
        assert answer.body["amount"] == row["amount"]
        assert answer.body["line"] == row["line"]
    assert Counter(a.status for _, a in refused) == {422: CLIENTS * REFUSED_PER_CLIENT}
    for row, answer in refused:
        field = "reverses" if "reverses" in row else "county"
        assert answer.body["errors"][0]["field"] in {field, f"body.{field}"}, answer.body
    versions = sorted(a.body["version"] for _, a in good)
    assert versions == list(range(2, CLIENTS * count + 2))  # the opening is version 1

    with server.client(token) as client:
        assert_balance(client, fund, [row for row, _ in good])
        events, chain = history(client, fund)
    assert len(events) == CLIENTS * count + 1
    assert [e["version"] for e in events] == list(range(1, CLIENTS * count + 2))
    assert chain["ok"] is True, chain["findings"]
    assert chain["events"] == CLIENTS * count + 1
    assert {e["recorded_by"] for e in events[1:]} == {"concurrent-writers"}
    assert count_events(backend_url, "140000") == CLIENTS * count + 1
    checked = cli_events(backend_url, fund)
    assert checked.returncode == 0, checked.stderr
    assert f"chain intact: {CLIENTS * count + 1} events" in checked.stderr
    assert len(workers_that_answered(server, "/v1/postings")) == 2


def test_a_retry_storm_doubles_nothing(backend_url: str, server_factory: ServerFactory) -> None:
    server = server_factory(backend_url, workers=2)
    fund = "resident:140200"
    token = server.token("storm", "provincial", "140000")
    with server.client(token) as client:
        open_fund(client, fund)
    count = PER_CLIENT[backend_of(backend_url)]
    rows = [good_row(fund, 0, n) for n in range(count)]
    # Two clients each send every posting, both in the same order, at the same time: the
    # same reference reaches both workers within moments (the worst case for a double write).
    answers = run_clients(server, token, [rows, rows])

    by_reference: dict[str, list[Answer]] = {row["reference"]: [] for row in rows}
    for client_answers in answers:
        for row, answer in client_answers:
            by_reference[row["reference"]].append(answer)
    for reference, pair in by_reference.items():
        statuses = sorted(a.status for a in pair)
        assert statuses == [200, 201], (reference, [a.body for a in pair])
        first, again = sorted(pair, key=lambda a: a.status, reverse=True)
        assert first.status == 201
        assert first.hit is None
        assert again.hit == "true", reference
        assert again.body == first.body, reference

    with server.client(token) as client:
        assert_balance(client, fund, rows)
        events, chain = history(client, fund)
        assert len(events) == count + 1
        assert chain["ok"] is True
        assert count_events(backend_url, "140000") == count + 1

        changed = {**rows[7], "amount": "1.23", "memo": "another content"}
        conflict = client.post("/v1/postings", json=changed)
        assert conflict.status_code == 409, conflict.text
        assert conflict.headers["content-type"].startswith("application/problem+json")
        named = {e["message"].split(":", 1)[0] for e in conflict.json()["errors"]}
        assert named == {"amount", "memo"}, conflict.json()
        assert count_events(backend_url, "140000") == count + 1
