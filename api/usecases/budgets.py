"""Budgets (预算), one function per capability, for the CLI and the HTTP API alike.

Drafting, approving and adjusting are writes on the fund (``WRITE``: a city's finance officer
for its own funds, the provincial office for every fund of its province); approval is refused
(403) to anyone who drafted a version of the budget, by the rule in :mod:`domain.budget`.
Showing a budget and its execution are reads (docs/projections.md §4).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from api.bootstrap import App
from domain.access import Action, Principal, authorize
from domain.budget import expense_total_fen, income_total_fen
from domain.budgets import BudgetOutcome, adjust_budget, approve_budget, draft_budget
from domain.funds import FundId
from domain.lines import Line
from domain.money import format_fen
from projections.budgets import read_budget, read_execution
from projections.policy import load_policy
from projections.queries import read_statement


@dataclass(frozen=True)
class BudgetWritten:
    """What a budget command recorded: the budget's version and its balances after it."""

    fund: str
    year: int
    version: int
    status: str
    changed: bool
    opening_balance: str
    current_surplus: str
    closing_balance: str

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def draft(
    app: App,
    who: Principal,
    fund: FundId,
    year: int,
    lines: Mapping[Line, int],
    *,
    opening_balance_fen: int | None = None,
) -> BudgetWritten:
    """Draft the year's budget, replacing an unapproved draft; ``changed`` False on a repeat.

    The opening balance is the one given, else the year's opening balance on the books.
    """
    authorize(who, Action.WRITE, fund.region)
    outcome = draft_budget(
        app.ledger,
        fund,
        year,
        lines,
        opening_balance_fen=_opening_balance(app, fund, year, opening_balance_fen),
        permitted=permitted_expense_lines(fund.province),
        author=who.author,
    )
    return _written(outcome)


def approve(app: App, who: Principal, fund: FundId, year: int, ref: str) -> BudgetWritten:
    """Approve the draft under its approval reference (批准文号): the original budget."""
    authorize(who, Action.WRITE, fund.region)
    return _written(approve_budget(app.ledger, fund, year, ref, author=who.author))


def adjust(
    app: App,
    who: Principal,
    fund: FundId,
    year: int,
    lines: Mapping[Line, int],
    *,
    ref: str,
    memo: str | None = None,
    opening_balance_fen: int | None = None,
) -> BudgetWritten:
    """Record an approved adjustment (预算调整方案) with its own reference; the original stays."""
    authorize(who, Action.WRITE, fund.region)
    outcome = adjust_budget(
        app.ledger,
        fund,
        year,
        lines,
        approval_ref=ref,
        opening_balance_fen=_opening_balance(app, fund, year, opening_balance_fen),
        permitted=permitted_expense_lines(fund.province),
        memo=memo,
        author=who.author,
    )
    return _written(outcome)


def show(app: App, who: Principal, fund: FundId, year: int) -> dict[str, Any]:
    """The budget: the original as approved, the current one, and every version."""
    authorize(who, Action.READ, fund.region)
    app.read_models.fresh(provinces=(fund.province,))
    db = app.read_models.for_province(fund.province).db
    return read_budget(db, str(fund), year).to_json()


def execution(app: App, who: Principal, fund: FundId, year: int) -> dict[str, Any]:
    """Budget execution (预算执行): actual against the current budget, line by line."""
    authorize(who, Action.READ, fund.region)
    app.read_models.fresh(provinces=(fund.province,))
    return read_execution(app.read_models.for_province(fund.province).db, str(fund), year)


def permitted_expense_lines(province: str) -> frozenset[Line] | None:
    """The expense lines the province's policy lets a budget carry (None: every line)."""
    permitted = load_policy(province).budget.permitted_expense_lines
    return None if permitted is None else frozenset(permitted)


def _opening_balance(app: App, fund: FundId, year: int, given: int | None) -> int:
    """The given opening balance, or the year's opening balance from the read model.

    That is the previous year's closing balance (restated), plus any legacy fund's balance
    already merged in this year (booked against the opening balance, docs/domain.md §2).
    """
    if given is not None:
        return given
    app.read_models.fresh(provinces=(fund.province,))
    statement = read_statement(app.read_models.for_province(fund.province).db, str(fund), year)
    return statement.opening_balance_fen + statement.opening_balance_transfers_fen


def _written(outcome: BudgetOutcome) -> BudgetWritten:
    b = outcome.budget
    surplus = income_total_fen(b.lines) - expense_total_fen(b.lines)
    return BudgetWritten(
        fund=b.fund,
        year=b.year,
        version=b.revision,
        status=b.status,
        changed=outcome.changed,
        opening_balance=format_fen(b.opening_balance_fen),
        current_surplus=format_fen(surplus),
        closing_balance=format_fen(b.opening_balance_fen + surplus),
    )
