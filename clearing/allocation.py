"""The year-end gap allocation: a pure function of the pools' figures and the policy.

For each pool: gap → own-fault part (counties at fault) → adjustment-fund draw → part borne
by the accumulated balance → residual for the government. Every figure is integer fen, every
split is exact (largest remainder), and the parts add up to the gap, checked on the way out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from clearing.money_split import largest_remainder
from clearing.policy import ClearingPolicy
from domain.funds import LEGACY_SCHEMES, Scheme


@dataclass(frozen=True)
class CountyFault:
    """What a county failed to do that caused part of its pool's gap (Nantong 2019)."""

    county: str
    amount_fen: int
    reason: str


@dataclass(frozen=True)
class PoolInput:
    """One pool's figures for the year, read from the projections."""

    fund: str
    income_fen: int
    expense_fen: int
    levy_fen: int
    levy_due_fen: int
    balance_fen: int
    grade: str | None = None
    planned_expense_fen: int | None = None
    county_faults: tuple[CountyFault, ...] = ()


@dataclass(frozen=True)
class ProvinceInput:
    """Everything the allocation of one province and year depends on."""

    province: str
    year: int
    adjustment_fund: str
    adjustment_balance_fen: int
    pools: tuple[PoolInput, ...]


@dataclass(frozen=True)
class CountyShare:
    county: str
    own_fault_fen: int
    reason: str


@dataclass
class PoolResult:
    """One pool's allocation, with the rule behind each figure."""

    fund: str
    income_fen: int
    expense_fen: int
    levy_fen: int
    gap_fen: int = 0
    own_fault_fen: int = 0
    request_fen: int = 0
    draw_fen: int = 0
    borne_by_balance_fen: int = 0
    residual_to_government_fen: int = 0
    rules: list[str] = field(default_factory=list)
    counties: list[CountyShare] = field(default_factory=list)


@dataclass(frozen=True)
class Allocation:
    """The allocation of a province and year."""

    province: str
    year: int
    adjustment_fund: str
    adjustment_balance_fen: int
    draws_total_fen: int
    scale: Decimal
    pools: tuple[PoolResult, ...]


def allocate(inputs: ProvinceInput, policy: ClearingPolicy) -> Allocation:
    """Allocate every pool's gap, then scale the draws to what the adjustment fund holds."""
    pools = [_pool_before_draw(p, policy) for p in sorted(inputs.pools, key=lambda p: p.fund)]
    requests = [r.request_fen for r in pools]
    available = max(0, inputs.adjustment_balance_fen)
    total = sum(requests)
    if total <= available:
        draws, scale = requests, Decimal(1)
    else:
        draws = largest_remainder(available, requests, [r.fund for r in pools])
        scale = (Decimal(available) / Decimal(total)).quantize(Decimal("0.000001"), ROUND_FLOOR)
    by_fund = {p.fund: p for p in inputs.pools}
    for result, draw in zip(pools, draws, strict=True):
        _finish_pool(result, draw, by_fund[result.fund], policy, scaled=total > available)
    allocation = Allocation(
        province=inputs.province,
        year=inputs.year,
        adjustment_fund=inputs.adjustment_fund,
        adjustment_balance_fen=inputs.adjustment_balance_fen,
        draws_total_fen=sum(draws),
        scale=scale.quantize(Decimal("0.000001")),
        pools=tuple(pools),
    )
    check_allocation(allocation)
    return allocation


def check_allocation(allocation: Allocation) -> None:
    """The invariants, asserted on the way out: parts add up, draws within the balance."""
    for p in allocation.pools:
        parts = p.own_fault_fen + p.draw_fen + p.borne_by_balance_fen + p.residual_to_government_fen
        assert parts == p.gap_fen, (p.fund, parts, p.gap_fen)
        assert (
            min(p.own_fault_fen, p.draw_fen, p.borne_by_balance_fen, p.residual_to_government_fen)
            >= 0
        )
        assert sum(c.own_fault_fen for c in p.counties) == p.own_fault_fen
    assert allocation.draws_total_fen == sum(p.draw_fen for p in allocation.pools)
    assert allocation.draws_total_fen <= max(0, allocation.adjustment_balance_fen)


def _pool_before_draw(pool: PoolInput, policy: ClearingPolicy) -> PoolResult:
    result = PoolResult(pool.fund, pool.income_fen, pool.expense_fen, pool.levy_fen)
    levy = pool.levy_fen if policy.gap.levy_counts_as_expense else 0
    result.gap_fen = max(0, pool.expense_fen + levy - pool.income_fen)
    result.rules.append(
        f"gap = max(0, expense {_yuan(pool.expense_fen)}"
        + (f" + levy {_yuan(levy)}" if policy.gap.levy_counts_as_expense else "")
        + f" − income {_yuan(pool.income_fen)}) = {_yuan(result.gap_fen)}"
    )
    if result.gap_fen == 0:
        return result
    if policy.legacy_transition and Scheme(pool.fund.split(":")[0]) in LEGACY_SCHEMES:
        return result  # covered entirely by its original government: see _finish_pool
    _attribute_own_fault(result, pool, policy)
    remaining = result.gap_fen - result.own_fault_fen
    if policy.sharing.strategy == "none":
        result.rules.append(
            "no adjustment fund: the pool's accumulated balance, then its government "
            "(Nantong 2019, Art. 38)"
        )
        return result
    if not _eligible(pool, policy, result):
        return result
    if policy.sharing.strategy == "sequential":
        result.request_fen = max(0, remaining - max(0, pool.balance_fen))
        result.rules.append("sequential: the pool's accumulated balance first (Art. 38)")
    else:
        result.request_fen = _proportional_request(remaining, pool, policy, result)
    result.request_fen = _apply_caps(result.request_fen, pool, policy, result)
    return result


def _attribute_own_fault(result: PoolResult, pool: PoolInput, policy: ClearingPolicy) -> None:
    """Nantong 2019: the part of a gap a county caused is that county's to make good."""
    faults = [f for f in pool.county_faults if f.amount_fen > 0]
    if not policy.county_own_fault or not faults:
        return
    owed = min(result.gap_fen, sum(f.amount_fen for f in faults))
    parts = largest_remainder(owed, [f.amount_fen for f in faults], [f.county for f in faults])
    result.own_fault_fen = owed
    result.counties = [
        CountyShare(f.county, part, f.reason) for f, part in zip(faults, parts, strict=True)
    ]
    result.rules.append(
        f"own fault {_yuan(owed)}: counties that missed their subsidy or collection plan "
        "make their part good (Nantong 2019)"
    )


def _eligible(pool: PoolInput, policy: ClearingPolicy, result: PoolResult) -> bool:
    """Guangyuan, Jining: no draw for a pool that did not pay its levy in full."""
    if policy.eligibility.require_levy_paid_in_full and pool.levy_fen < pool.levy_due_fen:
        result.rules.append(
            f"no draw: levy paid {_yuan(pool.levy_fen)} of {_yuan(pool.levy_due_fen)} due"
        )
        return False
    return True


def _proportional_request(
    remaining_fen: int, pool: PoolInput, policy: ClearingPolicy, result: PoolResult
) -> int:
    """Shanxi 2024 draft: progressive bands of the gap rate × the assessment grade's share."""
    grade = pool.grade if pool.grade in policy.sharing.grades else policy.sharing.default_grade
    income = max(0, pool.income_fen)
    request = Decimal(0)
    lower_fen = 0
    for band in policy.sharing.bands:
        if band.up_to_gap_rate is None:
            upper_fen = remaining_fen
        else:  # at zero income the gap rate is unbounded: every bounded band is empty
            upper_fen = int((band.up_to_gap_rate * income).to_integral_value(ROUND_FLOOR))
        slice_fen = max(0, min(remaining_fen, upper_fen) - lower_fen)
        request += slice_fen * band.shares[grade]
        lower_fen = max(lower_fen, upper_fen)
        if lower_fen >= remaining_fen:
            break
    request_fen = int(request.to_integral_value(ROUND_FLOOR))
    result.rules.append(
        f"proportional: grade {grade}"
        + ("" if pool.grade == grade else " (no assessment recorded: default grade)")
        + f", progressive bands of gap/income → requested {_yuan(request_fen)}"
    )
    return request_fen


def _apply_caps(
    request_fen: int, pool: PoolInput, policy: ClearingPolicy, result: PoolResult
) -> int:
    """Guangyuan: at most ``cover_share`` of an overspend of at most ``limit`` over plan."""
    caps = policy.caps
    if caps.overspend_limit_rate is None or caps.overspend_cover_share is None:
        return request_fen
    if pool.planned_expense_fen is None:
        return request_fen
    overspend = max(0, pool.expense_fen - pool.planned_expense_fen)
    limit = int(
        (caps.overspend_limit_rate * pool.planned_expense_fen).to_integral_value(ROUND_FLOOR)
    )
    cap = int((caps.overspend_cover_share * min(overspend, limit)).to_integral_value(ROUND_FLOOR))
    if cap < request_fen:
        result.rules.append(f"capped at {_yuan(cap)}: share of the overspend over plan (Guangyuan)")
        return cap
    return request_fen


def _finish_pool(
    result: PoolResult, draw_fen: int, pool: PoolInput, policy: ClearingPolicy, *, scaled: bool
) -> None:
    result.draw_fen = draw_fen
    if scaled and result.request_fen:
        result.rules.append(
            f"draw scaled pro rata to what the adjustment fund holds: {_yuan(draw_fen)} (以收定支)"
        )
    left = result.gap_fen - result.own_fault_fen - draw_fen
    legacy = policy.legacy_transition and Scheme(pool.fund.split(":")[0]) in LEGACY_SCHEMES
    if legacy and result.gap_fen:
        result.residual_to_government_fen = left
        result.rules.append(
            "legacy fund in transition: its gap is its original government's, never the other "
            "legacy fund's (Jilin 2016)"
        )
        return
    result.borne_by_balance_fen = min(left, max(0, pool.balance_fen))
    result.residual_to_government_fen = left - result.borne_by_balance_fen
    if result.borne_by_balance_fen:
        result.rules.append(
            f"borne by the accumulated balance: {_yuan(result.borne_by_balance_fen)}"
        )
    if result.residual_to_government_fen:
        result.rules.append(
            f"residual to the same-level government: {_yuan(result.residual_to_government_fen)} "
            "(Art. 38)"
        )


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def rate_text(value: Decimal) -> str:
    """A rate as the contract writes it (6 decimals, half-up)."""
    return str(value.quantize(Decimal("0.000001"), ROUND_HALF_UP))
