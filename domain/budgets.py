"""Budget commands on the ledger: load the fund's budget in its province, run, save, retry.

The budget lives in the province's application next to the fund it belongs to. The figures a
rule needs from outside the aggregate (the opening balance, from the read model; the expense
lines the province permits, from its policy) are given by the caller, so this module stays
free of the read side.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from domain.authored import author_named
from domain.authorship import Author
from domain.budget import Budget, BudgetNotFound, BudgetRefused, budget_id
from domain.errors import FundNotRegistered, InvalidInput
from domain.fund import LATEST_FIRST_YEAR
from domain.funds import FundId
from domain.ledger import SAVE_RETRIES, ProvinceLedger
from domain.ledger_service import Ledger
from domain.lines import Line
from domain.money import parse_yuan

MAX_BUDGET_LINES = 100
"""The most rows a budget file may carry (there are 13 lines; a bound, not a target)."""


@dataclass(frozen=True)
class BudgetOutcome:
    """What a command did: the budget as saved, and whether anything was recorded."""

    budget: Budget
    changed: bool


def find_budget(ledger: Ledger, fund: FundId, year: int) -> Budget | None:
    """The fund's budget for a year, or None when none was drafted."""
    return _find(ledger.province(fund.province), fund, year)


def draft_budget(
    ledger: Ledger,
    fund: FundId,
    year: int,
    lines: Mapping[Line, int],
    *,
    opening_balance_fen: int,
    permitted: frozenset[Line] | None,
    author: Author | None = None,
) -> BudgetOutcome:
    """Draft the fund's budget for a year, replacing an unapproved draft, by ``author``.

    ``opening_balance_fen`` is the previous year's closing balance; ``permitted`` the expense
    lines the province allows a budget on (None: every line).
    """

    def command(budget: Budget | None) -> tuple[Budget, bool]:
        budget = budget or Budget.begin(fund, year, author=author)
        return budget, budget.draft(lines, opening_balance_fen, permitted, author=author)

    return _run(ledger, fund, year, command)


def approve_budget(
    ledger: Ledger,
    fund: FundId,
    year: int,
    approval_ref: str,
    principal: str | None = None,
    *,
    author: Author | None = None,
) -> BudgetOutcome:
    """Approve the draft under an approval reference; a repeat of the same approval is a no-op.

    The approver is ``author`` (or, transitionally, the name ``principal``); nobody who drafted
    the budget may approve it.
    """
    approver = author_named(author, principal)

    def command(budget: Budget | None) -> tuple[Budget, bool]:
        found = _existing(budget, fund, year)
        return found, found.approve(approval_ref, author=approver)

    return _run(ledger, fund, year, command)


def adjust_budget(
    ledger: Ledger,
    fund: FundId,
    year: int,
    lines: Mapping[Line, int],
    *,
    approval_ref: str,
    principal: str | None = None,
    opening_balance_fen: int,
    permitted: frozenset[Line] | None,
    memo: str | None = None,
    author: Author | None = None,
) -> BudgetOutcome:
    """Record an approved adjustment (预算调整方案); the original and earlier versions stay."""
    adjuster = author_named(author, principal)

    def command(budget: Budget | None) -> tuple[Budget, bool]:
        found = _existing(budget, fund, year)
        changed = found.adjust(
            lines,
            approval_ref,
            author=adjuster,
            opening_balance_fen=opening_balance_fen,
            permitted=permitted,
            memo=memo,
        )
        return found, changed

    return _run(ledger, fund, year, command)


def parse_budget_lines(pairs: Iterable[tuple[str, str]]) -> dict[Line, int]:
    """Budget lines from ``(line id, yuan)`` text pairs: every line once, amounts ≥ 0."""
    lines: dict[Line, int] = {}
    for count, (key, amount_text) in enumerate(pairs, start=1):
        if count > MAX_BUDGET_LINES:
            raise InvalidInput(f"at most {MAX_BUDGET_LINES} budget lines", field="lines")
        try:
            line = Line(key.strip())
        except ValueError:
            known = ", ".join(x.value for x in Line)
            raise InvalidInput(
                f"{key!r} is not a statement line (one of {known})", field="line"
            ) from None
        if line in lines:
            raise InvalidInput(f"{line.value} is given twice", field="line")
        amount = parse_yuan(amount_text, field=line.value)
        if amount < 0:
            raise InvalidInput(f"{amount_text!r}: a budget cannot be negative", field=line.value)
        lines[line] = amount
    if not lines:
        raise InvalidInput("a budget needs at least one line", field="lines")
    return lines


# --------------------------------------------------------------------------- helpers

Command = Callable[[Budget | None], tuple[Budget, bool]]


def _run(ledger: Ledger, fund: FundId, year: int, command: Command) -> BudgetOutcome:
    """Run a command on the current budget and save it, again if another writer got first."""
    app = ledger.province(fund.province)
    _check_fund_year(app, fund, year)
    for attempt in range(SAVE_RETRIES):
        budget, changed = command(_find(app, fund, year))
        if not changed:
            return BudgetOutcome(budget, changed=False)
        try:
            app.save(budget)
        except IntegrityError:
            app.forget_cached([budget.id])
            if attempt == SAVE_RETRIES - 1:
                raise
            continue
        return BudgetOutcome(budget, changed=True)
    raise AssertionError("unreachable")


def _find(app: ProvinceLedger, fund: FundId, year: int) -> Budget | None:
    """The budget as stored now: read past the cache, which another process may have outdated
    (a command answering "unchanged" saves nothing, so no failed save would reveal it)."""
    aggregate_id = budget_id(fund, year)
    app.forget_cached([aggregate_id])
    try:
        found: object = app.repository.get(aggregate_id)
    except AggregateNotFoundError:
        return None
    assert isinstance(found, Budget), type(found)
    return found


def _existing(budget: Budget | None, fund: FundId, year: int) -> Budget:
    if budget is None:
        raise BudgetNotFound(
            f"{fund} has no budget for {year}: draft one first (budget draft)", field="year"
        )
    return budget


def _check_fund_year(app: ProvinceLedger, fund: FundId, year: int) -> None:
    """The fund is registered, keeps books for the year, and the year is not closed."""
    found = app.find_fund(fund)
    if found is None:
        raise FundNotRegistered(
            f"{fund} is not registered: open it first with 'fundledger funds open'", field="fund"
        )
    if not found.first_year <= year <= LATEST_FIRST_YEAR:
        raise InvalidInput(
            f"{fund} keeps its books from {found.first_year}; there is no {year} budget",
            field="year",
        )
    if year in found.closed_years:
        raise BudgetRefused(
            f"{fund} {year} is closed (its final accounts are approved): "
            "its budget no longer changes",
            field="year",
        )
