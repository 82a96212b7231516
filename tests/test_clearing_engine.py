"""The pure allocation engine: its invariants under every shipped policy, with hypothesis.

Parts add up to the gap exactly; the draws never exceed the adjustment fund's balance; a
larger gap or a better grade never gets a smaller draw, all else equal (with the adjustment
fund rich enough to pay every draw, and separately with the pro-rata scaling); an ineligible
pool gets nothing; the same inputs give the same result, in whatever order the pools come.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from clearing.allocation import Allocation, CountyFault, PoolInput, ProvinceInput, allocate
from clearing.levy import stop_at_cap
from clearing.policy import CapPolicy, ClearingPolicy, EligibilityPolicy, load_policy

SHANXI = load_policy("140000", 2024)
SHAANXI = load_policy("610000", 2024)
NATIONAL = load_policy("440000", 2024)
NANTONG = load_policy("320000", 2024)
GUANGYUAN_TEMPLATE = SHAANXI.model_copy(
    update={
        "eligibility": EligibilityPolicy(require_levy_paid_in_full=True),
        "caps": CapPolicy(overspend_limit_rate="0.30", overspend_cover_share="0.80"),
    }
)
"""Shaanxi's file with Guangyuan's eligibility and overspend cap adopted (docs/clearing.md:
no shipped file carries them, as no shipped policy's text has them)."""
POLICIES = {
    "shanxi": SHANXI,
    "shaanxi": SHAANXI,
    "national": NATIONAL,
    "nantong": NANTONG,
    "guangyuan-template": GUANGYUAN_TEMPLATE,
}
RICH = 10**16
"""An adjustment fund that can pay every draw in full (no scaling)."""

MONEY = st.integers(min_value=0, max_value=10**11)
CITIES = [f"resident:14{n:02d}00" for n in range(1, 12)]


@st.composite
def pools(draw: st.DrawFn, policy: ClearingPolicy) -> tuple[PoolInput, ...]:
    count = draw(st.integers(min_value=1, max_value=6))
    funds = draw(st.permutations([*CITIES, "ncms:220100", "urban_resident:220100"]))[:count]
    result = []
    for fund in funds:
        levy_due = draw(st.integers(min_value=0, max_value=10**9))
        faults = draw(
            st.lists(
                st.builds(
                    CountyFault,
                    county=st.sampled_from([fund.split(":")[1][:4] + c for c in ("02", "81")]),
                    amount_fen=st.integers(min_value=0, max_value=10**10),
                    reason=st.just("collection plan missed"),
                ),
                max_size=2,
                unique_by=lambda fault: fault.county,
            )
        )
        result.append(
            PoolInput(
                fund=fund,
                income_fen=draw(MONEY),
                expense_fen=draw(MONEY),
                levy_fen=draw(st.sampled_from([levy_due, 0, levy_due // 2])),
                levy_due_fen=levy_due,
                balance_fen=draw(st.integers(min_value=-(10**10), max_value=10**11)),
                grade=draw(st.sampled_from([*policy.sharing.grades, None])),
                planned_expense_fen=draw(st.none() | MONEY),
                county_faults=tuple(faults),
            )
        )
    return tuple(result)


@st.composite
def provinces(draw: st.DrawFn, *, rich: bool | None = None) -> tuple[ProvinceInput, str]:
    name = draw(st.sampled_from(sorted(POLICIES)))
    balance = RICH if rich else draw(st.integers(min_value=0, max_value=10**11))
    inputs = ProvinceInput(
        province="140000",
        year=2024,
        adjustment_fund="adjustment:140000",
        adjustment_balance_fen=balance,
        pools=draw(pools(POLICIES[name])),
    )
    return inputs, name


def draw_of(allocation: Allocation, fund: str) -> int:
    return next(p.draw_fen for p in allocation.pools if p.fund == fund)


def with_pool(inputs: ProvinceInput, index: int, **changes: object) -> ProvinceInput:
    changed = list(inputs.pools)
    changed[index] = dataclasses.replace(changed[index], **changes)  # type: ignore[arg-type]
    return dataclasses.replace(inputs, pools=tuple(changed))


@given(provinces())
def test_parts_add_up_and_draws_stay_within_the_balance(case: tuple[ProvinceInput, str]) -> None:
    inputs, name = case
    allocation = allocate(inputs, POLICIES[name])
    for p in allocation.pools:
        parts = p.own_fault_fen + p.draw_fen + p.borne_by_balance_fen + p.residual_to_government_fen
        assert parts == p.gap_fen
        assert min(p.own_fault_fen, p.draw_fen, p.borne_by_balance_fen) >= 0
        assert p.residual_to_government_fen >= 0
        assert sum(c.own_fault_fen for c in p.counties) == p.own_fault_fen
    assert allocation.draws_total_fen == sum(p.draw_fen for p in allocation.pools)
    assert allocation.draws_total_fen <= inputs.adjustment_balance_fen
    if allocation.scale < 1:
        assert allocation.draws_total_fen == inputs.adjustment_balance_fen


def short_of_requests(inputs: ProvinceInput, name: str, data: st.DataObject) -> ProvinceInput:
    """The same inputs with an adjustment fund that cannot pay every request (scaling)."""
    rich = dataclasses.replace(inputs, adjustment_balance_fen=RICH)
    total = allocate(rich, POLICIES[name]).draws_total_fen
    assume(total > 0)
    balance = data.draw(st.integers(min_value=0, max_value=total - 1))
    return dataclasses.replace(inputs, adjustment_balance_fen=balance)


@pytest.mark.parametrize("rich", [True, False], ids=["unscaled", "scaled"])
@settings(max_examples=300)
@given(data=st.data())
def test_a_larger_gap_never_gets_a_smaller_draw(rich: bool, data: st.DataObject) -> None:
    inputs, name = data.draw(provinces(rich=True))
    if not rich:
        inputs = short_of_requests(inputs, name, data)
    index = data.draw(st.integers(min_value=0, max_value=len(inputs.pools) - 1))
    more = data.draw(st.integers(min_value=1, max_value=10**10))
    pool = inputs.pools[index]
    larger = with_pool(inputs, index, expense_fen=pool.expense_fen + more)
    first, second = allocate(inputs, POLICIES[name]), allocate(larger, POLICIES[name])
    assert (first.scale < 1) is (not rich)
    assert draw_of(second, pool.fund) >= draw_of(first, pool.fund)


@pytest.mark.parametrize("rich", [True, False], ids=["unscaled", "scaled"])
@settings(max_examples=300)
@given(data=st.data())
def test_a_better_grade_never_gets_a_smaller_draw(rich: bool, data: st.DataObject) -> None:
    inputs, name = data.draw(provinces(rich=True))
    policy = POLICIES[name]
    index = data.draw(st.integers(min_value=0, max_value=len(inputs.pools) - 1))
    grades = policy.sharing.grades
    better, worse = sorted(data.draw(st.lists(st.sampled_from(grades), min_size=2, max_size=2)),
                           key=grades.index)  # fmt: skip
    bad_inputs = with_pool(inputs, index, grade=worse)
    if not rich:
        bad_inputs = short_of_requests(bad_inputs, name, data)
    good_inputs = with_pool(bad_inputs, index, grade=better)
    fund = inputs.pools[index].fund
    bad = allocate(bad_inputs, policy)
    assert (bad.scale < 1) is (not rich)
    assert draw_of(allocate(good_inputs, policy), fund) >= draw_of(bad, fund)


@given(provinces())
def test_an_ineligible_pool_gets_nothing(case: tuple[ProvinceInput, str]) -> None:
    inputs, _ = case
    unpaid = with_pool(inputs, 0, levy_fen=0, levy_due_fen=inputs.pools[0].levy_due_fen + 1)
    demanding = [p for p in POLICIES.values() if p.eligibility.require_levy_paid_in_full]
    assert demanding, "no policy of the table makes the levy a condition of a draw"
    for policy in demanding:
        allocation = allocate(unpaid, policy)
        pool = next(p for p in allocation.pools if p.fund == unpaid.pools[0].fund)
        assert pool.draw_fen == 0
        assert pool.request_fen == 0


@given(provinces(), st.randoms(use_true_random=False))
def test_the_same_inputs_give_the_same_result(case: tuple[ProvinceInput, str], rnd: object) -> None:
    inputs, name = case
    shuffled = list(inputs.pools)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    first = allocate(inputs, POLICIES[name])
    again = allocate(dataclasses.replace(inputs, pools=tuple(shuffled)), POLICIES[name])
    assert first == again


def test_legacy_funds_in_transition_never_draw() -> None:
    """Jilin 2016: each legacy fund's gap is its original government's."""
    inputs = ProvinceInput(
        "220000",
        2024,
        "adjustment:220000",
        RICH,
        (
            PoolInput("ncms:220100", 100_00, 300_00, 0, 0, 1_000_00, "A"),
            PoolInput("urban_resident:220100", 100_00, 100_00, 0, 0, 1_000_00, "A"),
        ),
    )
    allocation = allocate(inputs, SHANXI.model_copy(update={"province": "220000"}))
    ncms = allocation.pools[0]
    assert (ncms.gap_fen, ncms.draw_fen, ncms.residual_to_government_fen) == (200_00, 0, 200_00)
    assert ncms.borne_by_balance_fen == 0
    assert "Jilin 2016" in ncms.rules[-1]


def test_a_pool_without_income_has_its_whole_gap_in_the_last_band() -> None:
    """At zero income the gap rate is unbounded: the gap lies beyond every bounded band.

    (The engine used to put it in the first, most generous band, so a pool that collected
    nothing drew three times what a pool that collected one fen drew.)
    """
    nothing = PoolInput("resident:140100", 0, 1_000_00, 0, 0, 0, "C")
    one_fen = dataclasses.replace(nothing, income_fen=1, expense_fen=1_000_01)
    draws = []
    for pool in (nothing, one_fen):
        inputs = ProvinceInput("140000", 2024, "adjustment:140000", RICH, (pool,))
        draws.append(allocate(inputs, SHANXI).pools[0].draw_fen)
    assert draws == [200_00, 200_00]  # grade C beyond 10%: 20%


def test_scale_is_written_with_six_decimals() -> None:
    pool = PoolInput("resident:140100", 1_000_00, 2_000_00, 0, 0, 0, "A")
    inputs = ProvinceInput("140000", 2024, "adjustment:140000", 100_00, (pool,))
    allocation = allocate(inputs, SHANXI)
    assert allocation.draws_total_fen == 100_00
    # grade A: 80% of the first 50.00, 60% of the next 50.00, 40% of the last 900.00 = 430.00
    assert allocation.pools[0].request_fen == 430_00
    assert str(allocation.scale) == "0.232558"  # 100.00 / 430.00, floored to 6 decimals
    assert allocation.scale == Decimal("0.232558")


@given(
    st.lists(st.integers(min_value=0, max_value=10**10), min_size=1, max_size=6),
    st.integers(min_value=0, max_value=10**11),
    st.none() | st.integers(min_value=0, max_value=10**11),
)
def test_the_levy_stops_exactly_at_the_cap(dues: list[int], balance: int, cap: int | None) -> None:
    keys = [f"resident:14{i:02d}00" for i in range(len(dues))]
    levied = stop_at_cap(dues, keys, balance, cap)
    assert all(0 <= x <= d for x, d in zip(levied, dues, strict=True))
    if cap is None or balance + sum(dues) <= cap:
        assert levied == dues
    else:
        assert balance + sum(levied) == max(balance, cap)


def receivables(allocation: Allocation) -> dict[tuple[str, str], int]:
    return {(p.fund, c.county): c.owed_fen for p in allocation.pools for c in p.counties}


@settings(max_examples=300)
@given(data=st.data())
def test_a_county_receivable_never_depends_on_the_pool_result(data: st.DataObject) -> None:
    """Nantong 2019: a county owes its whole income shortfall whatever its pool's result; only
    the part inside the gap is taken off the gap (issue 9, point 1)."""
    inputs, name = data.draw(provinces())
    policy = POLICIES[name]
    index = data.draw(st.integers(min_value=0, max_value=len(inputs.pools) - 1))
    other = with_pool(
        inputs,
        index,
        income_fen=data.draw(MONEY),
        expense_fen=data.draw(MONEY),
        balance_fen=data.draw(st.integers(min_value=-(10**10), max_value=10**11)),
    )
    first, second = allocate(inputs, policy), allocate(other, policy)
    assert receivables(first) == receivables(second)
    for pool, result in zip(sorted(inputs.pools, key=lambda p: p.fund), first.pools, strict=True):
        legacy = pool.fund.split(":")[0] in {"ncms", "urban_resident"} and policy.legacy_transition
        expected = {
            (pool.fund, f.county): f.amount_fen
            for f in pool.county_faults
            if f.amount_fen > 0 and policy.county_own_fault and not legacy
        }
        assert {k: v for k, v in receivables(first).items() if k[0] == pool.fund} == expected
        assert result.own_fault_fen == min(result.gap_fen, sum(expected.values()))
