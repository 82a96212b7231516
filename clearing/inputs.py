"""Building the allocation's inputs from the read models, and their canonical hash.

Per pool (the registered ``resident`` funds of the province, and the legacy ``urban_resident``
and ``ncms`` funds while they exist): income and expense on the policy's gap lines, the year's
levy paid (``LEVY-<year>`` postings) and due (:mod:`clearing.levy`), the accumulated balance
at the start of the year, the assessment grade, the county plans' spending and each county's
own fault (Nantong 2019). Per province: the adjustment fund's balance at the end of the year
before the year's draws. The same read models and policy always give the same inputs and the
same hash, before and after the draws are posted.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from typing import Any

import orjson

from clearing.allocation import CountyFault, PoolInput, ProvinceInput
from clearing.catch_up import catch_up_faults
from clearing.levy import compute_levies, levy_reference
from clearing.policy import ClearingPolicy
from clearing.queries import (
    POOL_SCHEMES,
    adjustment_fund,
    county_plans,
    county_totals,
    latest_assessment,
    reference_total,
    registered_funds,
    statement_or_none,
)
from domain.lines import Line
from domain.money import format_fen
from projections.db import ProjectionDB
from projections.service import ReadModels
from projections.statement import Statement


def draw_prefix(year: int) -> str:
    """The reference prefix of the year's draws on the adjustment fund."""
    return f"DRAW-{year}-"


def build_inputs(
    read_models: ReadModels, province: str, year: int, policy: ClearingPolicy
) -> ProvinceInput:
    """Every figure the allocation of ``province`` for ``year`` depends on."""
    read_models.catch_up()
    db = read_models.for_province(province).db
    levies = compute_levies(db, province, year, policy)
    pools: list[PoolInput] = []
    for fund in registered_funds(db, province, POOL_SCHEMES):
        statement = statement_or_none(db, fund, year)
        if statement is not None:
            pools.append(_pool_input(db, statement, policy, levies.levy_of(fund)))
    adjustment = str(adjustment_fund(province))
    return ProvinceInput(
        province=province,
        year=year,
        adjustment_fund=adjustment,
        adjustment_balance_fen=adjustment_balance_before_draws(db, adjustment, year),
        pools=tuple(pools),
    )


def _pool_input(
    db: ProjectionDB, statement: Statement, policy: ClearingPolicy, levy_due_fen: int
) -> PoolInput:
    fund, year = statement.fund, statement.year
    assessment = latest_assessment(db, fund, year)
    plans = county_plans(db, fund, year)
    return PoolInput(
        fund=fund,
        income_fen=sum(statement.line(line.value) for line in policy.gap.income_lines),
        expense_fen=sum(statement.line(line.value) for line in policy.gap.expense_lines),
        levy_fen=reference_total(db, fund, Line.TO_UPPER, levy_reference(year)),
        levy_due_fen=levy_due_fen,
        balance_fen=statement.opening_balance_fen + statement.opening_balance_transfers_fen,
        grade=assessment[0] if assessment else None,
        planned_expense_fen=sum(p.spending_fen for p in plans) if plans else None,
        county_faults=county_faults(db, fund, year),
    )


def county_faults(db: ProjectionDB, fund: str, year: int) -> tuple[CountyFault, ...]:
    """Each county's own part of its pool's revenue gap, with the reason, in county order.

    Nantong 2019 (通政办发〔2019〕101号): 县（市）、区未按规定补助到位、未严格执行缴费政策或
    未完成征收计划等情形形成的基金收入缺口，由县（市）、区政府承担 — a county that did not
    pay its subsidy in full, or missed its collection plan, makes its part of the gap good.
    Missed collection = max(0, planned contributions − contributions posted with the county);
    unpaid subsidy = max(0, planned subsidies − subsidies posted with the county); and, for
    Nantong from 2020 to 2024, the financing-standard catch-up instalment still unpaid
    (:mod:`clearing.catch_up`).
    """
    plans = county_plans(db, fund, year)
    collected = county_totals(db, fund, year, (Line.CONTRIBUTION,))
    subsidised = county_totals(db, fund, year, (Line.SUBSIDY,))
    catch_up = catch_up_faults(db, fund, year)
    counties = sorted({p.county for p in plans} | set(catch_up))
    by_county = {p.county: p for p in plans}
    faults: list[CountyFault] = []
    for county in counties:
        reasons: list[str] = []
        amount = 0
        plan = by_county.get(county)
        if plan is not None:
            got = collected.get(county, 0)
            missed = max(0, plan.contributions_fen - got)
            if missed:
                reasons.append(
                    f"collection plan missed by {format_fen(missed)} "
                    f"(planned {format_fen(plan.contributions_fen)}, collected {format_fen(got)})"
                )
            received = subsidised.get(county, 0)
            unpaid = max(0, plan.subsidies_fen - received)
            if unpaid:
                reasons.append(
                    f"subsidy unpaid {format_fen(unpaid)} "
                    f"(planned {format_fen(plan.subsidies_fen)}, received {format_fen(received)})"
                )
            amount += missed + unpaid
        if catch_up.get(county):
            amount += catch_up[county]
            reasons.append(f"financing-standard catch-up unpaid {format_fen(catch_up[county])}")
        if amount:
            faults.append(CountyFault(county, amount, "; ".join(reasons)))
    return tuple(faults)


def adjustment_balance_before_draws(db: ProjectionDB, fund: str, year: int) -> int:
    """The adjustment fund's closing balance for the year, the year's draws added back."""
    statement = statement_or_none(db, fund, year)
    if statement is None:
        return 0
    draws = reference_total(db, fund, Line.TO_LOWER, draw_prefix(year), year)
    return statement.closing_balance_fen + draws


def inputs_document(inputs: ProvinceInput, policy: ClearingPolicy) -> dict[str, Any]:
    """What the inputs hash covers: every input figure and the whole policy (pools in fund
    order, so the hash does not depend on the order they were read in)."""
    document = asdict(inputs)
    document["pools"] = sorted(document["pools"], key=lambda pool: pool["fund"])
    return {
        "inputs": document,
        "policy": policy.model_dump(mode="json"),
    }


def inputs_hash(inputs: ProvinceInput, policy: ClearingPolicy) -> str:
    """``sha256:`` + hex of the canonical JSON (keys sorted, no spaces, UTF-8) of the inputs."""
    canonical = orjson.dumps(inputs_document(inputs, policy), option=orjson.OPT_SORT_KEYS)
    return "sha256:" + hashlib.sha256(canonical).hexdigest()
