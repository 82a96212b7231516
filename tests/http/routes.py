"""What the route tests share: problem checks, opening funds, counting events beside the server."""

from __future__ import annotations

from typing import Any

import httpx

from domain.funds import FundId
from tests.http.conftest import LiveServer

PROBLEM_JSON = "application/problem+json"


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response is a problem+json of ``status``; answers its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body: dict[str, Any] = response.json()
    assert set(body) >= {"type", "title", "status", "detail", "errors"}
    assert body["status"] == status
    assert "Traceback" not in response.text
    return body


def fields(body: dict[str, Any]) -> list[str]:
    """The ``field`` of every entry of a problem's ``errors``."""
    return [e["field"] for e in body["errors"]]


def open_fund(
    server: LiveServer, fund: str, *, first_year: int = 2024, opening_balance: str = "5000.00"
) -> None:
    """Open a fund through the API, as the province's officer."""
    with server.client(server.token(role="provincial", region="140000")) as client:
        body = {"fund": fund, "first_year": first_year, "opening_balance": opening_balance}
        response = client.post("/v1/funds", json=body)
        assert response.status_code in (200, 201), response.text


def event_count(server: LiveServer, fund: str) -> int:
    """How many events the fund has in the store (read beside the server)."""
    return len(list(server.app.ledger.fund_events(FundId.parse(fund))))


def row(
    fund: str, line: str, amount: str, value_date: str, reference: str, **extra: str
) -> dict[str, str]:
    """One posting as JSON."""
    return {
        "fund": fund,
        "line": line,
        "amount": amount,
        "value_date": value_date,
        "reference": reference,
        **extra,
    }
