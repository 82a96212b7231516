"""``GET /v1/audit/verify`` on a real server (SQLite, PostgreSQL): who may, and what it finds."""

from __future__ import annotations

import pytest

from domain.funds import FundId
from tests.http.conftest import LiveServer
from tests.http.routes import problem
from tests.scenario import posting
from tests.test_audit import execute


@pytest.fixture(scope="module")
def books(live_server: LiveServer) -> LiveServer:
    live_server.app.ledger.open_fund(FundId.parse("resident:140400"), first_year=2024)
    live_server.app.ledger.import_postings(
        [posting("resident:140400 subsidy/standard@central 5000.00 2024-06-30 S-AUDIT")]
    )
    return live_server


def test_verify_by_role_and_region(books: LiveServer) -> None:
    with books.client(books.token(role="auditor", region="000000")) as auditor:
        clean = auditor.get("/v1/audit/verify")
        assert clean.status_code == 200, clean.text
        assert clean.json()["ok"] is True
        assert clean.json()["findings"] == []
        assert clean.json()["checked"]["funds"] >= 1
        one = auditor.get("/v1/audit/verify", params={"fund": "resident:140400", "year": 2024})
        assert one.json()["checked"] == {
            "funds": 1,
            "events": 2,
            "statements": 1,
            "anchors": 0,
        }
    with books.client(books.token(role="provincial", region="140000")) as province:
        assert province.get("/v1/audit/verify", params={"province": "140000"}).json()["ok"]
        problem(province.get("/v1/audit/verify", params={"province": "320000"}), 403)
    with books.client(books.token(role="municipal", region="140400")) as city:
        problem(city.get("/v1/audit/verify", params={"fund": "resident:140400"}), 403)


def test_verify_names_a_changed_read_model_row(books: LiveServer) -> None:
    execute(
        books.db_url,
        "UPDATE fl_postings SET amount_fen = amount_fen + 1 WHERE reference = 'S-AUDIT'",
    )
    with books.client(books.token(role="auditor", region="140000")) as auditor:
        found = auditor.get("/v1/audit/verify", params={"fund": "resident:140400"}).json()
    assert found["ok"] is False
    assert {
        "check": "statement",
        "fund": "resident:140400",
        "version": None,
        "detail": "2024: income.subsidy is 5000.01 in the read model but 5000.00 on replay",
    } in found["findings"]
