"""Budgets over HTTP on a real server (SQLite, PostgreSQL): draft, approve, adjust, read.

Taiyuan's 2025 budget as in tests/test_budgets.py: income 2,212,000,000.00, expense
2,133,000,000.00, on an opening balance of 850,000,000.00. One officer of the city drafts;
another approves: the drafter's own approval is refused.
"""

from __future__ import annotations

import pytest

from domain.funds import FundId
from tests.http.conftest import LiveServer
from tests.http.routes import problem
from tests.test_budgets import ADJUSTMENT, APPROVAL, TAIYUAN_2025

FUND = "resident:140100"
BASE = f"/v1/funds/{FUND}/budgets/2025"
BODY = {"lines": TAIYUAN_2025, "opening_balance": "850000000.00"}


def head(server: LiveServer) -> int:
    """The province's last notification id: every write (a budget's too) moves it."""
    return int(server.app.ledger.province("140000").recorder.max_notification_id() or 0)


@pytest.fixture(scope="module")
def fund(live_server: LiveServer) -> LiveServer:
    live_server.app.ledger.open_fund(FundId.parse(FUND), first_year=2023)
    return live_server


def test_draft_approve_adjust_and_read(fund: LiveServer) -> None:
    server = fund
    maker = server.token("taiyuan-maker", "municipal", "140100")
    checker = server.token("taiyuan-checker", "municipal", "140100")
    with server.client(maker) as a, server.client(checker) as b:
        drafted = a.post(f"{BASE}/draft", json=BODY)
        assert drafted.status_code == 200, drafted.text
        assert drafted.json() == {
            "fund": FUND, "year": 2025, "version": 1, "status": "draft", "changed": True,
            "opening_balance": "850000000.00", "current_surplus": "79000000.00",
            "closing_balance": "929000000.00",
        }  # fmt: skip
        assert a.post(f"{BASE}/draft", json=BODY).json()["changed"] is False
        before = head(server)
        own = a.post(f"{BASE}/approve", json={"ref": APPROVAL})
        assert "taiyuan-maker drafted" in problem(own, 403)["detail"]
        assert "79000000.00" not in own.text
        assert head(server) == before
        approved = b.post(f"{BASE}/approve", json={"ref": APPROVAL})
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "approved"
        csv_file = "line,amount\n" + "".join(
            f"{k},{'2000000000.00' if k == 'benefit' else v}\n" for k, v in TAIYUAN_2025.items()
        )
        adjusted = b.post(
            f"{BASE}/adjust",
            params={"ref": ADJUSTMENT},
            content=csv_file.encode("utf-8"),
            headers={"Content-Type": "text/csv"},
        )
        assert adjusted.status_code == 200, adjusted.text
        assert adjusted.json()["status"] == "adjusted"
        shown = a.get(BASE).json()
        assert shown["original"]["expense"]["benefit"] == "1950000000.00"
        assert shown["current"]["expense"]["benefit"] == "2000000000.00"
        assert [v["status"] for v in shown["versions"]] == ["draft", "approved", "adjusted"]
        execution = a.get(f"{BASE}/execution")
        assert execution.status_code == 200, execution.text
        assert execution.json()["approval_ref"] == ADJUSTMENT


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lines": {"benefit": 100}}, "body.lines.benefit"),
        ({"lines": {"benefit": "1.001"}}, "body.lines.benefit"),
        ({"lines": {"benefit": "1e3"}}, "body.lines.benefit"),
        ({"lines": {"pension": "1.00"}}, "body.lines.pension"),
        ({"lines": {"benefit": "-1.00"}}, "body.lines.benefit"),
        ({"lines": TAIYUAN_2025, "colour": "red"}, "body.colour"),
    ],
)
def test_bad_budgets_write_nothing(fund: LiveServer, body: dict[str, object], field: str) -> None:
    before = head(fund)
    with fund.client(fund.token(role="municipal", region="140100")) as client:
        refused = problem(
            client.post("/v1/funds/resident:140100/budgets/2026/draft", json=body), 422
        )
    assert field in [e["field"] for e in refused["errors"]], refused
    assert head(fund) == before


def test_outside_the_region_is_refused(fund: LiveServer) -> None:
    with fund.client(fund.token(role="municipal", region="140200")) as other_city:
        problem(other_city.post(f"{BASE}/draft", json=BODY), 403)
        problem(other_city.get(BASE), 403)
    with fund.client(fund.token(role="auditor", region="140000")) as auditor:
        problem(auditor.post(f"{BASE}/draft", json=BODY), 403)
    bad_csv = b"line,amount\nbenefit,12.345\ninterest,1.00\ninterest,2.00\n"
    with fund.client(fund.token(role="municipal", region="140100")) as client:
        refused = client.post(
            "/v1/funds/resident:140100/budgets/2027/draft",
            content=bad_csv,
            headers={"Content-Type": "text/csv"},
        )
        messages = [e["message"] for e in problem(refused, 422)["errors"]]
    assert any(m.startswith("upload:2: benefit:") for m in messages), messages
    assert any("upload:4: line: interest is already given on line 3" in m for m in messages)
