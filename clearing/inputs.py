"""Building the allocation's inputs from the read models, and their canonical hash.

Per pool (the registered ``resident`` funds of the province, and the legacy ``urban_resident``
and ``ncms`` funds while they exist): income and expense on the policy's gap lines, the year's
levy paid (``LEVY-<year>`` postings) and due (:mod:`clearing.levy`), the accumulated balance
at the start of the year, the assessment grade, the county plans' spending and each county's
own fault (Nantong 2019). Per province: the adjustment fund's balance at the end of the year
before the year's draws. The same read models and policy always give the same inputs and the
same hash, before and after the draws are posted.

Every figure is read at once for the province (:class:`clearing.queries.ProvinceBooks`: a
handful of set-based queries, whatever the number of pools), and only the province being
settled is caught up first.
"""

from __future__ import annotations

import hashlib
from dataclasses import fields, is_dataclass
from typing import Any

import orjson

from clearing.allocation import PoolInput, ProvinceInput
from clearing.levy import compute_levies, levy_reference
from clearing.own_fault import county_faults
from clearing.policy import ClearingPolicy
from clearing.queries import (
    POOL_SCHEMES,
    ProvinceBooks,
    adjustment_fund,
    county_plans,
    latest_assessment,
    reference_total,
    registered_funds,
    statement_or_none,
)
from domain.lines import Line
from domain.regions import contains
from projections.db import ProjectionDB
from projections.service import ReadModels
from projections.statement import Statement


def draw_prefix(year: int) -> str:
    """The reference prefix of the year's draws on the adjustment fund."""
    return f"DRAW-{year}-"


def read_books(read_models: ReadModels, province: str, year: int) -> ProvinceBooks:
    """The province's books of the year with every sum the allocation and the levies read,
    after catching up this province's read models only."""
    read_models.catch_up(provinces=(province,))
    return ProvinceBooks.read(
        read_models.for_province(province).db,
        province,
        year,
        references_wanted=(
            (Line.TO_UPPER, levy_reference(year), None),
            (Line.TO_LOWER, draw_prefix(year), year),
        ),
    )


def build_inputs(
    read_models: ReadModels,
    province: str,
    year: int,
    policy: ClearingPolicy,
    books: ProvinceBooks | None = None,
) -> ProvinceInput:
    """Every figure the allocation of ``province`` for ``year`` depends on, from ``books``
    when given (:func:`read_books`, read once for a page that shows several answers)."""
    db = read_books(read_models, province, year) if books is None else books
    levies = compute_levies(db, province, year, policy)
    pools: list[PoolInput] = []
    for fund in registered_funds(db, province, POOL_SCHEMES):
        if not governed_by(policy, fund):
            continue
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


def governed_by(policy: ClearingPolicy, fund: str) -> bool:
    """True when the policy governs the pool's region: a policy settles the region it names
    (``region``; else its province), so Nantong's city policy (320600) never settles
    Nanjing's pool (320100) (Nantong 2019 is a city's own 市级统筹 scheme)."""
    region = fund.partition(":")[2]
    governed = policy.region or policy.province
    return region == governed or contains(governed, region)


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
    document = _plain(inputs)
    assert isinstance(document, dict)
    document["pools"] = sorted(document["pools"], key=lambda pool: pool["fund"])
    return {
        "inputs": document,
        "policy": policy.model_dump(mode="json"),
    }


def _plain(value: Any) -> Any:
    """``dataclasses.asdict`` without its deep copies: the inputs hold only ints, strings,
    None and frozen dataclasses, so each is read as it is (the same JSON, much faster)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    return value


def inputs_hash(inputs: ProvinceInput, policy: ClearingPolicy) -> str:
    """``sha256:`` + hex of the canonical JSON (keys sorted, no spaces, UTF-8) of the inputs."""
    canonical = orjson.dumps(inputs_document(inputs, policy), option=orjson.OPT_SORT_KEYS)
    return "sha256:" + hashlib.sha256(canonical).hexdigest()
