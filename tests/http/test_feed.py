"""The change feed against a real server: pages, the SSE stream, reconnects, scope."""

from __future__ import annotations

import json
import threading
from datetime import date
from typing import Any

import httpx
import pytest

from api.usecases.ledger import open_fund, post
from domain.access import Principal
from domain.funds import FundId
from domain.lines import Line
from domain.postings import Posting
from tests.http.conftest import LiveServer
from tests.http.test_infra import assert_problem

WRITER = Principal(name="feed-writer")


def new_fund(server: LiveServer, fund_id: str) -> FundId:
    """A fund of the test's own in 140000 (each test names another region)."""
    fund = FundId.parse(fund_id)
    open_fund(server.app, WRITER, fund, first_year=2024, name="feed test")
    return fund


def write(server: LiveServer, fund: FundId, count: int, prefix: str) -> None:
    """``count`` contributions of 1.00 yuan on ``fund``, written beside the server."""
    for number in range(count):
        posting = Posting(
            fund=fund,
            line=Line.CONTRIBUTION,
            amount_fen=100,
            value_date=date(2024, 3, 1),
            reference=f"{prefix}-{number}",
        )
        post(server.app, WRITER, posting)


def head(server: LiveServer, token: str) -> int:
    """The feed's last notification id now."""
    after = 0
    with server.client(token) as client:
        for _ in range(10_000):
            page = client.get("/v1/provinces/140000/feed", params={"after": after, "limit": 1000})
            assert page.status_code == 200, page.text
            body = page.json()
            if not body["events"]:
                return after
            after = body["next"]
    raise AssertionError("the feed did not end")


def read_stream(
    server: LiveServer,
    token: str,
    *,
    after: int | None = None,
    last_event_id: int | None = None,
    max_seconds: int = 3,
    stop_after: int | None = None,
) -> list[dict[str, Any]]:
    """The events of one SSE connection, until it ends (or ``stop_after`` events)."""
    headers = {"Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    params: dict[str, int] = {"max_seconds": max_seconds}
    if after is not None:
        params["after"] = after
    events: list[dict[str, Any]] = []
    with (
        server.client(token) as client,
        client.stream(
            "GET", "/v1/provinces/140000/feed", params=params, headers=headers
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        message: dict[str, str] = {}
        for line in response.iter_lines():
            if line == "":
                if "data" in message:
                    event = json.loads(message["data"])
                    assert int(message["id"]) == event["id"]
                    assert message["event"] == event["topic"]
                    events.append(event)
                    if stop_after is not None and len(events) >= stop_after:
                        return events
                message = {}
            elif not line.startswith(":"):
                key, _, value = line.partition(": ")
                message[key] = value
    return events


def test_pages_are_keyset_on_the_notification_id(live_server: LiveServer) -> None:
    token = live_server.token(role="auditor", region="140000")
    start = head(live_server, token)
    fund = new_fund(live_server, "resident:140200")
    write(live_server, fund, 5, "page")
    with live_server.client(token) as client:
        first = client.get("/v1/provinces/140000/feed", params={"after": start, "limit": 2}).json()
        second = client.get(
            "/v1/provinces/140000/feed", params={"after": first["next"], "limit": 1000}
        ).json()
    events = first["events"] + second["events"]
    assert len(first["events"]) == 2
    assert [e["version"] for e in events if e["fund"] == str(fund)] == [1, 2, 3, 4, 5, 6]
    ids = [e["id"] for e in events]
    assert ids == sorted(set(ids))
    assert ids[0] > start
    opened, posted = events[0], events[1]
    assert opened["topic"] == "fundledger:Fund.Opened"
    assert opened["recorded_by"] == "feed-writer"
    assert posted["payload"]["amount"] == "1.00"
    assert posted["payload"]["reference"] == "page-0"
    assert posted["chain_hash"]
    assert posted["prev_hash"] == opened["chain_hash"]
    assert second["next"] == ids[-1]


def test_the_stream_follows_writes_and_resumes_from_last_event_id(
    live_server: LiveServer,
) -> None:
    token = live_server.token(role="provincial", region="140000")
    start = head(live_server, token)
    fund = new_fund(live_server, "resident:140300")
    writer = threading.Thread(target=write, args=(live_server, fund, 30, "sse"))
    writer.start()
    try:
        part = read_stream(live_server, token, after=start, max_seconds=30, stop_after=12)
    finally:
        writer.join()
    # Reconnect as a browser would: the original URL, and the last id received.
    rest = read_stream(live_server, token, after=start, last_event_id=part[-1]["id"], max_seconds=2)
    events = part + rest
    ids = [e["id"] for e in events]
    assert ids == sorted(set(ids)), "an event repeated or out of order"
    mine = [e for e in events if e["fund"] == str(fund)]
    assert [e["version"] for e in mine] == list(range(1, 32))
    assert [e["payload"]["reference"] for e in mine[1:]] == [f"sse-{n}" for n in range(30)]


def test_an_idle_stream_ends_by_itself(live_server: LiveServer) -> None:
    token = live_server.token(role="auditor", region="000000")
    now = head(live_server, token)
    assert read_stream(live_server, token, after=now, max_seconds=1) == []


@pytest.mark.parametrize(
    ("role", "region", "status"),
    [("municipal", "140100", 403), ("provincial", "220000", 403), ("auditor", "000000", 200)],
)
def test_the_feed_is_scoped_by_role_and_region(
    live_server: LiveServer, role: str, region: str, status: int
) -> None:
    token = live_server.token(role=role, region=region)
    with live_server.client(token) as client:
        page = client.get("/v1/provinces/140000/feed")
        stream = client.get(
            "/v1/provinces/140000/feed",
            headers={"Accept": "text/event-stream"},
            params={"max_seconds": 1},
        )
    assert page.status_code == status
    assert stream.status_code == status
    if status == 403:
        body = assert_problem(page, 403)
        assert "events" not in body


@pytest.mark.parametrize(
    ("params", "headers", "field"),
    [
        ({"limit": 1001}, {}, "query.limit"),
        ({"limit": 0}, {}, "query.limit"),
        ({"after": -1}, {}, "query.after"),
        ({"after": "x"}, {}, "query.after"),
        ({}, {"Accept": "text/event-stream", "Last-Event-ID": "abc"}, "header.last-event-id"),
    ],
)
def test_bad_feed_requests_name_the_field(
    live_server: LiveServer, params: dict[str, Any], headers: dict[str, str], field: str
) -> None:
    token = live_server.token(role="auditor", region="140000")
    with live_server.client(token) as client:
        response = client.get("/v1/provinces/140000/feed", params=params, headers=headers)
    body = assert_problem(response, 422)
    assert [e["field"] for e in body["errors"]] == [field]


def test_a_region_that_is_not_a_province_is_refused(live_server: LiveServer) -> None:
    token = live_server.token(role="auditor", region="000000")
    with live_server.client(token) as client:
        body = assert_problem(client.get("/v1/provinces/140100/feed"), 422)
    assert body["errors"][0]["field"] == "province"


def test_the_feed_needs_a_token(live_server: LiveServer) -> None:
    response = httpx.get(f"{live_server.url}/v1/provinces/140000/feed")
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


def test_writes_over_http_carry_their_author_into_the_feed(live_server: LiveServer) -> None:
    writer = live_server.token("feed-office", role="provincial", region="140000")
    reader = live_server.token(role="auditor", region="140000")
    start = head(live_server, reader)
    with live_server.client(writer) as client:
        opened = client.post(
            "/v1/funds",
            json={"fund": "resident:140400", "first_year": 2024},
            headers={"X-Request-ID": "feed-open-1"},
        )
        assert opened.status_code == 201, opened.text
        posted = client.post(
            "/v1/postings",
            json={
                "fund": "resident:140400",
                "line": "benefit",
                "amount": "7.05",
                "value_date": "2024-06-30",
                "reference": "HTTP-1",
            },
            headers={"X-Request-ID": "feed-post-1"},
        )
        assert posted.status_code == 201, posted.text
    with live_server.client(reader) as client:
        events = client.get("/v1/provinces/140000/feed", params={"after": start}).json()["events"]
    mine = [e for e in events if e["fund"] == "resident:140400"]
    assert [(e["recorded_by"], e["request_id"]) for e in mine] == [
        ("feed-office", "feed-open-1"),
        ("feed-office", "feed-post-1"),
    ]
    assert mine[1]["payload"]["amount"] == "7.05"
    assert mine[1]["topic"] == "fundledger:Fund.BenefitPaid"
