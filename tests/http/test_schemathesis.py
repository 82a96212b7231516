"""Schemathesis against the real server's OpenAPI document: no 5xx, no answer off its schema.

The document is read from the live server (``/openapi.json``) and each of its operations is
called over HTTP with a provincial officer's token, on a store that holds a few funds with
postings (so that some calls find something): the document's own examples, requests that fit
the schema and requests that do not. The checks: no server error, and every response (status,
content type, body) as the document declares it. The run is deterministic (derandomised
Hypothesis, no example database) and small, a few requests per operation.

One test per operation, from the app's own document at collection time; the operation itself
is taken from the document the live server serves (the same code).
"""

from __future__ import annotations

from datetime import date

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode, checks

from api.http.app import create_app
from api.settings import Settings
from api.usecases import settlements
from api.usecases.ledger import open_fund, post
from api.usecases.settlements import SettlementKey
from domain.access import Principal, Role
from domain.funds import FundId
from domain.lines import Line
from domain.postings import Posting
from tests.http.conftest import LiveServer

SETUP = Principal(name="schemathesis-setup")
MAX_EXAMPLES = 8
"""Requests per operation: its examples, generated ones that fit the schema or not, and
ones about the funds, province and settlement on record."""
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


def document_operations() -> list[tuple[str, str]]:
    """(method, path) of every operation of the app's OpenAPI document."""
    document = create_app(Settings(database_url="memory://")).openapi()
    return [
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    ]


OPERATIONS = document_operations()


def setup_books(server: LiveServer) -> None:
    """Funds with postings in 2024, as the document's examples name them."""
    for fund_id, opening_fen in (("resident:140100", 3_522_600), ("resident:140200", 900_000)):
        fund = FundId.parse(fund_id)
        open_fund(server.app, SETUP, fund, first_year=2022, opening_balance_fen=opening_fen)
        for number, line in enumerate((Line.CONTRIBUTION, Line.BENEFIT)):
            posting = Posting(fund, line, 120_000 + number, date(2024, 11, 2), f"ST-{number}")
            post(server.app, SETUP, posting)
    open_fund(server.app, SETUP, FundId.parse("adjustment:140000"), first_year=2022)
    drafter = Principal("schemathesis-drafter", Role.PROVINCIAL, "140000")
    settlements.draft(server.app, drafter, SETTLEMENT)


SETTLEMENT = SettlementKey("140000", 2024)
ON_RECORD = {
    "fund": "resident:140100",
    "year": 2024,
    "province": "140000",
    "settlement_id": SETTLEMENT.id,
}
"""Path parameters that name what the store holds (so that some requests find it)."""


class Api:
    """The live server's document, and the Authorization header of the run's token."""

    def __init__(self, server: LiveServer) -> None:
        setup_books(server)
        token = server.token("schemathesis", "provincial", "140000")
        self.headers = {"Authorization": f"Bearer {token}"}
        self.schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")


@pytest.fixture(scope="module")
def api(live_server: LiveServer) -> Api:
    return Api(live_server)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_operation_answers_as_its_document_says(api: Api, method: str, path: str) -> None:
    operation = api.schema[path][method]
    strategies = [
        *api.schema.get_strategies_from_examples(operation),
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    names = {p.name for p in operation.path_parameters}
    query = {p.name for p in operation.query} & {"year"}
    if names or query:
        known = {name: ON_RECORD[name] for name in names}
        on_record = operation.as_strategy(
            GenerationMode.POSITIVE,
            path_parameters=known or None,
            query={name: ON_RECORD[name] for name in query} or None,
        )
        strategies += [on_record, on_record]  # half the generated requests

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(strategies))
    def call(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=api.headers, checks=CHECKS, timeout=60)

    call()
