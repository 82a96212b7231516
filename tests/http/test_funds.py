"""``POST /v1/funds`` against a real server on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from domain.funds import FundId
from tests.http.conftest import LiveServer
from tests.http.routes import fields, problem


def test_open_then_the_same_again_then_other_particulars(live_server: LiveServer) -> None:
    token = live_server.token("prov-funds", role="provincial", region="140000")
    body = {"fund": "resident:140100", "first_year": 2022, "opening_balance": "35226.00",
            "name": "太原市"}  # fmt: skip
    with live_server.client(token) as client:
        first = client.post("/v1/funds", json=body, headers={"Idempotency-Key": "k-1"})
        assert first.status_code == 201, first.text
        assert first.json() == {
            "fund": "resident:140100",
            "first_year": 2022,
            "opening_balance": "35226.00",
            "name": "太原市",
        }
        again = client.post("/v1/funds", json=body, headers={"Idempotency-Key": "k-1"})
        assert (again.status_code, again.json()) == (200, first.json())
        other = client.post("/v1/funds", json={**body, "first_year": 2023})
        assert fields(problem(other, 409)) == ["fund"]
    (opened,) = live_server.app.ledger.fund_events(FundId.parse("resident:140100"))
    assert opened.recorded_by == "prov-funds"  # type: ignore[attr-defined]


def test_a_municipal_or_outside_caller_may_not_open(live_server: LiveServer) -> None:
    body = {"fund": "resident:140200", "first_year": 2024}
    with live_server.client(live_server.token(role="municipal", region="140200")) as client:
        problem(client.post("/v1/funds", json=body), 403)
    with live_server.client(live_server.token(role="provincial", region="320000")) as client:
        problem(client.post("/v1/funds", json=body), 403)
    with live_server.client(live_server.token(role="auditor", region="000000")) as client:
        problem(client.post("/v1/funds", json=body), 403)
    assert live_server.app.ledger.find_fund(FundId.parse("resident:140200")) is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"opening_balance": 100}, "body.opening_balance"),
        ({"opening_balance": "1.001"}, "body.opening_balance"),
        ({"opening_balance": "1e3"}, "body.opening_balance"),
        ({"opening_balance": "NaN"}, "body.opening_balance"),
        ({"opening_balance": "10000000000000.00"}, "body.opening_balance"),
        ({"first_year": "2024"}, "body.first_year"),
        ({"fund": "pension:140300"}, "body.fund"),
        ({"colour": "red"}, "body.colour"),
    ],
)
def test_bad_particulars_are_refused_by_field(
    live_server: LiveServer, change: dict[str, object], field: str
) -> None:
    body = {"fund": "resident:140300", "first_year": 2024, **change}
    with live_server.client(live_server.token()) as client:
        assert fields(problem(client.post("/v1/funds", json=body), 422)) == [field]
    assert live_server.app.ledger.find_fund(FundId.parse("resident:140300")) is None
