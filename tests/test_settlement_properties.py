"""Properties of the clearing house beyond the pure engine, with hypothesis (issue item 7).

- the largest-remainder split: the parts add up, each is its exact share rounded down or up,
  and the split does not depend on the order the pools come in (the tie-break is the fund id);
- the same inputs give byte-identical reports (JSON, CSV, XLSX) and the same inputs hash, in
  whatever order the pools come;
- posting a settlement then replaying the read models gives the same balances, every draw is
  on both sides of its pair, and the draws never take the adjustment fund below zero.
"""

from __future__ import annotations

import dataclasses
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.bootstrap import bootstrap_app
from api.exports.settlement import render, report_csv, report_json, report_xlsx
from api.settings import Settings
from clearing import settlement
from clearing.allocation import ProvinceInput, allocate
from clearing.inputs import inputs_hash
from clearing.levy import levy_plan, post_levies
from clearing.money_split import largest_remainder
from clearing.policy import load_policy
from clearing.pool_inputs import assess
from clearing.report import SettlementView, result_document
from domain.funds import FundId, Scheme
from domain.lines import Level, Line
from domain.postings import Posting
from domain.settlement import SettlementRefused
from tests.conftest import TEST_PROVINCES
from tests.test_clearing_engine import POLICIES, provinces

SPLIT = st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=8)


@given(SPLIT, st.integers(min_value=0, max_value=10**12), st.randoms(use_true_random=False))
def test_largest_remainder_adds_up_and_ignores_the_order(
    weights: list[int], total: int, rnd: object
) -> None:
    if sum(weights) == 0:
        weights = [*weights[:-1], 1]
    keys = [f"resident:14{i:02d}00" for i in range(len(weights))]
    parts = largest_remainder(total, weights, keys)
    assert sum(parts) == total
    for part, weight in zip(parts, weights, strict=True):
        floor = total * weight // sum(weights)
        assert floor <= part <= floor + 1
    order = list(range(len(weights)))
    rnd.shuffle(order)  # type: ignore[attr-defined]
    shuffled = largest_remainder(total, [weights[i] for i in order], [keys[i] for i in order])
    assert shuffled == [parts[i] for i in order]


def test_largest_remainder_breaks_ties_by_key() -> None:
    keys = ["resident:140300", "resident:140100", "resident:140200"]
    assert largest_remainder(2, [1, 1, 1], keys) == [0, 1, 1]


def view_of(inputs: ProvinceInput, name: str) -> SettlementView:
    policy = POLICIES[name]
    return SettlementView(
        id="s",
        province=inputs.province,
        year=inputs.year,
        status="draft",
        policy=policy.model_dump(mode="json"),
        inputs_hash=inputs_hash(inputs, policy),
        result=result_document(allocate(inputs, policy)),
    )


@settings(max_examples=60, deadline=None)
@given(provinces(), st.randoms(use_true_random=False))
def test_the_same_inputs_give_byte_identical_reports(
    case: tuple[ProvinceInput, str], rnd: object
) -> None:
    inputs, name = case
    shuffled = list(inputs.pools)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    first = view_of(inputs, name)
    again = view_of(dataclasses.replace(inputs, pools=tuple(shuffled)), name)
    assert first.inputs_hash == again.inputs_hash
    for write in (report_json, report_csv, report_xlsx):
        assert write(first) == write(again)


CITIES = [FundId(Scheme.RESIDENT, f"14{n:02d}00") for n in range(1, 5)]
ADJUSTMENT = FundId(Scheme.ADJUSTMENT, "140000")
YUAN = st.integers(min_value=1_000_00, max_value=10_000_000_00)


@st.composite
def books(draw: st.DrawFn) -> dict[str, object]:
    count = draw(st.integers(min_value=1, max_value=len(CITIES)))
    pools = []
    for fund in CITIES[:count]:
        pools.append(
            {
                "fund": fund,
                "opening": draw(st.integers(min_value=0, max_value=5_000_000_00)),
                "income": [draw(YUAN), draw(YUAN)],
                "expense": [draw(YUAN), draw(YUAN)],
                "grade": draw(st.sampled_from("ABCD")),
            }
        )
    return {"adjustment": draw(st.integers(min_value=0, max_value=3_000_000_00)), "pools": pools}


def year_postings(pool: dict[str, object]) -> list[Posting]:
    fund = pool["fund"]
    assert isinstance(fund, FundId)
    income, expense = pool["income"], pool["expense"]
    assert isinstance(income, list)
    assert isinstance(expense, list)
    postings = []
    for year, got, spent in zip((2023, 2024), income, expense, strict=True):
        postings.append(Posting(fund=fund, line=Line.SUBSIDY, amount_fen=got, sub_line="standard",
                                level=Level.CENTRAL, value_date=date(year, 6, 30),
                                reference=f"S{year}"))  # fmt: skip
        postings.append(Posting(fund=fund, line=Line.BENEFIT, amount_fen=spent,
                                value_date=date(year, 9, 30), reference=f"B{year}"))  # fmt: skip
    return postings


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(books())
def test_posting_then_replaying_gives_the_same_balances(data: dict[str, object]) -> None:
    app = bootstrap_app(Settings(database_url="memory://"))
    try:
        app.ledger.init(TEST_PROVINCES)
        app.read_models.create_tables()
        opening = data["adjustment"]
        assert isinstance(opening, int)
        app.ledger.open_fund(ADJUSTMENT, first_year=2023, opening_balance_fen=opening)
        pools = data["pools"]
        assert isinstance(pools, list)
        for pool in pools:
            app.ledger.open_fund(pool["fund"], first_year=2023, opening_balance_fen=pool["opening"])
            app.ledger.import_postings(year_postings(pool))
            assess(app.ledger, pool["fund"], 2024, grade=pool["grade"], score=None, principal="w")
        app.read_models.catch_up()
        plan = levy_plan(app.read_models, "140000", 2024, load_policy("140000", 2024))
        post_levies(app.ledger, app.read_models, plan)
        settlement.draft(app, "140000", 2024, "li")
        settlement.approve(app, "140000", 2024, "zhao")
        posted = settlement.post(app, "140000", 2024, "zhao")
        draws = {p["fund"]: p["draw_fen"] for p in posted.result["pools"]}
        total = posted.result["adjustment_fund"]["draws_total_fen"]
        funds = [ADJUSTMENT, *(p["fund"] for p in pools)]
        keys = [(f, y) for f in funds for y in (2023, 2024)]
        live = {k: app.read_models.statement(*k).to_json() for k in keys}
        adjustment = app.read_models.statement(ADJUSTMENT, 2024)
        assert adjustment.line("to_lower") == total == sum(draws.values())
        assert adjustment.closing_balance_fen >= 0
        for pool in pools:
            fund = pool["fund"]
            assert app.read_models.statement(fund, 2024).line("from_upper") == draws[str(fund)]
        report = render(settlement.settlement_view(app, "140000", 2024), "json")
        app.read_models.rebuild()
        assert {k: app.read_models.statement(*k).to_json() for k in keys} == live
        assert render(settlement.settlement_view(app, "140000", 2024), "json") == report
        try:
            settlement.post(app, "140000", 2024, "zhao")
        except SettlementRefused:
            pass
        else:
            raise AssertionError("a second post was not refused")
        assert app.read_models.statement(ADJUSTMENT, 2024).line("to_lower") == total
    finally:
        app.close()
