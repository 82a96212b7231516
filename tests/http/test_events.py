"""``GET /v1/funds/{fund}/events`` and ``GET /v1/projections/status`` against a real server."""

from __future__ import annotations

import pytest

from tests.http.conftest import LiveServer
from tests.http.routes import open_fund, problem, row


@pytest.fixture(scope="module")
def history(live_server: LiveServer) -> LiveServer:
    open_fund(live_server, "resident:140100")
    rows = [
        row("resident:140100", "benefit", f"{n}.00", f"2024-03-0{n}", f"B-{n}")
        for n in (1, 2, 3, 4)
    ]
    with live_server.client(live_server.token("events-writer", "municipal", "140100")) as client:
        assert client.post("/v1/postings/batch", json=rows).status_code == 201
    return live_server


def test_pages_by_version_with_the_chain(history: LiveServer) -> None:
    with history.client(history.token(role="auditor", region="000000")) as client:
        url = "/v1/funds/resident:140100/events"
        first = client.get(url, params={"limit": 2}).json()
        rest = client.get(url, params={"after": first["next"], "limit": 1000}).json()
    assert [e["version"] for e in first["events"]] == [1, 2]
    assert first["next"] == 2
    assert [e["version"] for e in rest["events"]] == [3, 4, 5]
    assert rest["next"] is None
    every = first["events"] + rest["events"]
    assert [e["prev_hash"] for e in every[1:]] == [e["chain_hash"] for e in every[:-1]]
    assert rest["chain"] == {
        "ok": True, "events": 5, "head": every[-1]["chain_hash"], "findings": [],
    }  # fmt: skip
    assert every[0]["topic"] == "fundledger:Fund.Opened"
    assert every[0]["payload"]["opening_balance"] == "5000.00"
    assert [e["payload"]["amount"] for e in every[1:]] == ["1.00", "2.00", "3.00", "4.00"]
    assert {e["recorded_by"] for e in every[1:]} == {"events-writer"}
    assert all(e["recorded_at"] and e["chain_ok"] for e in every)


def test_who_may_read_a_history(history: LiveServer) -> None:
    url = "/v1/funds/resident:140100/events"
    for role, region, status in (
        ("municipal", "140100", 200),
        ("provincial", "140000", 200),
        ("auditor", "140000", 200),
        ("municipal", "140200", 403),
        ("provincial", "320000", 403),
    ):
        with history.client(history.token(role=role, region=region)) as client:
            response = client.get(url, params={"limit": 1})
            assert response.status_code == status, (role, region, response.text)
    with history.client(history.token()) as client:
        assert problem(client.get(url, params={"limit": 1001}), 422)
        assert problem(client.get("/v1/funds/resident:140700/events"), 404)


def test_projections_status(history: LiveServer) -> None:
    with history.client(history.token(role="municipal", region="140100")) as client:
        rows = client.get("/v1/projections/status").json()
    assert [r["province"] for r in rows] == ["140000"]
    assert rows[0]["head"] >= 5
    assert rows[0]["lag"] == rows[0]["head"] - rows[0]["position"]
