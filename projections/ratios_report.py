"""The ratios report (docs/domain.md §3): one row per fund for a year, with its warnings.

Read from the statement read model grouped by fund, fiscal year and month (``fl_sums``, or
``fl_postings`` as of a time), never from a fold of the events. Each row gives the full
year's figures and ratios; while the year is not complete, also those of the trailing 12
months ending at the fund's latest month with postings, on which its warnings are computed
(:func:`warning_basis`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from domain.funds import FundId
from domain.lines import EXPENSE_LINES, INCOME_LINES, Line, sign_of
from domain.regions import check_region, contains, province_of
from domain.today import china_today
from projections.db import ProjectionDB
from projections.policy import Policy
from projections.queries import FAR_FUTURE
from projections.statement import Statement
from projections.warning_rules import (
    FIGURE_KEYS,
    Figures,
    evaluate,
    overall_level,
    warning_basis,
    warnings_only,
)

TRAILING_NAMES = {"closing_balance": "year_end_balance"}
"""The trailing window's balance is the year-end balance it points to (:meth:`trailing`)."""

Month = tuple[int, int]
"""(fiscal year, month)."""

_INCOME = frozenset(x.value for x in INCOME_LINES)
_EXPENSE = frozenset(x.value for x in EXPENSE_LINES)
_FROM = frozenset({Line.FROM_UPPER.value, Line.FROM_LOWER.value})
_TO = frozenset({Line.TO_UPPER.value, Line.TO_LOWER.value})
_RAISED = frozenset({Line.CONTRIBUTION.value, Line.SUBSIDY.value})


@dataclass
class FundHistory:
    """A fund's movements by month over the report year and the year before it (fen).

    ``balance_before_fen`` is the opening balance plus every movement of earlier years;
    ``lines`` holds each month's line totals (signed on their line, reversals subtracted),
    ``transfers`` each month's balance transfers (legacy merges: balance, not income).
    """

    fund: str
    first_year: int
    balance_before_fen: int
    closed: bool = False
    lines: dict[Month, dict[str, int]] = field(default_factory=dict)
    transfers: dict[Month, int] = field(default_factory=dict)

    def add(self, year: int, month: int, line: str, amount: int, is_transfer: bool) -> None:
        """Add one group of postings (year 0: every year before the year before the report)."""
        if year == 0:
            self.balance_before_fen += sign_of(Line(line)) * amount
        elif is_transfer:
            key = (year, month)
            self.transfers[key] = self.transfers.get(key, 0) + sign_of(Line(line)) * amount
        else:
            by_line = self.lines.setdefault((year, month), {})
            by_line[line] = by_line.get(line, 0) + amount

    def figures(self, start: Month, end: Month, period: str) -> Figures:
        """The figures of the months from ``start`` to ``end``, both included."""
        totals: dict[str, int] = {}
        balance = self.balance_before_fen
        for key, effect in self.transfers.items():
            if key <= end:
                balance += effect
        for key, by_line in self.lines.items():
            if key > end:
                continue
            balance += sum(sign_of(Line(line)) * amount for line, amount in by_line.items())
            if key >= start:
                for line, amount in by_line.items():
                    totals[line] = totals.get(line, 0) + amount
        income = sum(v for k, v in totals.items() if k in _INCOME)
        expense = sum(v for k, v in totals.items() if k in _EXPENSE)
        return Figures(
            period=period,
            income_subtotal_fen=income,
            expense_subtotal_fen=expense,
            income_total_fen=income + sum(v for k, v in totals.items() if k in _FROM),
            expense_total_fen=expense + sum(v for k, v in totals.items() if k in _TO),
            funds_raised_fen=sum(v for k, v in totals.items() if k in _RAISED),
            closing_balance_fen=balance,
            benefit_fen=totals.get(Line.BENEFIT.value, 0),
        )

    def trailing(self, year: int, *, today: date) -> Figures | None:
        """The trailing 12 months: the flows of the 12 months ending at :func:`trailing_end`
        (the latest month of ``year`` with postings, but never a month not yet over in China on
        ``today``), and the year-end balance they point to. None when the books do not reach
        12 months back.

        The balance to date is at its seasonal low before the fourth-quarter contributions,
        so the balance the ratios use is the balance to date plus last year's net flows for
        the rest of the year (the window's months in the year before): that is, last
        year-end's balance plus the trailing 12 months' surplus (plus any balance merged in
        this year). In a year like the last it is exactly the coming year-end balance.
        """
        months = [k for k in (*self.lines, *self.transfers) if k[0] == year]
        end = trailing_end(year, months, today=today)
        start = (end[0] - 1, end[1] + 1) if end[1] < 12 else (end[0], 1)
        if start[0] < self.first_year:
            return None
        period = f"{start[0]}-{start[1]:02d}..{end[0]}-{end[1]:02d}"
        window = self.figures(start, end, period)
        rest_of_year = sum(
            sign_of(Line(line)) * amount
            for key, by_line in self.lines.items()
            if start <= key and key[0] == start[0] < end[0]
            for line, amount in by_line.items()
        )
        return replace(
            window,
            closing_balance_fen=window.closing_balance_fen + rest_of_year,
            balance_name="projected year-end balance",
        )


def last_complete_month(today: date) -> Month:
    """The last calendar month that is over on ``today`` (a day in China, :func:`china_today`)."""
    return (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)


def trailing_end(year: int, posted: list[Month], *, today: date) -> Month:
    """Where an incomplete year's trailing window ends: the latest month of ``year`` with
    postings (December of the year before when none), but no later than the last complete
    month on ``today``, whatever has been posted since (issue 9: a December posting, or a levy
    dated 31 December, while December runs, must not turn the window into the year to date)."""
    latest = max(posted, default=(year - 1, 12))
    return min(latest, last_complete_month(today))


def year_complete(year: int, *, today: date, closed: bool) -> bool:
    """A year is complete once it is over, or once its final accounts are approved."""
    return closed or year < today.year


_FUNDS = "SELECT fund, first_year, opening_balance_fen FROM fl_funds WHERE recorded_at <= %s"
_MOVEMENTS = (
    "SELECT fund, CASE WHEN fiscal_year < %s THEN 0 ELSE fiscal_year END, "
    "CASE WHEN fiscal_year < %s THEN 0 ELSE month END, line, is_transfer, sum(amount_fen) "
)
_POSTINGS = _MOVEMENTS + "FROM fl_postings WHERE fiscal_year <= %s AND recorded_at <= %s"
_SUMS = _MOVEMENTS + "FROM fl_sums WHERE fiscal_year <= %s"
_GROUP = " GROUP BY 1, 2, 3, 4, 5"
_QUERIES = {
    (kind, source): (_FUNDS + on, movements + on + _GROUP)
    for kind, on in (("all", ""), ("province", " AND province = %s"), ("fund", " AND fund = %s"))
    for source, movements in (("postings", _POSTINGS), ("sums", _SUMS))
}
"""Constant SQL per filter, so that one fund's query uses the (fund, fiscal_year) index; the
sums (:mod:`projections.sums`) answer what everything recorded says, the postings what was
recorded up to a time."""


def load_histories(
    db: ProjectionDB,
    year: int,
    *,
    region: str | None = None,
    fund: str | None = None,
    as_of: str | None = None,
) -> list[FundHistory]:
    """The histories of every fund keeping books in ``year`` (in ``region``, or one fund)."""
    cutoff = as_of or FAR_FUTURE
    extra: tuple[str, ...]
    if fund is not None:
        kind, extra = "fund", (fund,)
    elif region is not None:
        kind, extra = "province", (province_of(check_region(region)),)
    else:
        kind, extra = "all", ()
    funds_sql, postings_sql = _QUERIES[kind, "postings" if as_of else "sums"]
    histories: dict[str, FundHistory] = {}
    for name, first_year, opening in db.query(funds_sql, (cutoff, *extra)):
        region_of_fund = FundId.parse(name).region
        inside = region is None or region == region_of_fund or contains(region, region_of_fund)
        if int(first_year) <= year and inside:
            histories[name] = FundHistory(name, int(first_year), int(opening))
    for (name,) in db.query(
        "SELECT fund FROM fl_closes WHERE year = %s AND closed_at <= %s", (year, cutoff)
    ):
        if name in histories:
            histories[name].closed = True
    cut = (cutoff,) if as_of else ()
    rows = db.query(postings_sql, (year - 1, year - 1, year, *cut, *extra))
    for name, fiscal_year, month, line, is_transfer, total in rows:
        if name in histories:
            histories[name].add(int(fiscal_year), int(month), line, int(total), bool(is_transfer))
    return [histories[name] for name in sorted(histories)]


def ratios_row(history: FundHistory, policy: Policy, *, year: int, today: date) -> dict[str, Any]:
    """One fund's row: full year, trailing 12 months (incomplete years), warnings."""
    complete = year_complete(year, today=today, closed=history.closed)
    full = history.figures((year, 1), (year, 12), str(year))
    trailing = None if complete else history.trailing(year, today=today)
    basis = warning_basis(full, trailing, complete=complete)
    findings = [] if basis is None else evaluate(FundId.parse(history.fund), basis, policy)
    figures = trailing.to_json(policy) if trailing is not None else dict.fromkeys(FIGURE_KEYS)
    trailing_json = {f"trailing_{TRAILING_NAMES.get(k, k)}": v for k, v in figures.items()}
    basis_name = None if basis is None else ("full_year" if complete else "trailing_12_months")
    return {
        "fund": history.fund,
        "year": year,
        "year_complete": complete,
        **full.to_json(policy),
        "trailing_period": None if trailing is None else trailing.period,
        **trailing_json,
        "basis": basis_name,
        "warning_level": overall_level(findings).value,
        "warnings": warnings_only(findings),
        "policy": policy.label,
        "accumulated_balance_denominator": policy.accumulated_balance_denominator,
        "months_of_coverage_denominator": policy.months_of_coverage_denominator,
    }


def ratios_report(
    db: ProjectionDB,
    year: int,
    *,
    policy_for: Callable[[str], Policy],
    today: date,
    region: str | None = None,
    as_of: str | None = None,
) -> list[dict[str, Any]]:
    """One row per fund keeping books in ``year`` (inside ``region`` when given).

    ``policy_for`` answers the policy of a province (the shipped file, or the user's).
    """
    return [
        ratios_row(h, policy_for(FundId.parse(h.fund).province), year=year, today=today)
        for h in load_histories(db, year, region=region, as_of=as_of)
    ]


def statement_warnings(
    statement: Statement,
    policy: Policy,
    *,
    db: ProjectionDB | None = None,
    today: date | None = None,
) -> list[dict[str, Any]]:
    """The ``warnings`` list of a statement's JSON (docs/domain.md §3).

    A complete year (over, or closed) is judged on the statement's own figures. An
    incomplete one is judged on the trailing 12 months, read from ``db`` as of the
    statement's ``as_of``; without ``db`` it gets no warnings (never a year-to-date alone).
    """
    today = today or china_today()
    year = statement.year
    complete = year_complete(year, today=today, closed=statement.closed_at is not None)
    full = Figures(
        period=str(year),
        income_subtotal_fen=statement.income_subtotal_fen,
        expense_subtotal_fen=statement.expense_subtotal_fen,
        income_total_fen=statement.income_total_fen,
        expense_total_fen=statement.expense_total_fen,
        funds_raised_fen=statement.funds_raised_fen,
        closing_balance_fen=statement.closing_balance_fen,
        benefit_fen=statement.line(Line.BENEFIT.value),
    )
    trailing = None
    if not complete and db is not None:
        found = load_histories(db, year, fund=statement.fund, as_of=statement.as_of)
        trailing = found[0].trailing(year, today=today) if found else None
    basis = warning_basis(full, trailing, complete=complete)
    if basis is None:
        return []
    return warnings_only(evaluate(FundId.parse(statement.fund), basis, policy))
