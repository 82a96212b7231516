"""The HTTP infrastructure against a real server: identity, problems, health, metrics, logs."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.http.app import create_app
from api.settings import Settings
from api.usecases.ledger import open_fund, post
from domain.access import Principal
from domain.funds import FundId
from domain.lines import Line
from domain.postings import Posting
from tests.http.conftest import LiveServer, ServerFactory, init_store, pids_answering

OPERATOR = Principal(name="infra-tests")

PROBLEM_JSON = "application/problem+json"


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response is a problem+json of ``status`` with every member of docs/contract.md."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert set(body) >= {"type", "title", "status", "detail", "errors"}
    assert body["status"] == status
    assert "Traceback" not in response.text
    return body


def test_healthz_answers_without_a_token(live_server: LiveServer) -> None:
    response = httpx.get(f"{live_server.url}/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["store"] == "reachable"
    assert isinstance(body["projection_lag"], dict)
    assert response.headers["x-request-id"]


def test_unknown_route_and_method_are_problems(live_server: LiveServer) -> None:
    with live_server.client() as client:
        assert_problem(client.get("/v1/no-such-thing"), 404)
        body = assert_problem(client.delete("/healthz"), 405)
        assert body["title"] == "Method Not Allowed"


def test_the_store_unreachable_is_503(server_factory: ServerFactory) -> None:
    server = server_factory("postgresql://postgres@127.0.0.1:1/test")
    response = httpx.get(f"{server.url}/healthz")
    body = assert_problem(response, 503)
    assert body["store"] == "unreachable"
    assert response.headers["retry-after"] == "1"
    assert httpx.get(f"{server.url}/metrics").status_code == 200
    token_refused = httpx.get(
        f"{server.url}/v1/provinces/140000/feed", headers={"Authorization": "Bearer flt_x"}
    )
    assert_problem(token_refused, 503)


def test_a_store_without_tables_is_503(server_factory: ServerFactory, tmp_path: Path) -> None:
    server = server_factory(f"sqlite:///{tmp_path}/empty.db")
    body = assert_problem(httpx.get(f"{server.url}/healthz"), 503)
    assert body["store"] == "not_initialised"
    assert "fundledger init" in body["detail"]


def _lags_until_none(live_server: LiveServer) -> list[int]:
    """The province's lag as ``/healthz`` reports it, asked until it is 0 (at most 20 s)."""
    deadline = time.monotonic() + 20
    lags: list[int] = []
    while not lags or (lags[-1] != 0 and time.monotonic() < deadline):
        lags.append(httpx.get(f"{live_server.url}/healthz").json()["projection_lag"]["320000"])
        time.sleep(0.02)
    return lags


def test_healthz_and_metrics_report_the_projection_lag(live_server: LiveServer) -> None:
    fund = FundId.parse("resident:320100")
    open_fund(live_server.app, OPERATOR, fund, first_year=2024)
    assert _lags_until_none(live_server)[-1] == 0
    # Two postings written beside the server (as the CLI does) in one transaction: 2 events
    # behind until the server's background projector applies them (within its poll of
    # 0.5 s), then none. A projector pass can fall between the write and the first request:
    # then the lag is never seen, and two more postings are written (at most three times).
    seen: list[list[int]] = []
    for attempt in range(3):
        live_server.app.ledger.import_postings(
            [
                Posting(fund, Line.CONTRIBUTION, 100, date(2024, 5, 1), f"lag-{attempt}-{n}")
                for n in range(2)
            ]
        )
        seen.append(_lags_until_none(live_server))
        if seen[-1][0] != 0:
            break
    assert all(set(lags) <= {2, 0} and lags[-1] == 0 for lags in seen), seen
    assert seen[-1][0] == 2, seen
    text = httpx.get(f"{live_server.url}/metrics").text
    assert 'fundledger_projection_lag_events{province="320000"} 0.0' in text


def test_the_lag_gauge_is_kept_current_without_a_scrape(backend_url: str) -> None:
    """Each server process measures the lag on its own, not only when /metrics is asked."""
    from api.bootstrap import bootstrap_app
    from api.http import metrics
    from api.http.ops import LagWatcher

    app = bootstrap_app(Settings(database_url=backend_url))
    try:
        fund = FundId.parse("resident:330100")
        open_fund(app, OPERATOR, fund, first_year=2024)
        post(app, OPERATOR, Posting(fund, Line.CONTRIBUTION, 100, date(2024, 5, 1), "gauge-1"))
        gauge = metrics.PROJECTION_LAG.labels("330000")
        watcher = LagWatcher(app, every=0.05)
        watcher.start()
        try:
            deadline = time.monotonic() + 20
            while gauge._value.get() != 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert gauge._value.get() == 2
            app.read_models.catch_up()
            while gauge._value.get() != 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert gauge._value.get() == 0
        finally:
            watcher.stop()
    finally:
        app.close()


def test_metrics_count_requests_by_route_template(live_server: LiveServer) -> None:
    token = live_server.token(role="auditor", region="000000")
    with live_server.client(token) as client:
        for _ in range(3):
            assert client.get("/v1/provinces/220000/feed").status_code == 200
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    label = 'method="GET",route="/v1/provinces/{province}/feed",status="200"'
    assert f"fundledger_http_requests_total{{{label}}}" in text
    assert "fundledger_http_request_duration_seconds_bucket" in text
    assert "fundledger_postings_written_total" in text
    assert "fundledger_group_commit_batch_size_bucket" in text
    assert "/v1/provinces/220000/feed" not in text


def counted(text: str, route: str, status: int) -> float:
    """The request counter of a route and status in a metrics text."""
    prefix = f'fundledger_http_requests_total{{method="GET",route="{route}",status="{status}"}} '
    return sum(float(line[len(prefix) :]) for line in text.splitlines() if line.startswith(prefix))


def test_metrics_add_up_every_worker(backend_url: str, server_factory: ServerFactory) -> None:
    server = server_factory(backend_url, workers=2)
    with server.client() as client:
        pids_answering(server, lambda: client.get("/healthz", headers={"Connection": "close"}))
        time.sleep(0.5)  # a request is counted and logged just after its answer is sent
        text = client.get("/metrics").text
    answered = [
        line
        for line in server.log_text().splitlines()
        if line.startswith("{") and '"route": "/healthz"' in line and '"status": 200' in line
    ]
    assert counted(text, "/healthz", 200) == len(answered)


def test_request_ids_are_kept_or_made(live_server: LiveServer) -> None:
    kept = httpx.get(f"{live_server.url}/healthz", headers={"X-Request-ID": "office-7.a_1"})
    assert kept.headers["x-request-id"] == "office-7.a_1"
    made = httpx.get(f"{live_server.url}/healthz", headers={"X-Request-ID": "two words"})
    assert made.headers["x-request-id"] != "two words"
    assert len(made.headers["x-request-id"]) == 32


def test_logs_name_the_caller_and_never_a_token(live_server: LiveServer) -> None:
    token = live_server.token("logged-caller", role="auditor", region="140000")
    unknown = "flt_" + "s3cret" * 7
    with live_server.client(token) as client:
        ok = client.get("/v1/provinces/140000/feed", headers={"X-Request-ID": "log-check-1"})
        assert ok.status_code == 200
    with live_server.client(unknown) as client:
        assert client.get("/v1/provinces/140000/feed").status_code == 401
    time.sleep(0.3)  # a request is logged just after its answer is sent
    log = live_server.log_text()
    assert token not in log
    assert unknown not in log
    assert "s3cret" not in log
    assert "Bearer" not in log
    lines = [json.loads(line) for line in log.splitlines() if "log-check-1" in line]
    assert len(lines) == 1
    line = lines[0]
    assert line["principal"] == "logged-caller"
    assert line["route"] == "/v1/provinces/{province}/feed"
    assert line["status"] == 200
    assert line["method"] == "GET"
    assert line["duration_ms"] >= 0
    assert "authorization" not in json.dumps(line).lower()


def test_a_body_over_the_limit_is_413(sqlite_url: str, server_factory: ServerFactory) -> None:
    init_store(sqlite_url)
    server = server_factory(sqlite_url, env={"FUNDLEDGER_MAX_BODY_BYTES": "1000"})
    with server.client() as client:
        declared = client.post("/v1/provinces/140000/feed", content=b"x" * 2000)
        assert_problem(declared, 413)
        chunked = client.post("/v1/provinces/140000/feed", content=iter([b"x" * 600, b"x" * 600]))
        assert_problem(chunked, 413)
        small = client.post("/v1/provinces/140000/feed", content=b"x" * 999)
        assert_problem(small, 405)


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_a_programmer_error_is_a_500_without_its_traceback(sqlite_url: str) -> None:
    from fastapi.testclient import TestClient  # its import warns of a deprecation

    init_store(sqlite_url)
    api = create_app(Settings(database_url=sqlite_url))

    @api.get("/v1/broken")
    def broken() -> None:
        raise RuntimeError("secret detail of the code")

    with TestClient(api, raise_server_exceptions=False) as client:
        response = client.get("/v1/broken")
    body = assert_problem(response, 500)
    assert "secret detail" not in response.text
    assert "RuntimeError" not in response.text
    assert response.headers["x-request-id"] in body["detail"]


def test_the_openapi_document_names_the_bearer_scheme(live_server: LiveServer) -> None:
    document = httpx.get(f"{live_server.url}/openapi.json").json()
    assert document["info"]["title"] == "fundledger"
    assert document["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    operation = document["paths"]["/v1/provinces/{province}/feed"]["get"]
    assert operation["operationId"] == "get_province_feed"
    assert "/healthz" in document["paths"]


def test_one_process_serves_concurrent_reads_while_it_writes(live_server: LiveServer) -> None:
    """Threads of one worker share its read models' connections: no request may fail.

    With plain connections (no lock per connection) this load makes statements fail (500):
    a catch-up's transaction and another thread's statement meet on one connection.
    """
    token = live_server.token(role="provincial", region="140000")
    fund = "resident:140500"
    with live_server.client(token) as client:
        assert client.post("/v1/funds", json={"fund": fund, "first_year": 2024}).status_code == 201

    def write(number: int) -> int:
        with live_server.client(token) as client:
            row = {
                "fund": fund,
                "line": "contribution",
                "amount": "1.00",
                "value_date": "2024-04-01",
                "reference": f"CC-{number}",
            }
            return client.post("/v1/postings", json=row).status_code

    def read(_: int) -> int:
        with live_server.client(token) as client:
            return client.get(f"/v1/funds/{fund}/statement", params={"year": 2024}).status_code

    with ThreadPoolExecutor(max_workers=24) as pool:
        writes = pool.map(write, range(150))
        reads = pool.map(read, range(300))
        assert set(writes) == {201}
        assert set(reads) == {200}
    with live_server.client(token) as client:
        statement = client.get(f"/v1/funds/{fund}/statement", params={"year": 2024}).json()
    assert statement["income"]["contribution"] == "150.00"


def test_an_invalid_body_without_a_valid_token_is_401_not_422(live_server: LiveServer) -> None:
    """Validation runs before the route's dependencies: the caller is authenticated first."""
    for headers in ({}, {"Authorization": "Bearer flt_unknown"}):
        answer = httpx.post(
            f"{live_server.url}/v1/postings",
            content=b"{not json",
            headers={"Content-Type": "application/json", **headers},
        )
        assert_problem(answer, 401)
        assert answer.headers["WWW-Authenticate"] == "Bearer"
    with live_server.client(live_server.token()) as client:
        answer = client.post(
            "/v1/postings", content=b"{not json", headers={"Content-Type": "application/json"}
        )
    assert_problem(answer, 422)


def _postings_written(client: httpx.Client) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("fundledger_postings_written_total "):
            return float(line.split()[1])
    return 0.0


def test_metrics_count_the_postings_written(live_server: LiveServer) -> None:
    """A new posting counts once, its repeat (a duplicate) not at all, a batch by its rows."""
    fund = "resident:141100"
    row = {
        "fund": fund,
        "line": "interest",
        "amount": "1.00",
        "value_date": "2024-03-01",
        "reference": "METRIC-1",
    }
    with live_server.client(live_server.token()) as client:
        opened = client.post("/v1/funds", json={"fund": fund, "first_year": 2024})
        assert opened.status_code in (200, 201), opened.text
        before = _postings_written(client)
        assert client.post("/v1/postings", json=row).status_code == 201
        assert client.post("/v1/postings", json=row).status_code == 200
        batch = [{**row, "reference": f"METRIC-B{i}"} for i in range(3)]
        assert client.post("/v1/postings/batch", json=batch).status_code == 201
        assert _postings_written(client) == before + 4


def test_the_app_and_the_caller_a_route_depends_on_are_looked_up_on_the_event_loop() -> None:
    """FastAPI hands a plain function dependency to its thread pool, a hop per request that
    cost a quarter of a small authenticated route's CPU (bench/README.md): the App's lookup
    and the caller's (a store query, awaited on asynchronous connections) are coroutines."""
    import inspect
    from typing import get_args

    from api.http.deps import AppDep, Caller

    (app_dependency,) = (m.dependency for m in get_args(AppDep)[1:])
    (caller_dependency,) = (m.dependency for m in get_args(Caller)[1:])
    assert inspect.iscoroutinefunction(app_dependency)
    assert inspect.iscoroutinefunction(caller_dependency)


def test_no_two_routers_match_one_request_and_the_loaded_ones_come_first() -> None:
    """Every operation of the OpenAPI document, as a concrete request, is matched by exactly
    one of the app's top-level routes (one router): so including the routers of
    ``MATCHED_FIRST`` first changes which route answers no request."""
    import re

    from starlette.routing import Match

    from api.http.app import MATCHED_FIRST, resource_routers
    from api.http.routers import postings, statements

    api = create_app(Settings(database_url="memory://"))
    checked = 0
    for template, operations in api.openapi()["paths"].items():
        path = re.sub(r"\{[^}]+\}", "resident:140100", template)
        for method in operations:
            scope = {"type": "http", "method": method.upper(), "path": path, "root_path": ""}
            full = [r for r in api.router.routes if r.matches(scope)[0] == Match.FULL]
            assert len(full) == 1, (method, template, full)
            checked += 1
    assert checked >= 38  # every operation of the document (38 today)
    assert MATCHED_FIRST == ("postings", "statements")
    assert resource_routers()[:2] == [postings.router, statements.router]
