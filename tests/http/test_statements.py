"""``GET /v1/funds/{fund}/statement``: JSON, CSV and XLSX by ``Accept``, as of, views, access.

Worked by hand: resident:140100 opens 2024 with 5000.00; contribution 6000.00, central
subsidy 4000.00 (income subtotal 10000.00), benefit 9796.74 (expense subtotal), to_upper 100.00
to adjustment:140000. Current surplus 10000.00 − 9796.74 − 100.00 = 103.26; closing 5103.26;
surplus rate 203.26 / 10000.00 = 0.020326; balance rate 0.510326; months 5103.26 × 12 /
9796.74 = 6.2510.
"""

from __future__ import annotations

import csv
import io
import zipfile

import pytest

from tests.http.conftest import LiveServer
from tests.http.routes import open_fund, problem, row

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def posted(live_server: LiveServer) -> LiveServer:
    open_fund(live_server, "resident:140100")
    open_fund(live_server, "adjustment:140000")
    rows = [
        row("resident:140100", "contribution", "6000.00", "2024-11-02", "C-1",
            sub_line="individual"),
        row("resident:140100", "subsidy", "4000.00", "2024-06-30", "S-1", level="central"),
        row("resident:140100", "benefit", "9796.74", "2024-03-31", "B-1", sub_line="inpatient"),
        row("resident:140100", "to_upper", "100.00", "2024-12-20", "L-1",
            counterparty="adjustment:140000", purpose="adjustment_levy"),
    ]  # fmt: skip
    with live_server.client(live_server.token()) as client:
        assert client.post("/v1/postings/batch", json=rows).status_code == 201
    return live_server


def test_statement_json(posted: LiveServer) -> None:
    with posted.client(posted.token(role="municipal", region="140100")) as client:
        response = client.get("/v1/funds/resident:140100/statement", params={"year": 2024})
    assert response.status_code == 200, response.text
    data = response.json()
    assert (data["fund"], data["year"], data["view"], data["as_of"]) == (
        "resident:140100", 2024, "restated", None,
    )  # fmt: skip
    assert data["opening_balance"] == "5000.00"
    assert data["income"]["contribution.individual"] == "6000.00"
    assert data["income"]["subsidy.central"] == "4000.00"
    assert data["income"]["subtotal"] == "10000.00"
    assert data["expense"]["subtotal"] == "9796.74"
    assert data["expense"]["to_upper"] == "100.00"
    assert data["expense"]["total"] == "9896.74"
    assert (data["current_surplus"], data["closing_balance"]) == ("103.26", "5103.26")
    assert data["ratios"] == {
        "current_surplus_rate": "0.020326",
        "accumulated_balance_rate": "0.510326",
        "months_of_coverage": "6.2510",
    }


def test_statement_csv_and_xlsx_by_accept(posted: LiveServer) -> None:
    with posted.client(posted.token(role="auditor", region="140000")) as client:
        url, query = "/v1/funds/resident:140100/statement", {"year": 2024}
        as_csv = client.get(url, params=query, headers={"Accept": "text/csv"})
        as_xlsx = client.get(url, params=query, headers={"Accept": XLSX})
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = {
        (r["section"], r["line"]): r["amount"] for r in csv.DictReader(io.StringIO(as_csv.text))
    }
    assert rows[("balance", "closing_balance")] == "5103.26"
    assert rows[("income", "subtotal")] == "10000.00"
    assert rows[("ratio", "months_of_coverage")] == "6.2510"
    assert as_xlsx.headers["content-type"] == XLSX
    with zipfile.ZipFile(io.BytesIO(as_xlsx.content)) as book:
        assert "xl/worksheets/sheet1.xml" in book.namelist()
        assert "Statement resident:140100 2024" in book.read("xl/sharedStrings.xml").decode()


def test_statement_as_of_and_refusals(posted: LiveServer) -> None:
    with posted.client(posted.token()) as client:
        url = "/v1/funds/resident:140100/statement"
        later = client.get(url, params={"year": 2024, "as_of": "2999-01-01T00:00:00+08:00"})
        assert later.json()["closing_balance"] == "5103.26"
        naive = client.get(url, params={"year": 2024, "as_of": "2025-01-01T00:00:00"})
        assert problem(naive, 422)["errors"][0]["field"] == "as_of"
        assert problem(client.get(url, params={"year": 2024, "view": "as_closed"}), 422)
        assert problem(client.get(url), 422)["errors"][0]["field"] == "query.year"
        missing = client.get("/v1/funds/resident:140900/statement", params={"year": 2024})
        assert problem(missing, 404)["errors"][0]["field"] == "fund"
        bad = client.get("/v1/funds/resident:14/statement", params={"year": 2024})
        problem(bad, 422)
    with posted.client(posted.token(role="municipal", region="140200")) as client:
        denied = problem(client.get(url, params={"year": 2024}), 403)
    assert "5103.26" not in str(denied)


def test_chart_png(posted: LiveServer) -> None:
    with posted.client(posted.token(role="municipal", region="140100")) as client:
        response = client.get("/v1/funds/resident:140100/chart")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert response.content[:8] == b"\x89PNG\r\n\x1a\n"
