"""``GET /v1/ratios``, ``/v1/warnings`` and ``/v1/subsidies`` against a real server.

Worked by hand (2024, complete): resident:140100 opens 5000.00, income 10000.00, expense
9000.00: surplus rate 0.100000, closing 6000.00, months 6000.00 × 12 / 9000.00 = 8.0000.
resident:140200 opens 5000.00, income 100.00, expense 900.00: a deficit, warned red.
"""

from __future__ import annotations

import pytest

from tests.http.conftest import LiveServer
from tests.http.routes import open_fund, problem, row


@pytest.fixture(scope="module")
def books(live_server: LiveServer) -> LiveServer:
    for fund in ("resident:140100", "resident:140200"):
        open_fund(live_server, fund)
    rows = [
        row("resident:140100", "contribution", "10000.00", "2024-06-30", "C-1"),
        row("resident:140100", "benefit", "9000.00", "2024-06-30", "B-1"),
        row("resident:140200", "contribution", "100.00", "2024-06-30", "C-1"),
        row("resident:140200", "benefit", "900.00", "2024-06-30", "B-1"),
    ]
    with live_server.client(live_server.token()) as client:
        assert client.post("/v1/postings/batch", json=rows).status_code == 201
        enrol = {"year": 2024, "county": "140105", "enrolled": 10}
        assert client.post("/v1/funds/resident:140100/enrolment", json=enrol).status_code == 201
    return live_server


def test_ratios_for_the_province_and_for_a_city(books: LiveServer) -> None:
    with books.client(books.token(role="provincial", region="140000")) as client:
        rows = client.get("/v1/ratios", params={"year": 2024}).json()
    assert [r["fund"] for r in rows] == ["resident:140100", "resident:140200"]
    taiyuan = rows[0]
    assert (taiyuan["income_subtotal"], taiyuan["expense_subtotal"]) == ("10000.00", "9000.00")
    assert taiyuan["closing_balance"] == "6000.00"
    assert taiyuan["current_surplus_rate"] == "0.100000"
    assert taiyuan["months_of_coverage"] == "8.0000"
    with books.client(books.token(role="municipal", region="140100")) as client:
        mine = client.get("/v1/ratios", params={"year": 2024}).json()
        assert [r["fund"] for r in mine] == ["resident:140100"]
        problem(client.get("/v1/ratios", params={"year": 2024, "region": "140200"}), 403)
        assert problem(client.get("/v1/ratios", params={"year": "x"}), 422)


def test_warnings_most_severe_first(books: LiveServer) -> None:
    with books.client(books.token(role="auditor", region="000000")) as client:
        warned = client.get("/v1/warnings", params={"year": 2024, "region": "140000"}).json()
    assert (warned[0]["fund"], warned[0]["warning_level"]) == ("resident:140200", "red")
    assert all(w["warning_level"] != "green" for w in warned)
    red = warned[0]["warnings"][0]
    assert red["level"] == "red"
    assert "current deficit of 800.00" in red["message"]


def test_subsidies(books: LiveServer) -> None:
    with books.client(books.token(role="municipal", region="140100")) as client:
        (item,) = client.get("/v1/subsidies", params={"year": 2024}).json()
        one = client.get("/v1/subsidies", params={"year": 2024, "fund": "resident:140100"})
        other = client.get("/v1/subsidies", params={"year": 2024, "fund": "resident:140200"})
    assert (item["fund"], item["enrolled"], item["standard_per_person"]) == (
        "resident:140100", 10, "670.00",
    )  # fmt: skip
    assert (item["due"], item["received"], item["outstanding"]) == ("6700.00", "0.00", "6700.00")
    assert one.json() == [item]
    problem(other, 403)
