"""``POST /v1/funds/{fund}/enrolment`` against a real server."""

from __future__ import annotations

from domain.funds import FundId
from tests.http.conftest import LiveServer
from tests.http.routes import event_count, fields, open_fund, problem


def test_record_repeat_refuse_correct(live_server: LiveServer) -> None:
    open_fund(live_server, "resident:140100")
    url = "/v1/funds/resident:140100/enrolment"
    body = {"year": 2024, "county": "140105", "enrolled": 120000}
    with live_server.client(live_server.token("enrol", "municipal", "140100")) as client:
        first = client.post(url, json=body)
        assert (first.status_code, first.json()) == (201, {
            "fund": "resident:140100", "year": 2024, "county": "140105", "enrolled": 120000,
            "previous": None, "status": "recorded",
        })  # fmt: skip
        before = event_count(live_server, "resident:140100")
        same = client.post(url, json=body)
        assert (same.status_code, same.json()["status"]) == (200, "unchanged")
        other = client.post(url, json={**body, "enrolled": 121000})
        assert fields(problem(other, 422)) == ["enrolled"]
        assert event_count(live_server, "resident:140100") == before
        fixed = client.post(url, json={**body, "enrolled": 121000, "correct": True})
        assert (fixed.status_code, fixed.json()["status"], fixed.json()["previous"]) == (
            201, "corrected", 120000,
        )  # fmt: skip
        outside = client.post(url, json={**body, "county": "150105"})
        assert fields(problem(outside, 422)) == ["county"]
        assert fields(problem(client.post(url, json={**body, "enrolled": "10"}), 422)) == [
            "body.enrolled"
        ]
    last = list(live_server.app.ledger.fund_events(FundId.parse("resident:140100")))[-1]
    assert last.recorded_by == "enrol"  # type: ignore[attr-defined]
    with live_server.client(live_server.token(role="auditor", region="000000")) as client:
        problem(client.post(url, json=body), 403)
