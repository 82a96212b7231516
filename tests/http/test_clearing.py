"""The clearing inputs over HTTP (SQLite, PostgreSQL): assessments, plans, levies, catch-up.

The provincial office records them; a city, an auditor or another province is refused (403)
and nothing is written; bad bodies are refused field by field.
"""

from __future__ import annotations

import pytest

from domain.funds import FundId
from tests.http.conftest import LiveServer
from tests.http.routes import problem
from tests.scenario import posting

FUND = "resident:140300"
NANTONG = "resident:320600"
PLAN = {"year": 2025, "county": "140302", "contributions": "150000000.00",
        "subsidies": "12000000.00", "spending": "180000000.00"}  # fmt: skip


@pytest.fixture(scope="module")
def pools(live_server: LiveServer) -> LiveServer:
    app = live_server.app
    app.ledger.open_fund(FundId.parse(FUND), first_year=2024)
    app.ledger.open_fund(FundId.parse(NANTONG), first_year=2020)
    app.ledger.record_enrolment(FundId.parse(NANTONG), 2020, "320681", 1000)
    rows = (
        "contribution/individual 600000.00 2020-11-02 C20",
        "subsidy/standard@county 500000.00 2020-06-30 S20",
        "other_income 20000.00 2020-12-20 CATCHUP-320681-2020",
    )
    app.ledger.import_postings([posting(f"{NANTONG} {r} county=320681") for r in rows])
    return live_server


def head(server: LiveServer, province: str = "140000") -> int:
    return int(server.app.ledger.province(province).recorder.max_notification_id() or 0)


def test_the_province_records_assessments_and_plans(pools: LiveServer) -> None:
    with pools.client(pools.token("prov-inputs")) as client:
        graded = client.post(f"/v1/funds/{FUND}/assessments", json={"year": 2025, "grade": "B"})
        assert (graded.status_code, graded.json()) == (200, {"recorded": True})
        again = client.post(f"/v1/funds/{FUND}/assessments", json={"year": 2025, "grade": "B"})
        assert again.json() == {"recorded": False}
        planned = client.post(f"/v1/funds/{FUND}/plans", json=PLAN)
        assert (planned.status_code, planned.json()) == (200, {"recorded": True})
        assert "grade" in str(problem(
            client.post(f"/v1/funds/{FUND}/assessments", json={"year": 2025, "grade": "Z"}), 422
        )["errors"])  # fmt: skip


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"contributions": 150000000}, "body.contributions"),
        ({"contributions": "1.001"}, "contributions"),
        ({"spending": "1e9"}, "spending"),
        ({"county": "320681"}, "county"),
        ({"year": "2025"}, "body.year"),
        ({"extra": "x"}, "body.extra"),
    ],
)
def test_bad_plans_write_nothing(pools: LiveServer, change: dict[str, object], field: str) -> None:
    before = head(pools)
    with pools.client(pools.token()) as client:
        refused = problem(client.post(f"/v1/funds/{FUND}/plans", json={**PLAN, **change}), 422)
    assert field in [e["field"] for e in refused["errors"]], refused
    assert head(pools) == before


def test_only_the_province_clears(pools: LiveServer) -> None:
    before = head(pools)
    for role, region in (("municipal", "140300"), ("auditor", "140000"), ("provincial", "320000")):
        with pools.client(pools.token(role=role, region=region)) as client:
            problem(client.post(f"/v1/funds/{FUND}/plans", json=PLAN), 403)
            problem(
                client.post(f"/v1/funds/{FUND}/assessments", json={"year": 2025, "grade": "A"}), 403
            )
            problem(client.post("/v1/provinces/140000/levies/post", params={"year": 2025}), 403)
    assert head(pools) == before


def test_levies_and_the_catch_up_are_read(pools: LiveServer) -> None:
    with pools.client(pools.token(role="auditor", region="000000")) as auditor:
        levies = auditor.get("/v1/provinces/140000/levies", params={"year": 2025})
        assert levies.status_code == 200, levies.text
        assert levies.json()["adjustment_fund"] == "adjustment:140000"
        schedule = auditor.get(f"/v1/funds/{NANTONG}/catch-up")
        assert schedule.status_code == 200, schedule.text
        first = schedule.json()[0]
        assert (first["county"], first["owed"], first["due"], first["paid"]) == (
            "320681", "100000.00", "20000.00", "20000.00"
        )  # fmt: skip
        problem(auditor.get("/v1/funds/resident:140300/catch-up"), 422)
        problem(auditor.get("/v1/provinces/140100/levies", params={"year": 2025}), 422)
    with pools.client(pools.token(role="municipal", region="140300")) as city:
        problem(city.get(f"/v1/funds/{NANTONG}/catch-up"), 403)
