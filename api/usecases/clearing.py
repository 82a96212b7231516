"""The clearing inputs, one function per capability: levies, assessments, plans, catch-up.

Recording a levy, an assessment or a county plan is the provincial clearing office's
(``CLEAR``); reading the levies of a province is scoped like every province document
(:mod:`api.usecases.scope`), and the catch-up schedule of a pool is a read of that pool
(docs/clearing.md §1 steps 1, 2 and 9).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.bootstrap import App
from api.usecases.scope import Scope, province_scope
from clearing.catch_up import catch_up_schedule, schedule_rows
from clearing.levy import LevyPlan, LevyPosted, levy_plan, post_levies
from clearing.policy import PolicyChoice, choose_policy
from clearing.pool_inputs import assess as record_grade
from clearing.pool_inputs import check_province
from clearing.pool_inputs import plan as record_plan
from domain.access import Action, Principal, authorize
from domain.funds import FundId
from domain.money import format_fen


@dataclass(frozen=True)
class Levies:
    """A province's levies for a year, as much of them as the caller sees.

    ``balance``, ``cap`` and ``total`` are the adjustment fund's and the whole province's:
    None in a city's partial view. ``rows`` carry ``status`` once the levies were posted.
    """

    province: str
    year: int
    adjustment_fund: str
    ratio: str
    balance: str | None
    cap: str | None
    total: str | None
    rows: list[dict[str, str]]

    def to_json(self) -> dict[str, Any]:
        """The levies as JSON-ready data (money as yuan strings)."""
        return {
            "province": self.province,
            "year": self.year,
            "adjustment_fund": self.adjustment_fund,
            "ratio": self.ratio,
            "balance": self.balance,
            "cap": self.cap,
            "total": self.total,
            "levies": self.rows,
        }


def levies(
    app: App, who: Principal, province: str, year: int, policy: PolicyChoice = None
) -> Levies:
    """Each pool's levy for the year (ratio × base, stopped at the cap); nothing recorded."""
    check_province(province)
    scope = province_scope(who, province)
    plan = levy_plan(app.read_models, province, year, choose_policy(province, year, policy))
    return _levies(plan, {}, scope)


def post_levy(
    app: App, who: Principal, province: str, year: int, policy: PolicyChoice = None
) -> Levies:
    """Post every levy not yet posted, all or nothing; each row says what posting did."""
    check_province(province)
    authorize(who, Action.CLEAR, province)
    plan = levy_plan(app.read_models, province, year, choose_policy(province, year, policy))
    posted = post_levies(app.ledger, app.read_models, plan, author=who.author)
    return _levies(plan, {p.fund: p for p in posted}, Scope(province, None))


def _levies(plan: LevyPlan, status: dict[str, LevyPosted], scope: Scope) -> Levies:
    """Each pool's row; after a post, what the voucher holds (``posted``) and what the levy
    computed now still asks beyond it (``still_due``), so an earlier, smaller levy shows as
    such rather than as the amount computed today."""
    rows = [
        {
            "fund": x.fund,
            "base_year": str(x.base_year),
            "base": format_fen(x.base_fen),
            "due": format_fen(x.due_fen),
            "levy": format_fen(x.levy_fen),
            "reference": x.reference,
            "value_date": x.value_date.isoformat(),
            **(_posted_columns(x.levy_fen, status[x.fund]) if x.fund in status else {}),
        }
        for x in plan.levies
        if scope.sees(x.fund)
    ]
    whole = scope.whole
    return Levies(
        province=plan.province,
        year=plan.year,
        adjustment_fund=plan.adjustment_fund,
        ratio=str(plan.ratio),
        balance=format_fen(plan.balance_fen) if whole else None,
        cap=format_fen(plan.cap_fen) if whole and plan.cap_fen is not None else None,
        total=format_fen(plan.total_fen) if whole else None,
        rows=rows,
    )


def _posted_columns(levy_fen: int, posted: LevyPosted) -> dict[str, str]:
    still_due = max(0, levy_fen - posted.amount_fen)
    status = posted.status
    if status == "already posted" and still_due:
        status = (
            f"already posted {format_fen(posted.amount_fen)}, {format_fen(still_due)} still due"
        )
    return {
        "status": status,
        "posted": format_fen(posted.amount_fen),
        "still_due": format_fen(still_due),
    }


def assess(
    app: App,
    who: Principal,
    fund: FundId,
    year: int,
    *,
    grade: str,
    score: str | None = None,
    policy: Path | None = None,
) -> bool:
    """Record a pool's assessment grade for the year (考核评价); False when unchanged.

    The grade must be one of the grades of the policy that will settle the year: the
    province's, or ``policy``'s.
    """
    authorize(who, Action.CLEAR, fund.region)
    return record_grade(
        app.ledger, fund, year, grade=grade, score=score, policy_path=policy, author=who.author
    )


def plan(
    app: App,
    who: Principal,
    fund: FundId,
    year: int,
    *,
    county: str,
    contributions_fen: int,
    subsidies_fen: int,
    spending_fen: int,
) -> bool:
    """Set a county's yearly plan in a municipal pool (年度收支计划); False when unchanged."""
    authorize(who, Action.CLEAR, fund.region)
    amounts = (contributions_fen, subsidies_fen, spending_fen)
    return record_plan(app.ledger, fund, year, county=county, amounts=amounts, author=who.author)


def catch_up(app: App, who: Principal, fund: FundId) -> list[dict[str, str]]:
    """Nantong's financing-standard catch-up: per county and instalment, due against paid."""
    authorize(who, Action.READ, fund.region)
    app.read_models.fresh(provinces=(fund.province,))
    db = app.read_models.for_province(fund.province).db
    return schedule_rows(catch_up_schedule(db, str(fund)))
