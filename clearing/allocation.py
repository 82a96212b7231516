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

FAULT_CAUSES = (
    "subsidy_not_paid", "contribution_policy_not_enforced", "collection_plan_missed",
)  # fmt: skip
"""The three causes of a county's income shortfall Nantong 2019 names: 未按规定补助到位,
未严格执行缴费政策, 未完成征收计划 (how each is measured: :mod:`clearing.own_fault`)."""


@dataclass(frozen=True)
class FaultCause:
    """One cause of a county's income shortfall, its figure, and the receivable that holds it."""

    cause: str
    """One of :data:`FAULT_CAUSES`."""
    amount_fen: int
    detail: str
    reference: str
    """The reference a payment of it carries (the receivable, :mod:`clearing.owed`)."""


@dataclass(frozen=True)
class CountyFault:
    """What a county failed to do: its whole income shortfall for the year (Nantong 2019).

    ``amount_fen`` is what the county owes whatever its pool's result; ``causes`` splits it.
    """

    county: str
    amount_fen: int
    reason: str
    causes: tuple[FaultCause, ...] = ()


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
    """A county's receivable (``owed_fen``, its whole shortfall) and the part of it inside its
    pool's gap (``own_fault_fen``, what the allocation uses); the rest stays owed all the same."""

    county: str
    own_fault_fen: int
    reason: str
    owed_fen: int = 0
    causes: tuple[FaultCause, ...] = ()


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
    """The draw the rules ask for, before any pro-rata scaling."""
    draw_fen: int = 0
    borne_by_balance_fen: int = 0
    residual_to_government_fen: int = 0
    rules: list[str] = field(default_factory=list)
    counties: list[CountyShare] = field(default_factory=list)
    remaining_fen_taken: int = 0
    """When draws are scaled: the fen left over by the floors that went to this pool (0 or 1,
    by the largest remainder, ties to the lower fund id)."""


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
    requested_total_fen: int = 0
    """Every pool's request before scaling: scale = balance ÷ this."""


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
        for result, draw in zip(pools, draws, strict=True):
            result.remaining_fen_taken = draw - available * result.request_fen // total
    by_fund = {p.fund: p for p in inputs.pools}
    shares = (available, total) if total > available else None
    for result, draw in zip(pools, draws, strict=True):
        _finish_pool(result, draw, by_fund[result.fund], policy, shares=shares)
    allocation = Allocation(
        province=inputs.province,
        year=inputs.year,
        adjustment_fund=inputs.adjustment_fund,
        adjustment_balance_fen=inputs.adjustment_balance_fen,
        draws_total_fen=sum(draws),
        scale=scale.quantize(Decimal("0.000001")),
        pools=tuple(pools),
        requested_total_fen=total,
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
        assert all(0 <= c.own_fault_fen <= c.owed_fen for c in p.counties)
        assert p.remaining_fen_taken in (0, 1)
        assert p.own_fault_fen == min(p.gap_fen, sum(c.owed_fen for c in p.counties))
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
    legacy = policy.legacy_transition and Scheme(pool.fund.split(":")[0]) in LEGACY_SCHEMES
    if not legacy:  # a county owes its shortfall whatever the pool's result
        _attribute_own_fault(result, pool, policy)
    if result.gap_fen == 0 or legacy:
        return result  # a legacy gap is its original government's entirely: see _finish_pool
    remaining = result.gap_fen - result.own_fault_fen
    if policy.sharing.strategy == "none":
        result.rules.append(
            "no adjustment fund: the pool's accumulated balance, then its government "
            f"({policy.source_of('sharing', 'Art. 38')})"
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
    """Nantong 2019: a county's income shortfall is a receivable of the county, not a share
    of the pool's gap (县（市）、区未按规定补助到位、未严格执行缴费政策或未完成征收计划等情形形成的
    基金收入缺口，由县（市）、区政府负责补足或追缴到位).

    Each county owes its whole shortfall (``owed_fen``) whatever the pool's result; the
    allocation takes the part that falls inside the gap off the gap (``own_fault_fen``: the
    gap's share, split in proportion to the shortfalls when the gap is smaller), and the rest
    of each county's debt stays owed.
    """
    faults = [f for f in pool.county_faults if f.amount_fen > 0]
    if not policy.county_own_fault or not faults:
        return
    total = sum(f.amount_fen for f in faults)
    inside = min(result.gap_fen, total)
    parts = largest_remainder(inside, [f.amount_fen for f in faults], [f.county for f in faults])
    result.own_fault_fen = inside
    result.counties = [
        CountyShare(f.county, part, f.reason, f.amount_fen, f.causes)
        for f, part in zip(faults, parts, strict=True)
    ]
    result.rules.append(
        f"own fault {_yuan(inside)}: the counties owe their income shortfall of "
        f"{_yuan(total)} in full, {_yuan(inside)} of it inside the gap "
        f"({policy.source_of('county_own_fault', 'Nantong 2019')})"
    )


def _eligible(pool: PoolInput, policy: ClearingPolicy, result: PoolResult) -> bool:
    """Guangyuan, Jining: no draw for a pool that did not pay its levy in full."""
    if policy.eligibility.require_levy_paid_in_full and pool.levy_fen < pool.levy_due_fen:
        result.rules.append(
            f"no draw: levy paid {_yuan(pool.levy_fen)} of {_yuan(pool.levy_due_fen)} due "
            f"({policy.source_of('eligibility', 'Guangyuan, Jining')})"
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
        result.rules.append(
            f"capped at {_yuan(cap)}: share of the overspend over plan "
            f"({policy.source_of('caps', 'Guangyuan')})"
        )
        return cap
    return request_fen


def _finish_pool(
    result: PoolResult,
    draw_fen: int,
    pool: PoolInput,
    policy: ClearingPolicy,
    *,
    shares: tuple[int, int] | None,
) -> None:
    result.draw_fen = draw_fen
    if shares is not None and result.request_fen:
        result.rules.append(_scaled_rule(result, *shares))
    left = result.gap_fen - result.own_fault_fen - draw_fen
    legacy = policy.legacy_transition and Scheme(pool.fund.split(":")[0]) in LEGACY_SCHEMES
    if legacy and result.gap_fen:
        _cover_legacy_gap(result, left, pool, policy)
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


def _cover_legacy_gap(
    result: PoolResult, left: int, pool: PoolInput, policy: ClearingPolicy
) -> None:
    """A legacy fund's gap in transition (Jilin 2016: 当期出现缺口的，由原统筹地政府负责解决,
    never the other legacy fund's). With ``legacy_balance_first`` the fund's own accumulated
    balance bears it first (the national order of use, Art. 38), then its original government;
    without it (the Jilin text names only the government) the government bears it whole."""
    if policy.legacy_balance_first:
        result.borne_by_balance_fen = min(left, max(0, pool.balance_fen))
    result.residual_to_government_fen = left - result.borne_by_balance_fen
    first = (
        "its own accumulated balance first (Art. 38), then its original government's"
        if policy.legacy_balance_first
        else "its original government's"
    )
    result.rules.append(
        f"legacy fund in transition: its gap is {first}, never the other legacy fund's "
        f"({policy.source_of('legacy_transition', 'Jilin 2016')})"
    )


def _scaled_rule(result: PoolResult, available_fen: int, requested_fen: int) -> str:
    """以收定支: the pool's request × balance ÷ every request, rounded down, and the fen it took
    of those the floors left (largest remainder, ties to the lower fund id): checkable by hand."""
    floor = available_fen * result.request_fen // requested_fen
    taken = (
        f" + {result.remaining_fen_taken} remaining fen (largest remainder)"
        if result.remaining_fen_taken
        else ""
    )
    return (
        f"draw scaled pro rata to what the adjustment fund holds: request "
        f"{_yuan(result.request_fen)} × balance ÷ requests = {_yuan(floor)} rounded down"
        f"{taken} = {_yuan(result.draw_fen)} (以收定支)"
    )


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def rate_text(value: Decimal) -> str:
    """A rate as the contract writes it (6 decimals, half-up)."""
    return str(value.quantize(Decimal("0.000001"), ROUND_HALF_UP))
