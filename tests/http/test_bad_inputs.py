"""Bad inputs, route by route: each is a 4xx problem naming its field, and writes nothing.

One table (``CASES``) of refused requests against a real server: money as a JSON number, three
decimals, an exponent, zero, negative or 10^13 yuan, empty strings, unknown funds and lines,
a county outside the fund's region, a posting in a closed year, impossible and compact dates,
extra fields, malformed JSON, a body over the server's limit, and for the batch upload a wrong
header, a GBK file and a ragged row (docs/contract.md, "Conventions" and "HTTP API"). Around
each request the events of the provinces are counted straight from the store: a refused request
writes nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.usecases.ledger import close_year, open_fund, post
from domain.access import Principal
from domain.funds import FundId
from domain.lines import Line
from domain.postings import Posting
from domain.today import china_today
from tests.http.conftest import LiveServer
from tests.http.store_count import count_events

SETUP = Principal(name="bad-inputs-setup")
FUND = "resident:140100"
BODY_LIMIT = 64 * 1024
TOMORROW = (china_today() + timedelta(days=1)).isoformat()
"""The first value date after today in China: refused (the day the cash moved is past)."""
"""The server's body limit in this module (FUNDLEDGER_MAX_BODY_BYTES), so that a body over
it stays small."""
PROVINCES = ("140000", "610000")


@pytest.fixture(scope="module")
def server(module_store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with a small body limit, a fund with a closed year and a posting on record."""
    workdir = tmp_path_factory.mktemp("bad-inputs")
    live = LiveServer(module_store_url, workdir, env={"FUNDLEDGER_MAX_BODY_BYTES": str(BODY_LIMIT)})
    try:
        fund = FundId.parse(FUND)
        open_fund(live.app, SETUP, fund, first_year=2022, opening_balance_fen=100_000)
        open_fund(live.app, SETUP, FundId.parse("resident:610100"), first_year=2022)
        close_year(live.app, SETUP, fund, 2022)
        posted = Posting(fund, Line.CONTRIBUTION, 5_000, date(2024, 4, 1), "ON-RECORD-1")
        post(live.app, SETUP, posted)
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def client(server: LiveServer) -> httpx.Client:
    return server.client(server.token("bad-inputs", "provincial", "140000"))


def row(**changes: Any) -> dict[str, Any]:
    """A valid posting with ``changes`` (a value of ``...`` leaves the field out)."""
    base: dict[str, Any] = {
        "fund": FUND,
        "line": "contribution",
        "amount": "12.00",
        "value_date": "2024-05-01",
        "reference": "BAD-1",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


CSV_HEADER = "fund,line,amount,value_date,reference"


def csv_rows(*lines: str) -> str:
    return "\n".join((CSV_HEADER, *lines)) + "\n"


GOOD_CSV_ROW = f"{FUND},contribution,3.00,2024-05-02,CSV-GOOD-1"


@dataclass(frozen=True)
class Bad:
    """A refused request: where it goes, what it sends, the status and the field named."""

    id: str
    path: str
    fields: tuple[str | tuple[str, ...], ...]
    """Each must be the ``field`` of an entry of ``errors`` (``line N: column`` for batches);
    a tuple: one of its names."""
    json: Any = None
    content: bytes | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "POST"
    params: dict[str, Any] = field(default_factory=dict)
    status: int = 422


def posting(case_id: str, body: Any, *fields: str, status: int = 422) -> Bad:
    return Bad(case_id, "/v1/postings", fields, json=body, status=status)


def batch_csv(case_id: str, text: str | bytes, *fields: str) -> Bad:
    data = text.encode() if isinstance(text, str) else text
    return Bad(
        case_id, "/v1/postings/batch", fields, content=data, headers={"Content-Type": "text/csv"}
    )


CASES: tuple[Bad, ...] = (
    # POST /v1/postings: money
    posting("amount-json-integer", row(amount=1200), "body.amount"),
    posting("amount-json-float", row(amount=1200.0), "body.amount"),
    posting("amount-three-decimals", row(amount="12.345"), "body.amount"),
    posting("amount-exponent", row(amount="1e3"), "body.amount"),
    posting("amount-zero", row(amount="0.00"), "body.amount"),
    posting("amount-negative", row(amount="-5.00"), "body.amount"),
    posting("amount-huge", row(amount="10000000000000.00"), "body.amount"),
    posting("amount-empty", row(amount=""), "body.amount"),
    posting("amount-nan", row(amount="NaN"), "body.amount"),
    posting("amount-missing", row(amount=...), "body.amount"),
    # POST /v1/postings: what it posts to
    posting("fund-unknown", row(fund="resident:140200"), "fund", status=404),
    posting("fund-malformed", row(fund="resident-140100"), "body.fund"),
    posting("line-unknown", row(line="salary"), "body.line"),
    posting("line-a-number", row(line=5), "body.line"),
    posting("county-outside-region", row(county="140211"), "county"),
    posting("closed-year", row(value_date="2022-06-01"), "value_date"),
    posting("date-impossible", row(value_date="2024-02-30"), "body.value_date"),
    posting("date-compact", row(value_date="20240101"), "body.value_date"),
    posting("date-after-today", row(value_date=TOMORROW), "value_date"),
    posting("date-years-ahead", row(value_date="2062-03-01"), "value_date"),
    posting("reference-empty", row(reference=""), "body.reference"),
    posting("reference-a-number", row(reference=123), "body.reference"),
    posting("extra-field", row(colour="red"), "body.colour"),
    posting("subsidy-without-level", row(line="subsidy"), "level"),
    posting("to-upper-without-counterparty", row(line="to_upper"), "counterparty"),
    posting("reverses-unknown", row(reverses="NEVER-POSTED"), "reverses"),
    posting("same-reference-other-content", row(reference="ON-RECORD-1"), "reference", status=409),
    posting("body-an-array", [row()], "body"),
    Bad("malformed-json", "/v1/postings", ("body",), content=b'{"fund": "resident:14',
        headers={"Content-Type": "application/json"}),
    Bad("empty-body", "/v1/postings", ("body",), content=b"",
        headers={"Content-Type": "application/json"}),
    Bad("oversized-body", "/v1/postings", (), status=413,
        json=row(memo="x" * (BODY_LIMIT + 1))),
    # POST /v1/funds
    Bad("fund-first-year-a-string", "/v1/funds", ("body.first_year",),
        json={"fund": "resident:140300", "first_year": "2024"}),
    Bad("fund-first-year-too-early", "/v1/funds", ("body.first_year",),
        json={"fund": "resident:140300", "first_year": 1800}),
    Bad("fund-opening-a-number", "/v1/funds", ("body.opening_balance",),
        json={"fund": "resident:140300", "first_year": 2024, "opening_balance": 100}),
    Bad("fund-opening-three-decimals", "/v1/funds", ("body.opening_balance",),
        json={"fund": "resident:140300", "first_year": 2024, "opening_balance": "1.005"}),
    Bad("fund-scheme-unknown", "/v1/funds", ("body.fund",),
        json={"fund": "pension:140300", "first_year": 2024}),
    Bad("fund-extra-field", "/v1/funds", ("body.owner",),
        json={"fund": "resident:140300", "first_year": 2024, "owner": "me"}),
    Bad("fund-open-with-other-particulars", "/v1/funds", ("fund",), status=409,
        json={"fund": FUND, "first_year": 2023}),
    # POST /v1/postings/batch, JSON
    Bad("batch-json-three-decimals-row-3", "/v1/postings/batch", ("line 3: amount",),
        json=[row(reference="B-1"), row(reference="B-2"), row(reference="B-3", amount="1.234")]),
    Bad("batch-json-number-row-2", "/v1/postings/batch", ("line 2: amount",),
        json=[row(reference="B-4"), row(reference="B-5", amount=12)]),
    Bad("batch-json-every-bad-row", "/v1/postings/batch",
        ("line 1: value_date", "line 3: line"),
        json=[row(reference="B-6", value_date="2024-13-01"), row(reference="B-7"),
              row(reference="B-8", line="salary")]),
    Bad("batch-json-closed-year-row-2", "/v1/postings/batch", ("line 2: value_date",),
        json=[row(reference="B-9"), row(reference="B-10", value_date="2022-03-01")]),
    Bad("batch-json-after-today-row-2", "/v1/postings/batch",
        ("line 2: value_date", "line 3: amount"),
        json=[row(reference="B-11"), row(reference="B-12", value_date=TOMORROW),
              row(reference="B-13", amount="1.234")]),
    Bad("batch-json-not-an-array", "/v1/postings/batch", ("body",), json=row()),
    Bad("batch-json-malformed", "/v1/postings/batch", ("body",), content=b"[{",
        headers={"Content-Type": "application/json"}),
    # POST /v1/postings/batch, CSV
    batch_csv("batch-csv-wrong-header",
              "fund,line,amt,value_date,reference\n" f"{FUND},contribution,3.00,2024-05-02,C-1\n",
              "line 1: amt", "line 1: amount"),
    batch_csv("batch-csv-gbk",
              csv_rows(GOOD_CSV_ROW, f"{FUND},contribution,3.00,2024-05-02,C-2").encode()
              + f"{FUND},contribution,4.00,2024-05-03,个人缴费-4\n".encode("gbk"),
              "line 4: file"),
    batch_csv("batch-csv-ragged-row",
              csv_rows(GOOD_CSV_ROW, f"{FUND},contribution,3.00,2024-05-02"), "line 3: row"),
    batch_csv("batch-csv-three-decimals",
              csv_rows(GOOD_CSV_ROW, f"{FUND},contribution,3.001,2024-05-02,C-5"),
              "line 3: amount"),
    batch_csv("batch-csv-county-outside",
              "fund,line,amount,value_date,reference,county\n"
              f"{FUND},contribution,3.00,2024-05-02,C-6,\n"
              f"{FUND},contribution,3.00,2024-05-02,C-7,140211\n",
              "line 3: county"),
    batch_csv("batch-csv-empty", "", "line 1: header"),
    # POST /v1/funds/{fund}/enrolment
    Bad("enrolment-figure-a-string", f"/v1/funds/{FUND}/enrolment", ("body.enrolled",),
        json={"year": 2024, "county": "140105", "enrolled": "1200"}),
    Bad("enrolment-negative", f"/v1/funds/{FUND}/enrolment", ("body.enrolled",),
        json={"year": 2024, "county": "140105", "enrolled": -1}),
    Bad("enrolment-county-outside", f"/v1/funds/{FUND}/enrolment", ("county",),
        json={"year": 2024, "county": "140211", "enrolled": 1200}),
    Bad("enrolment-extra-field", f"/v1/funds/{FUND}/enrolment", ("body.note",),
        json={"year": 2024, "county": "140105", "enrolled": 1200, "note": "x"}),
    Bad("enrolment-unknown-fund", "/v1/funds/resident:140200/enrolment", ("fund",), status=404,
        json={"year": 2024, "county": "140202", "enrolled": 1200}),
    # POST /v1/funds/{fund}/years/{year}/close
    Bad("close-a-closed-year", f"/v1/funds/{FUND}/years/2022/close", ("year",)),
    Bad("close-a-year-not-over", f"/v1/funds/{FUND}/years/{date.today().year}/close", ("year",)),
    Bad("close-year-not-a-number", f"/v1/funds/{FUND}/years/last/close", ("path.year",)),
    Bad("close-unknown-fund", "/v1/funds/resident:140200/years/2023/close", ("fund",),
        status=404),
    # budgets
    Bad("budget-amount-a-number", f"/v1/funds/{FUND}/budgets/2025/draft",
        ("body.lines.benefit",), json={"lines": {"contribution": "10.00", "benefit": 9}}),
    Bad("budget-unknown-line", f"/v1/funds/{FUND}/budgets/2025/draft",
        (("lines.salary", "body.lines.salary", "salary"),),
        json={"lines": {"salary": "10.00"}}),
    Bad("budget-three-decimals", f"/v1/funds/{FUND}/budgets/2025/draft",
        (("lines.contribution", "body.lines.contribution", "contribution"),),
        json={"lines": {"contribution": "10.005"}}),
    Bad("budget-extra-field", f"/v1/funds/{FUND}/budgets/2025/draft", ("body.total",),
        json={"lines": {"contribution": "10.00"}, "total": "10.00"}),
    Bad("budget-approve-nothing-drafted", f"/v1/funds/{FUND}/budgets/2029/approve", ("year",),
        json={"ref": "R-1"}, status=404),
    # clearing inputs
    Bad("assessment-unknown-grade", f"/v1/funds/{FUND}/assessments", ("grade",),
        json={"year": 2024, "grade": "Z"}),
    Bad("assessment-year-a-string", f"/v1/funds/{FUND}/assessments", ("body.year",),
        json={"year": "2024", "grade": "A"}),
    Bad("plan-amount-a-number", f"/v1/funds/{FUND}/plans", ("body.contributions",),
        json={"year": 2024, "county": "140105", "contributions": 10, "subsidies": "1.00",
              "spending": "1.00"}),
    Bad("plan-county-outside", f"/v1/funds/{FUND}/plans", ("county",),
        json={"year": 2024, "county": "140211", "contributions": "10.00", "subsidies": "1.00",
              "spending": "1.00"}),
    # settlements
    Bad("settlement-province-a-city", "/v1/settlements", ("body.province",),
        json={"province": "140100", "year": 2024}),
    Bad("settlement-policy-not-toml", "/v1/settlements", ("policy",),
        json={"province": "140000", "year": 2024, "policy": "this = is [ not toml"}),
    Bad("settlement-extra-field", "/v1/settlements", ("body.force",),
        json={"province": "140000", "year": 2024, "force": True}),
    Bad("settlement-unknown-id", "/v1/settlements/not-an-id/approve", ("id",), status=404),
    Bad("levies-year-missing", "/v1/provinces/140000/levies/post", ("query.year",)),
    # the auditors' seals and checkpoints
    Bad("seal-province-a-city", "/v1/audit/seals", ("body.province",),
        json={"province": "140100", "year": 2024}),
    Bad("seal-year-too-early", "/v1/audit/seals", ("body.year",),
        json={"province": "140000", "year": 1800}),
    Bad("seal-extra-field", "/v1/audit/seals", ("body.key",),
        json={"province": "140000", "year": 2024, "key": "mine"}),
    Bad("checkpoint-every-zero", "/v1/audit/checkpoints", ("body.every",),
        json={"province": "140000", "every": 0}),
    Bad("checkpoint-province-missing", "/v1/audit/checkpoints", ("body.province",),
        json={"every": 10}),
    # reads
    Bad("statement-year-not-a-number", f"/v1/funds/{FUND}/statement", ("query.year",),
        method="GET", params={"year": "last"}),
    Bad("statement-as-of-without-offset", f"/v1/funds/{FUND}/statement", ("as_of",),
        method="GET", params={"year": 2024, "as_of": "2024-06-01T00:00:00"}),
    Bad("statement-view-unknown", f"/v1/funds/{FUND}/statement", ("query.view",),
        method="GET", params={"year": 2024, "view": "draft"}),
    Bad("events-limit-over-1000", f"/v1/funds/{FUND}/events", ("query.limit",),
        method="GET", params={"limit": 1001}),
)  # fmt: skip


def province_events(server: LiveServer) -> dict[str, int]:
    return {p: count_events(server.db_url, p) for p in PROVINCES}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_bad_input_is_a_problem_naming_its_field_and_writes_nothing(
    server: LiveServer, client: httpx.Client, case: Bad
) -> None:
    before = province_events(server)
    options: dict[str, Any] = {"params": case.params, "headers": case.headers}
    if case.content is not None:
        options["content"] = case.content
    elif case.json is not None:
        options["json"] = case.json
    response = client.request(case.method, case.path, **options)

    assert response.status_code == case.status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == case.status
    assert {"type", "title", "detail", "errors"} <= set(body)
    named = [error["field"] for error in body["errors"]]
    for expected in case.fields:
        names = (expected,) if isinstance(expected, str) else expected
        assert set(names) & set(named), f"{names} not among {named}: {json.dumps(body)}"
    assert "Traceback" not in response.text
    assert province_events(server) == before


def test_the_case_table_covers_every_write_route(tmp_path: Path) -> None:
    """Every route that writes has bad inputs in the table (a new one fails here)."""
    from api.http.app import create_app
    from api.settings import Settings

    paths = create_app(Settings(database_url=f"sqlite:///{tmp_path}/unused.db")).openapi()
    writes = {p for p, operations in paths["paths"].items() if "post" in operations}
    exempt = {
        "/v1/settlements/dry-run",
        "/v1/settlements/what-if",
        "/v1/settlements/{settlement_id}/post",
        "/v1/funds/{fund}/budgets/{year}/adjust",
    }
    covered = {_template(c.path) for c in CASES if c.method == "POST"}
    missing = sorted(writes - covered - exempt)
    assert not missing, f"write routes without a bad input in CASES: {missing}"


TEMPLATES = (
    (re.compile(r"^/v1/funds/[^/]+/"), "/v1/funds/{fund}/"),
    (re.compile(r"/(years|budgets)/[^/]+/"), r"/\1/{year}/"),
    (re.compile(r"^/v1/provinces/[^/]+/"), "/v1/provinces/{province}/"),
    (re.compile(r"^/v1/settlements/(?!dry-run|what-if)[^/]+/"), "/v1/settlements/{settlement_id}/"),
)


def _template(path: str) -> str:
    """The route template a concrete path of the table belongs to."""
    for pattern, template in TEMPLATES:
        path = pattern.sub(template, path)
    return path
