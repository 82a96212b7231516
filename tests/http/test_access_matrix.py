"""Every role × every route, allowed and refused, from one table (docs/contract.md, "Identity
and access").

``ROUTES`` says, for each route, what a request of it looks like and which rule of the access
matrix governs it; ``expected`` is the matrix itself, written here again from the contract
(not taken from the code under test). Each route is asked by six principals about funds or
provinces in and out of their regions: a city and one of its counties (municipal), the
province and another province (provincial), an auditor of the province and one of every
province. A refusal is a 403 problem that carries no figure; no token, an unknown or a revoked
one is a 401. A route of the app that the table does not list fails
:func:`test_every_route_of_the_app_is_in_the_table`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any

import httpx
import pytest

from api.http.app import create_app
from api.settings import Settings
from api.usecases import budgets, settlements
from api.usecases.ledger import open_fund, post
from api.usecases.settlements import SettlementKey
from domain.access import Principal, Role
from domain.funds import FundId
from domain.lines import Line
from domain.postings import Posting
from tests.http.conftest import LiveServer
from tests.http.store_count import count_events

SETUP = Principal(name="matrix-setup")

WHO: dict[str, tuple[str, str]] = {
    "city": ("municipal", "140100"),
    "county": ("municipal", "140105"),
    "province": ("provincial", "140000"),
    "other_province": ("provincial", "610000"),
    "auditor": ("auditor", "140000"),
    "auditor_all": ("auditor", "000000"),
}
"""The principals asked, by a short name: (role, region)."""

FIGURES: dict[str, tuple[str, str, str]] = {
    "resident:140100": ("35226.17", "8642.19", "1203.58"),
    "resident:140105": ("4417.29", "951.73", "388.06"),
    "resident:140200": ("73519.37", "6128.44", "2975.81"),
    "resident:610100": ("61003.41", "5437.62", "809.15"),
}
"""Each fund of the test: opening balance, a 2024 contribution and a 2024 benefit (yuan)."""
FUNDS = tuple(FIGURES)
PROVINCES = ("140000", "610000")
FIRST_YEAR = 2015
MONEY = re.compile(r"\d\.\d\d(?!\d)")
FUND_ID = re.compile(r"\b(?:resident|employee|urban_resident|ncms|adjustment):\d{6}\b")


def covers(mine: str, region: str) -> bool:
    """The contract's "inside its region": every province for 000000, else by the code's
    levels (a province holds its cities and counties, a city its counties)."""
    if mine == "000000" or mine == region:
        return True
    if mine.endswith("0000"):
        return region[:2] == mine[:2]
    if mine.endswith("00"):
        return region[:4] == mine[:4]
    return False


def province_of(region: str) -> str:
    return region[:2] + "0000"


class Rule(Enum):
    """The lines of the access matrix a route falls under."""

    READ = "read"
    """Reads of a fund (or a region): every role, inside its region."""
    FUND_HISTORY = "fund_history"
    """A fund's event history: auditors and provincial officers in their region, and a
    municipal officer for the funds it reads and writes already (api/usecases/ledger.py)."""
    HISTORY = "history"
    """The change feed, audit verify: auditors and provincial officers, in their region."""
    WRITE = "write"
    """Postings, imports, enrolment, budgets, close: municipal and provincial, in region."""
    OPEN = "open"
    """Funds open: provincial, in its province."""
    CLEAR = "clear"
    """Levies, assessments, plans, settlement steps: provincial, in its province."""
    PROVINCE_DOCUMENT = "province_document"
    """A province's settlement or levies: the province's provincial officer and auditors
    whole, a municipal officer of one of its cities or counties its own rows."""
    OWN = "own"
    """Lists without a region filter (and projections status): every role, its own rows."""
    HISTORY_OWN = "history_own"
    """Audit verify of everything the caller reaches: auditors and provincial officers."""


def expected(rule: Rule, role: str, region: str, target: str | None) -> bool:
    """True when the contract lets ``role`` of ``region`` do ``rule`` on ``target``."""
    if target is None:
        if rule is Rule.HISTORY_OWN:
            return role in ("provincial", "auditor")
        return rule is Rule.OWN
    target = target.rsplit(":", 1)[-1]  # a fund's region, a province, a region filter
    reach = covers(region, target)
    if rule in (Rule.READ, Rule.OWN):
        return reach
    if rule is Rule.FUND_HISTORY:
        return reach
    if rule is Rule.HISTORY:
        return role in ("provincial", "auditor") and reach
    if rule is Rule.WRITE:
        return role in ("municipal", "provincial") and reach
    if rule in (Rule.OPEN, Rule.CLEAR):
        return role == "provincial" and reach
    if rule is Rule.PROVINCE_DOCUMENT:
        return reach or (role == "municipal" and province_of(region) == target)
    raise AssertionError(rule)


@dataclass
class Call:
    """What a principal's request looks like, given the target and a number unique to it."""

    target: str | None
    number: int
    who: str

    @property
    def fund(self) -> str:
        assert self.target is not None
        return self.target

    @property
    def region(self) -> str:
        assert self.target is not None
        return self.target.rsplit(":", 1)[-1]


Request = dict[str, Any]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    rule: Rule
    request: Callable[[Call], Request]
    """``{"path": ..., and any of "json", "params", "headers", "content"}``."""
    targets: tuple[str | None, ...] = FUNDS
    ok: frozenset[int] = frozenset({200, 201})
    """The answers of an allowed request."""
    own_rows: bool = False
    """Its answer lists funds: every fund named must lie inside the caller's region."""
    years_from: int | None = None
    """Each allowed request takes the next year from this one (``{next_year}`` in its path):
    years are closed in order, a budget is approved once."""
    prepare: Callable[[LiveServer], None] | None = None
    """What must be on record before the route is asked (right before: a settlement is
    approved and posted only while the books are as they were at its draft)."""
    label: str = ""

    @property
    def id(self) -> str:
        return self.label or f"{self.method} {self.path}"


def posting_row(call: Call, suffix: str = "") -> dict[str, Any]:
    return {
        "fund": call.fund,
        "line": "contribution",
        "amount": "10.00",
        "value_date": "2024-06-30",
        "reference": f"M-{call.who}-{call.number}{suffix}",
    }


CSV_HEADER = "fund,line,amount,value_date,reference\n"
ENROLMENT_COUNTY = {
    "resident:140100": "140106",
    "resident:140105": "140105",
    "resident:140200": "140202",
    "resident:610100": "610102",
}
SETTLEMENT_YEARS = {"get": 2025, "draft": 2026, "approve": 2027, "post": 2028, "owed": 2030}
"""Shaanxi's shipped policy takes effect in 2024: the settlements of the test come after."""


def settlement_path(call: Call, step: str) -> str:
    key = SettlementKey(call.fund, SETTLEMENT_YEARS[step])
    return f"/v1/settlements/{key.id}" + ("" if step == "get" else f"/{step}")


def settlement_drafted(
    step: str, *, approved: bool = False, posted: bool = False
) -> Callable[[LiveServer], None]:
    """Record the step's settlement of each province (approve it, post it), by two officers
    of the province who are not among the principals asked."""

    def prepare(server: LiveServer) -> None:
        for province in PROVINCES:
            key = SettlementKey(province, SETTLEMENT_YEARS[step])
            drafter = Principal(f"drafter-{province}", Role.PROVINCIAL, province)
            settlements.draft(server.app, drafter, key)
            checker = Principal(f"checker-{province}", Role.PROVINCIAL, province)
            if approved or posted:
                settlements.approve(server.app, checker, key)
            if posted:
                settlements.post(server.app, checker, key)

    return prepare


BUDGET = {"contribution": "1000.00", "benefit": "900.00"}
BUDGET_CSV = "line,amount\ncontribution,1000.00\nbenefit,900.00\n"
BUDGET_YEARS = {"approve": 2031, "adjust": 2035, "show": 2036, "draft": 2037, "execution": 2038}
"""The budget years of the rows (approve takes 2031, 2032... one per allowed approver)."""


def budgets_drafted(years: range, *, approved: bool = False) -> Callable[[LiveServer], None]:
    """Budgets of every fund for ``years``, drafted (and approved) by two officers who are
    not among the principals asked (maker and checker differ)."""

    def prepare(server: LiveServer) -> None:
        lines = {Line(line): fen(amount) for line, amount in BUDGET.items()}
        drafter, checker = Principal("budget-drafter"), Principal("budget-checker")
        for fund in FUNDS:
            for year in years:
                budgets.draft(server.app, drafter, FundId.parse(fund), year, lines)
                if approved:
                    budgets.approve(server.app, checker, FundId.parse(fund), year, f"B-{year}")

    return prepare


def fund_read(path: str, **params: Any) -> Callable[[Call], Request]:
    return lambda c: {"path": path.format(fund=c.fund), "params": params}


def year_and_region(call: Call) -> dict[str, Any]:
    """A list's query: 2024, and the region filter when the call has one."""
    return {"year": 2024} | ({"region": call.target} if call.target else {})


REGION_FILTERS: tuple[str | None, ...] = (None, "140100", "140105", "140200", "610000")
ROUTES: tuple[Route, ...] = (
    Route("POST", "/v1/funds", Rule.OPEN, lambda c: {
        "path": "/v1/funds",
        "json": {"fund": f"employee:{c.region}", "first_year": 2024, "name": "matrix"},
    }),
    Route("POST", "/v1/postings", Rule.WRITE, lambda c: {
        "path": "/v1/postings", "json": posting_row(c),
    }),
    Route("POST", "/v1/postings/batch", Rule.WRITE, lambda c: {
        "path": "/v1/postings/batch", "json": [posting_row(c, "-a"), posting_row(c, "-b")],
    }, label="POST /v1/postings/batch (JSON)"),
    Route("POST", "/v1/postings/batch", Rule.WRITE, lambda c: {
        "path": "/v1/postings/batch",
        "content": CSV_HEADER + f"{c.fund},benefit,2.00,2024-07-01,M-{c.who}-{c.number}-csv\n",
        "headers": {"Content-Type": "text/csv"},
    }, label="POST /v1/postings/batch (CSV)"),
    Route("GET", "/v1/funds/{fund}/statement", Rule.READ,
          fund_read("/v1/funds/{fund}/statement", year=2024)),
    Route("GET", "/v1/funds/{fund}/statement", Rule.READ, lambda c: {
        "path": f"/v1/funds/{c.fund}/statement", "params": {"year": 2024},
        "headers": {"Accept": "text/csv"},
    }, label="GET /v1/funds/{fund}/statement (CSV)"),
    Route("GET", "/v1/funds/{fund}/chart", Rule.READ,  # a PNG each: one fund is enough
          fund_read("/v1/funds/{fund}/chart", from_year=2024, to_year=2024),
          targets=("resident:140200",)),
    Route("GET", "/v1/funds/{fund}/events", Rule.FUND_HISTORY,
          fund_read("/v1/funds/{fund}/events", limit=5)),
    Route("POST", "/v1/funds/{fund}/enrolment", Rule.WRITE, lambda c: {
        "path": f"/v1/funds/{c.fund}/enrolment",
        "json": {"year": 2024, "county": ENROLMENT_COUNTY[c.fund],
                 "enrolled": 1000 + c.number, "correct": True},
    }),
    # Years are closed in order: each allowed close takes the fund's next year (see the test).
    Route("POST", "/v1/funds/{fund}/years/{year}/close", Rule.WRITE, lambda c: {
        "path": f"/v1/funds/{c.fund}/years/{{next_year}}/close",
    }, years_from=FIRST_YEAR),
    Route("GET", "/v1/ratios", Rule.OWN, lambda c: {
        "path": "/v1/ratios", "params": year_and_region(c),
    }, targets=REGION_FILTERS, own_rows=True),
    Route("GET", "/v1/warnings", Rule.OWN, lambda c: {
        "path": "/v1/warnings", "params": year_and_region(c),
    }, targets=REGION_FILTERS, own_rows=True),
    Route("GET", "/v1/subsidies", Rule.OWN, lambda c: {
        "path": "/v1/subsidies", "params": year_and_region(c),
    }, targets=REGION_FILTERS, own_rows=True),
    Route("GET", "/v1/subsidies", Rule.READ, lambda c: {
        "path": "/v1/subsidies", "params": {"year": 2024, "fund": c.fund},
    }, own_rows=True, label="GET /v1/subsidies?fund="),
    Route("GET", "/v1/projections/status", Rule.OWN, lambda c: {
        "path": "/v1/projections/status",
    }, targets=(None,)),
    Route("GET", "/v1/provinces/{province}/feed", Rule.HISTORY, lambda c: {
        "path": f"/v1/provinces/{c.target}/feed", "params": {"limit": 5},
    }, targets=PROVINCES),
    Route("POST", "/v1/settlements/dry-run", Rule.CLEAR, lambda c: {
        "path": "/v1/settlements/dry-run", "json": {"province": c.target, "year": 2024},
    }, targets=PROVINCES),
    Route("POST", "/v1/settlements/what-if", Rule.CLEAR, lambda c: {
        "path": "/v1/settlements/what-if", "json": {"province": c.target, "year": 2024},
    }, targets=PROVINCES),
    Route("POST", "/v1/settlements", Rule.CLEAR, lambda c: {
        "path": "/v1/settlements",
        "json": {"province": c.target, "year": SETTLEMENT_YEARS["draft"]},
    }, targets=PROVINCES),
    Route("POST", "/v1/settlements/{settlement_id}/approve", Rule.CLEAR, lambda c: {
        "path": settlement_path(c, "approve"),
    }, targets=PROVINCES, prepare=settlement_drafted("approve")),
    Route("POST", "/v1/settlements/{settlement_id}/post", Rule.CLEAR, lambda c: {
        "path": settlement_path(c, "post"),
    }, targets=PROVINCES, prepare=settlement_drafted("post", approved=True)),
    Route("GET", "/v1/settlements/{settlement_id}", Rule.PROVINCE_DOCUMENT, lambda c: {
        "path": settlement_path(c, "get"),
    }, targets=PROVINCES, own_rows=True, prepare=settlement_drafted("get")),
    Route("GET", "/v1/provinces/{province}/owed", Rule.PROVINCE_DOCUMENT, lambda c: {
        "path": f"/v1/provinces/{c.target}/owed", "params": {"year": SETTLEMENT_YEARS["owed"]},
    }, targets=PROVINCES, own_rows=True, prepare=settlement_drafted("owed", posted=True)),
    Route("GET", "/v1/provinces/{province}/levies", Rule.PROVINCE_DOCUMENT, lambda c: {
        "path": f"/v1/provinces/{c.target}/levies", "params": {"year": 2024},
    }, targets=PROVINCES, own_rows=True),
    Route("POST", "/v1/provinces/{province}/levies/post", Rule.CLEAR, lambda c: {
        "path": f"/v1/provinces/{c.target}/levies/post", "params": {"year": 2024},
    }, targets=PROVINCES),
    Route("POST", "/v1/funds/{fund}/assessments", Rule.CLEAR, lambda c: {
        "path": f"/v1/funds/{c.fund}/assessments", "json": {"year": 2024, "grade": "A"},
    }),
    Route("POST", "/v1/funds/{fund}/plans", Rule.CLEAR, lambda c: {
        "path": f"/v1/funds/{c.fund}/plans",
        "json": {"year": 2024, "county": ENROLMENT_COUNTY[c.fund], "contributions": "10.00",
                 "subsidies": "2.00", "spending": f"{c.number}.00"},
    }, targets=("resident:140100", "resident:140200", "resident:610100")),  # city pools
    # Only Nantong has a catch-up; elsewhere an allowed request is told so (422), not 403.
    Route("GET", "/v1/funds/{fund}/catch-up", Rule.READ, lambda c: {
        "path": f"/v1/funds/{c.fund}/catch-up",
    }, targets=(*FUNDS, "resident:320600"), ok=frozenset({200, 422})),
    Route("POST", "/v1/funds/{fund}/budgets/{year}/draft", Rule.WRITE, lambda c: {
        "path": f"/v1/funds/{c.fund}/budgets/{BUDGET_YEARS['draft']}/draft",
        "json": {"lines": BUDGET},
    }),
    Route("POST", "/v1/funds/{fund}/budgets/{year}/draft", Rule.WRITE, lambda c: {
        "path": f"/v1/funds/{c.fund}/budgets/{BUDGET_YEARS['draft']}/draft",
        "content": BUDGET_CSV, "headers": {"Content-Type": "text/csv"},
    }, label="POST /v1/funds/{fund}/budgets/{year}/draft (CSV)"),
    Route("POST", "/v1/funds/{fund}/budgets/{year}/approve", Rule.WRITE, lambda c: {
        "path": f"/v1/funds/{c.fund}/budgets/{{next_year}}/approve",
        "json": {"ref": f"A-{c.who}-{c.number}"},
    }, years_from=BUDGET_YEARS["approve"],
       prepare=budgets_drafted(range(BUDGET_YEARS["approve"], BUDGET_YEARS["approve"] + 3))),
    Route("POST", "/v1/funds/{fund}/budgets/{year}/adjust", Rule.WRITE, lambda c: {
        "path": f"/v1/funds/{c.fund}/budgets/{BUDGET_YEARS['adjust']}/adjust",
        "json": {"lines": {"contribution": f"{1000 + c.number}.00", "benefit": "900.00"},
                 "ref": f"ADJ-{c.who}-{c.number}", "memo": "matrix"},
    }, prepare=budgets_drafted(range(BUDGET_YEARS["adjust"], BUDGET_YEARS["adjust"] + 1),
                               approved=True)),
    Route("GET", "/v1/funds/{fund}/budgets/{year}", Rule.READ, lambda c: {
        "path": f"/v1/funds/{c.fund}/budgets/{BUDGET_YEARS['show']}",
    }, prepare=budgets_drafted(range(BUDGET_YEARS["show"], BUDGET_YEARS["show"] + 1))),
    Route("GET", "/v1/funds/{fund}/budgets/{year}/execution", Rule.READ, lambda c: {
        "path": f"/v1/funds/{c.fund}/budgets/{BUDGET_YEARS['execution']}/execution",
    }, prepare=budgets_drafted(
        range(BUDGET_YEARS["execution"], BUDGET_YEARS["execution"] + 1), approved=True
    )),
    Route("GET", "/v1/audit/verify", Rule.HISTORY_OWN, lambda c: {
        "path": "/v1/audit/verify",
    }, targets=(None,)),
    Route("GET", "/v1/audit/verify", Rule.HISTORY, lambda c: {
        "path": "/v1/audit/verify", "params": {"province": c.target},
    }, targets=PROVINCES, label="GET /v1/audit/verify?province="),
    Route("GET", "/v1/audit/verify", Rule.HISTORY, lambda c: {  # a replay each: one fund
        "path": "/v1/audit/verify", "params": {"fund": c.fund},
    }, targets=("resident:140200",), label="GET /v1/audit/verify?fund="),
    Route("POST", "/v1/audit/seals", Rule.CLEAR, lambda c: {
        "path": "/v1/audit/seals", "json": {"province": c.target, "year": 2024},
    }, targets=PROVINCES),
    Route("POST", "/v1/audit/checkpoints", Rule.CLEAR, lambda c: {
        "path": "/v1/audit/checkpoints", "json": {"province": c.target},
    }, targets=PROVINCES),
    Route("GET", "/v1/audit/anchors", Rule.HISTORY, lambda c: {
        "path": "/v1/audit/anchors", "params": {"province": c.target},
    }, targets=PROVINCES),
    Route("GET", "/v1/audit/keys", Rule.HISTORY_OWN, lambda c: {
        "path": "/v1/audit/keys",
    }, targets=(None,)),
    Route("GET", "/v1/audit/replay/{fund}", Rule.HISTORY, lambda c: {
        "path": f"/v1/audit/replay/{c.fund}", "params": {"year": 2024},
    }),
)  # fmt: skip
"""The access table: one row per route (a route with several bodies has a row for each)."""

PUBLIC = {("GET", "/healthz"), ("GET", "/metrics")}


@dataclass
class World:
    """The live server, a token per principal, and what the tests must not see leaked."""

    server: LiveServer
    tokens: dict[str, str]
    clients: dict[str, httpx.Client]
    """One kept-alive client per principal (a new client costs more than a request)."""
    next_year: dict[tuple[str, str], int] = field(default_factory=dict)
    numbers: Iterator[int] = field(default_factory=lambda: iter(range(1, 10**9)))


def setup_funds(server: LiveServer) -> None:
    """The funds with their figures, and each province's adjustment fund."""
    app = server.app
    for fund, (opening, income, expense) in FIGURES.items():
        fund_id = FundId.parse(fund)
        open_fund(app, SETUP, fund_id, first_year=FIRST_YEAR, opening_balance_fen=fen(opening))
        for line, amount in ((Line.CONTRIBUTION, income), (Line.BENEFIT, expense)):
            posting = Posting(fund_id, line, fen(amount), date(2024, 3, 1), f"S-{line}-{fund}")
            post(app, SETUP, posting)
    for province in PROVINCES:
        open_fund(app, SETUP, FundId.parse(f"adjustment:{province}"), first_year=FIRST_YEAR)
    open_fund(app, SETUP, FundId.parse("resident:320600"), first_year=2020)  # Nantong


def fen(yuan: str) -> int:
    whole, _, cents = yuan.partition(".")
    return int(whole) * 100 + int(cents)


@pytest.fixture(scope="module")
def world(live_server: LiveServer) -> World:
    setup_funds(live_server)
    tokens = {who: live_server.token(f"matrix-{who}", *WHO[who]) for who in WHO}
    clients = {who: live_server.client(token) for who, token in tokens.items()}
    return World(live_server, tokens, clients)


def send(client: httpx.Client, method: str, request: Request) -> httpx.Response:
    request = dict(request)
    return client.request(method, request.pop("path"), **request)


def build(world: World, route: Route, who: str, target: str | None) -> Request:
    call = Call(target, next(world.numbers), who)
    request = route.request(call)
    if route.years_from is not None:
        year = world.next_year.get((route.id, call.fund), route.years_from)
        request["path"] = request["path"].format(next_year=year)
    return request


def figures_in(text: str) -> list[str]:
    """Every amount of money in a text (a refusal must carry none)."""
    known = [figure for figures in FIGURES.values() for figure in figures]
    thousands = [f"{int(f.split('.')[0]):,}.{f.split('.')[1]}" for f in known]
    return [f for f in known + thousands if f in text] + MONEY.findall(text)


def assert_refusal(response: httpx.Response) -> str | None:
    """What is wrong with a 403, or None when it is the problem the contract asks."""
    if response.status_code != 403:
        return f"answered {response.status_code}, not 403: {response.text[:300]}"
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        return f"403 not problem+json: {response.headers.get('content-type')}"
    leaked = figures_in(response.text)
    if leaked:
        return f"403 carries figures {leaked}: {response.text[:300]}"
    return None


def foreign_funds(response: httpx.Response, region: str) -> list[str]:
    """Funds an answer names that lie outside the caller's region."""
    named = set(FUND_ID.findall(response.text))
    return sorted(f for f in named if not covers(region, f.rsplit(":", 1)[1]))


def check(world: World, route: Route, who: str, target: str | None) -> str | None:
    """Ask one principal; what went against the contract, or None."""
    role, region = WHO[who]
    allowed = expected(route.rule, role, region, target)
    request = build(world, route, who, target)
    response = send(world.clients[who], route.method, request)
    if not allowed:
        return assert_refusal(response)
    if response.status_code not in route.ok:
        return f"allowed, but answered {response.status_code}: {response.text[:300]}"
    if route.years_from is not None:
        assert target is not None
        key = (route.id, target)
        world.next_year[key] = world.next_year.get(key, route.years_from) + 1
    if route.own_rows and (route.rule is not Rule.PROVINCE_DOCUMENT or role == "municipal"):
        outside = [f for f in foreign_funds(response, region) if not f.startswith("adjustment:")]
        if outside:
            return f"the answer names funds outside {region}: {outside}"
    return None


@pytest.mark.parametrize("route", ROUTES, ids=[r.id for r in ROUTES])
def test_each_role_and_region_gets_what_the_matrix_says(world: World, route: Route) -> None:
    if route.prepare is not None:
        route.prepare(world.server)
    province_events = {p: count_events(world.server.db_url, p) for p in PROVINCES}
    wrong = []
    for who, (role, region) in WHO.items():
        for target in route.targets:
            problem = check(world, route, who, target)
            if problem is not None:
                wrong.append(f"{who} ({role} {region}) on {target}: {problem}")
    assert not wrong, "\n".join(wrong)
    if route.method == "GET" or route.path.endswith(("dry-run", "what-if")):
        after = {p: count_events(world.server.db_url, p) for p in PROVINCES}
        assert after == province_events, "a read wrote events"


def test_an_auditor_writes_nothing(world: World) -> None:
    before = {p: count_events(world.server.db_url, p) for p in PROVINCES}
    for route in ROUTES:
        if route.method != "POST" or route.rule in (Rule.READ, Rule.OWN):
            continue
        for who in ("auditor", "auditor_all"):
            for target in route.targets:
                request = build(world, route, who, target)
                problem = assert_refusal(send(world.clients[who], route.method, request))
                assert problem is None, f"{route.id} {who} {target}: {problem}"
    assert {p: count_events(world.server.db_url, p) for p in PROVINCES} == before


def test_a_settlement_is_not_approved_by_its_drafter(world: World) -> None:
    key = SettlementKey("140000", 2029)
    token = world.server.token("drafts-and-approves", "provincial", "140000")
    with world.server.client(token) as client:
        drafted = client.post("/v1/settlements", json={"province": "140000", "year": 2029})
        assert drafted.status_code == 201, drafted.text
        before = count_events(world.server.db_url, "140000")
        refused = client.post(f"/v1/settlements/{key.id}/approve")
    assert assert_refusal(refused) is None
    assert count_events(world.server.db_url, "140000") == before
    approved = world.clients["province"].post(f"/v1/settlements/{key.id}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"


def test_no_unknown_or_revoked_token_is_let_in(world: World) -> None:
    revoked = world.server.token("matrix-revoked", "provincial", "140000")
    world.server.revoke("matrix-revoked")
    anonymous = world.server.client()
    before = {p: count_events(world.server.db_url, p) for p in PROVINCES}
    wrong = []
    for route in ROUTES:
        request = build(world, route, "province", route.targets[-1])
        for token in (None, "flt_no-such-token", revoked):
            headers = dict(request.get("headers", {}))
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
            response = send(anonymous, route.method, {**request, "headers": headers})
            if (
                response.status_code != 401
                or not response.headers["content-type"].startswith("application/problem+json")
                or response.headers.get("www-authenticate") != "Bearer"
                or figures_in(response.text)
            ):
                shown = "no token" if token is None else token[:12]
                wrong.append(f"{route.id} with {shown}: {response.status_code} {response.text}")
    assert not wrong, "\n".join(wrong)
    assert {p: count_events(world.server.db_url, p) for p in PROVINCES} == before


def test_every_route_of_the_app_is_in_the_table(tmp_path: Any) -> None:
    """A new route without a row here fails this test (and so gets an access test)."""
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/unused.db"))
    routes = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    listed = {(r.method, r.path) for r in ROUTES} | PUBLIC
    missing = sorted(routes - listed)
    assert not missing, f"routes without a row in ROUTES: {missing}"
    stale = sorted(listed - routes)
    assert not stale, f"rows of ROUTES the app does not serve: {stale}"
