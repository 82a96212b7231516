"""A whole year end over HTTP, on a real server over SQLite and PostgreSQL.

Shanxi 2024 as in tests/test_settlement.py: Taiyuan (140100) and Datong (140200) run gaps, the
adjustment fund holds their levies. Officer A drafts, A's approval is refused, B approves and
posts; a retried post answers the same; the report's files are the same bytes every time; a
city's finance officer sees only its own pool and may not clear.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from api.usecases.settlements import SettlementKey
from tests.http.conftest import LiveServer
from tests.http.routes import problem
from tests.scenario import CITY, CITY2, PROVINCE_ADJUSTMENT, posting
from tests.test_settlement import POSTINGS

PROVINCE = "140000"
YEAR = {"province": PROVINCE, "year": 2024}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def books(live_server: LiveServer) -> LiveServer:
    """The two pools and the adjustment fund, with 2023 and 2024 on their books."""
    app = live_server.app
    for fund, balance in ((CITY, 1_000_000_00), (CITY2, 500_000_00), (PROVINCE_ADJUSTMENT, 0)):
        app.ledger.open_fund(fund, first_year=2023, opening_balance_fen=balance)
    app.ledger.import_postings([posting(p) for p in POSTINGS])
    return live_server


def head(server: LiveServer) -> int:
    """The province's last notification id: what a write moves."""
    return int(server.app.ledger.province(PROVINCE).recorder.max_notification_id() or 0)


def sequential_policy() -> str:
    national = Path("clearing/policies/national.toml").read_text(encoding="utf-8")
    return national.replace('province = "000000"', 'province = "140000"').replace(
        'version = "2018.1"', 'version = "what-if"'
    )


def draws(settlement: dict[str, Any]) -> dict[str, str]:
    return {p["fund"]: p["draw"] for p in settlement["pools"]}


def test_a_year_end_over_http(books: LiveServer) -> None:
    server = books
    a, b = server.token("officer-li"), server.token("officer-zhao")
    with server.client(a) as li, server.client(b) as zhao:
        levied = li.post(f"/v1/provinces/{PROVINCE}/levies/post", params={"year": 2024})
        assert levied.status_code == 200, levied.text
        assert [x["status"] for x in levied.json()["levies"]] == ["posted", "posted"]
        assert levied.json()["total"] == "360000.00"

        before = head(server)
        dry = li.post("/v1/settlements/dry-run", json=YEAR)
        assert dry.status_code == 200, dry.text
        assert draws(dry.json()) == {"resident:140100": "300000.00", "resident:140200": "60000.00"}
        other = li.post("/v1/settlements/what-if", json={**YEAR, "policy": sequential_policy()})
        assert other.status_code == 200, other.text
        assert set(draws(other.json()["what_if"]).values()) == {"0.00"}  # balances go first
        assert other.json()["what_if"]["policy"]["version"] == "what-if"
        assert head(server) == before  # nothing recorded

        drafted = li.post("/v1/settlements", json=YEAR, headers={"Idempotency-Key": "d-1"})
        assert drafted.status_code == 201, drafted.text
        body = drafted.json()
        assert (body["status"], body["id"]) == ("draft", SettlementKey(PROVINCE, 2024).id)
        assert draws(body) == draws(dry.json())
        again = li.post("/v1/settlements", json=YEAR, headers={"Idempotency-Key": "d-1"})
        assert (again.status_code, again.headers.get("Idempotency-Hit")) == (200, "true")
        assert again.json() == body

        refused = li.post(f"/v1/settlements/{body['id']}/approve")
        problem(refused, 403)
        assert "officer-li drafted this settlement" in refused.text
        assert "300000.00" not in refused.text
        assert "60000.00" not in refused.text
        approved = zhao.post(f"/v1/settlements/{body['id']}/approve")
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "approved"

        key = {"Idempotency-Key": "post-2024"}
        posted = zhao.post(f"/v1/settlements/{body['id']}/post", headers=key)
        assert posted.status_code == 200, posted.text
        assert posted.json()["status"] == "posted"
        after_post = head(server)
        retried = zhao.post(f"/v1/settlements/{body['id']}/post", headers=key)
        assert (retried.status_code, retried.json()) == (200, posted.json())
        assert retried.headers.get("Idempotency-Hit") == "true"
        assert (
            "already posted"
            in problem(zhao.post(f"/v1/settlements/{body['id']}/post"), 409)["detail"]
        )
        assert head(server) == after_post  # the draws were written once

        files = [
            zhao.get(f"/v1/settlements/{body['id']}", headers={"Accept": kind})
            for kind in ("text/csv", "text/csv", XLSX, XLSX)
        ]
        assert all(f.status_code == 200 for f in files), [f.text for f in files]
        assert files[0].content == files[1].content
        assert files[0].content.decode("utf-8").splitlines()[1].split(",")[3] == "posted"
        assert files[2].content == files[3].content
        assert files[2].content[:2] == b"PK"
        assert zhao.get(f"/v1/settlements/{body['id']}").json() == posted.json()

        owed = zhao.get(f"/v1/provinces/{PROVINCE}/owed", params={"year": 2024})
        assert owed.status_code == 200, owed.text
    events = server.app.ledger.fund_events(PROVINCE_ADJUSTMENT)
    draw_events = [e for e in events if getattr(e, "reference", "").startswith("DRAW-2024-")]
    assert [e.recorded_by for e in draw_events] == ["officer-zhao"] * 2  # type: ignore[attr-defined]


def test_a_city_sees_its_own_pool_and_may_not_clear(books: LiveServer) -> None:
    server = books
    settlement = f"/v1/settlements/{SettlementKey(PROVINCE, 2023).id}"
    with server.client(server.token("prov-2023")) as prov:
        assert prov.post("/v1/settlements", json={**YEAR, "year": 2023}).status_code == 201
    before = head(server)
    with server.client(server.token("taiyuan-finance", "municipal", "140100")) as city:
        for path, body in (
            ("/v1/settlements", {**YEAR, "year": 2023}),
            ("/v1/settlements/dry-run", YEAR),
            ("/v1/settlements/what-if", YEAR),
            (f"{settlement}/approve", None),
            (f"{settlement}/post", None),
            (f"/v1/provinces/{PROVINCE}/levies/post?year=2024", None),
        ):
            refused = city.post(path, json=body)
            problem(refused, 403)
            assert ".00" not in refused.text, path  # no figure of what was refused
        mine = city.get(settlement)
        assert mine.status_code == 200, mine.text
        assert [p["fund"] for p in mine.json()["pools"]] == ["resident:140100"]
        assert mine.json()["adjustment_fund"]["balance"] is None
        levies = city.get(f"/v1/provinces/{PROVINCE}/levies", params={"year": 2024}).json()
        assert [x["fund"] for x in levies["levies"]] == ["resident:140100"]
        assert levies["balance"] is None
        assert levies["total"] is None
    assert head(server) == before
    with server.client(server.token("suzhou-finance", "municipal", "320500")) as outside:
        problem(outside.get(settlement), 403)


def test_unknown_settlements_and_bad_bodies(books: LiveServer) -> None:
    with books.client(books.token()) as client:
        problem(client.get("/v1/settlements/not-an-id"), 404)
        problem(client.get(f"/v1/settlements/{SettlementKey(PROVINCE, 2030).id}"), 404)
        for body, field in (
            ({"province": "140100", "year": 2024}, "body.province"),
            ({"province": PROVINCE, "year": "2024"}, "body.year"),
            ({**YEAR, "colour": "red"}, "body.colour"),
            ({**YEAR, "policy": "name = 1"}, "policy"),
        ):
            refused = problem(client.post("/v1/settlements/dry-run", json=body), 422)
            assert {e["field"] for e in refused["errors"]} == {field}, refused
