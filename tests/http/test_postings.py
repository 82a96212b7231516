"""``POST /v1/postings`` and ``POST /v1/postings/batch`` against a real server.

On SQLite and PostgreSQL: exact answers, the idempotency hit, the 409 naming the fields that
differ, a refused batch writing nothing (events counted before and after), a CSV upload, and
a GBK-encoded upload named by its line.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from domain.funds import FundId
from tests.http.conftest import LiveServer
from tests.http.routes import event_count, fields, open_fund, problem, row

CSV_HEADER = "fund,line,sub_line,level,amount,value_date,reference,memo\n"


@pytest.fixture(scope="module")
def funds(live_server: LiveServer) -> LiveServer:
    for fund in ("resident:140100", "resident:140200", "resident:140300", "adjustment:140000"):
        open_fund(live_server, fund)
    return live_server


def test_one_posting_then_its_repeat_then_other_content(funds: LiveServer) -> None:
    token = funds.token("taiyuan", role="municipal", region="140100")
    body = row("resident:140100", "contribution", "6000.00", "2024-11-02", "C-1",
               sub_line="individual", county="140105", memo="十一月")  # fmt: skip
    with funds.client(token) as client:
        first = client.post("/v1/postings", json=body)
        assert first.status_code == 201, first.text
        assert "idempotency-hit" not in first.headers
        expected: dict[str, Any] = {
            **body,
            "level": None,
            "counterparty": None,
            "purpose": None,
            "reverses": None,
            "version": 2,
        }
        assert first.json() == expected
        again = client.post("/v1/postings", json=body)
        assert again.status_code == 200
        assert again.headers["idempotency-hit"] == "true"
        assert again.json() == expected
        before = event_count(funds, "resident:140100")
        other = client.post(
            "/v1/postings", json={**body, "amount": "6000.01", "value_date": "2024-11-03"}
        )
        conflict = problem(other, 409)
    assert [e["message"].split(":")[0] for e in conflict["errors"]] == ["value_date", "amount"]
    assert conflict["errors"][1]["message"] == (
        "amount: the original has '6000.00', this request '6000.01'"
    )
    assert event_count(funds, "resident:140100") == before
    events = list(funds.app.ledger.fund_events(FundId.parse("resident:140100")))
    assert events[-1].recorded_by == "taiyuan"  # type: ignore[attr-defined]
    assert events[-1].request_id == first.headers["x-request-id"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        (6000, "money must be a decimal string"),
        (6000.5, "money must be a decimal string"),
        ("6000.001", "is not an amount of yuan with at most two decimals"),
        ("6e3", "is not an amount of yuan with at most two decimals"),
        ("", "is not an amount of yuan"),
        ("NaN", "is not an amount of yuan"),
        ("0.00", "must be a positive amount"),
        ("-1.00", "must be a positive amount"),
        ("10000000000000.00", "is 10^13 yuan or more"),
    ],
)
def test_bad_money_is_refused_naming_the_field(
    funds: LiveServer, amount: object, reason: str
) -> None:
    body = {**row("resident:140200", "benefit", "1.00", "2024-03-01", "M-1"), "amount": amount}
    before = event_count(funds, "resident:140200")
    with funds.client(funds.token()) as client:
        refused = problem(client.post("/v1/postings", json=body), 422)
    assert fields(refused) == ["body.amount"]
    assert reason in refused["errors"][0]["message"]
    assert event_count(funds, "resident:140200") == before


def test_a_json_batch_then_a_bad_one_that_writes_nothing(funds: LiveServer) -> None:
    good = [
        row("resident:140300", "contribution", "1000.00", "2024-12-01", "J-1"),
        row("resident:140300", "benefit", "250.50", "2024-12-02", "J-2"),
    ]
    with funds.client(funds.token(role="municipal", region="140300")) as client:
        done = client.post("/v1/postings/batch", json=good, headers={"Idempotency-Key": "b-1"})
        assert (done.status_code, done.json()) == (201, {"accepted": 2, "duplicates": 0})
        again = client.post("/v1/postings/batch", json=good)
        assert (again.status_code, again.json()) == (201, {"accepted": 0, "duplicates": 2})
        before = event_count(funds, "resident:140300")
        bad = [
            row("resident:140300", "benefit", "1.00", "2024-12-03", "J-3"),
            {**row("resident:140300", "benefit", "1.00", "2024-12-03", "J-4"), "amount": 1},
            row("resident:140300", "subsidy", "1.00", "2024-12-03", "J-5"),
            row("resident:140300", "benefit", "9.99", "2024-12-02", "J-2"),
        ]
        refused = problem(client.post("/v1/postings/batch", json=bad), 422)
    assert fields(refused) == ["line 2: amount", "line 3: level", "line 4: reference"]
    assert event_count(funds, "resident:140300") == before
    assert "nothing was written" in refused["detail"]


def test_a_csv_upload_and_a_gbk_one(funds: LiveServer) -> None:
    text = CSV_HEADER + (
        "resident:140300,subsidy,standard,central,4000.00,2024-06-30,S-1,\n"
        "\n"
        "resident:140300,interest,,,12.34,2024-12-21,I-1,利息\n"
    )
    csv_type = {"Content-Type": "text/csv"}
    with funds.client(funds.token()) as client:
        done = client.post("/v1/postings/batch", content=text.encode(), headers=csv_type)
        assert (done.status_code, done.json()) == (201, {"accepted": 2, "duplicates": 0})
        before = event_count(funds, "resident:140300")
        gbk = (
            CSV_HEADER
            + "resident:140300,interest,,,1.00,2024-12-22,I-2,\n"
            + ("resident:140300,interest,,,1.00,2024-12-23,I-3,个人缴费\n")
        )
        refused = problem(
            client.post("/v1/postings/batch", content=gbk.encode("gbk"), headers=csv_type), 422
        )
        assert fields(refused) == ["line 3: file"]
        assert "not UTF-8" in refused["errors"][0]["message"]
        bad = (
            CSV_HEADER
            + "resident:140300,interest,,,1.00,2024-12-22,I-2,\n"
            + ("resident:140300,benefit,,,abc,2024-12-23,I-3,\n")
        )
        refused = problem(
            client.post("/v1/postings/batch", content=bad.encode(), headers=csv_type), 422
        )
        assert fields(refused) == ["line 3: amount"]
        other = client.post(
            "/v1/postings/batch", content=b"x", headers={"Content-Type": "text/plain"}
        )
        problem(other, 415)
        problem(client.post("/v1/postings/batch", content=b"{", headers={
            "Content-Type": "application/json"}), 422)  # fmt: skip
    assert event_count(funds, "resident:140300") == before


def test_a_batch_outside_the_callers_region_is_refused_whole(funds: LiveServer) -> None:
    rows = [
        row("resident:140200", "benefit", "1.00", "2024-12-03", "R-1"),
        row("resident:140100", "benefit", "1.00", "2024-12-03", "R-1"),
    ]
    before = event_count(funds, "resident:140200")
    with funds.client(funds.token(role="municipal", region="140200")) as client:
        problem(client.post("/v1/postings/batch", json=rows), 403)
    assert event_count(funds, "resident:140200") == before


@pytest.mark.parametrize(
    ("field", "text"),
    [("memo", "a\x00b"), ("memo", "bell\x07"), ("reference", "R\x00"), ("memo", "\ud800")],
)
def test_text_a_store_cannot_keep_is_refused(funds: LiveServer, field: str, text: str) -> None:
    body = {**row("resident:140200", "benefit", "1.00", "2024-03-02", "T-1"), field: text}
    before = event_count(funds, "resident:140200")
    with funds.client(funds.token()) as client:
        raw = json.dumps(body).encode()  # a lone surrogate travels as its JSON escape
        response = client.post(
            "/v1/postings", content=raw, headers={"Content-Type": "application/json"}
        )
    assert fields(problem(response, 422)) == [f"body.{field}"]
    assert event_count(funds, "resident:140200") == before
