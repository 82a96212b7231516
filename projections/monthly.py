"""A fund's figures month by month, from the statement read model (``fl_sums``, or
``fl_postings`` as of a time).

Read from the projection tables grouped by fiscal year and month (the month of the value
date), never from a fold of the events. Every calendar month from January of the fund's first
year to its latest month with postings is listed, postings or not, with the balance at its end.

Months of coverage here are the month-end balance over the average monthly spending of the
trailing 12 months (the month itself and the 11 before it). Spending is what the province's
policy divides by (``months_of_coverage_denominator``, docs/projections.md): the expense
subtotal, or the benefit line alone where the policy counts months of benefits (Guangdong). While
the books hold fewer than 12 months, the average is over the months they hold
(``window_months`` says how many).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from domain.errors import InvalidInput
from domain.lines import EXPENSE_LINES, INCOME_LINES, Line, sign_of
from projections.db import ProjectionDB
from projections.queries import registration
from projections.ratios import months_of_coverage

TRAILING_MONTHS = 12

_INCOME = frozenset(x.value for x in INCOME_LINES)
_EXPENSE = frozenset(x.value for x in EXPENSE_LINES)


@dataclass(frozen=True)
class MonthFigures:
    """One month of a fund (fen): its flows, its month-end balance, its trailing expense."""

    year: int
    month: int
    income_subtotal_fen: int
    expense_subtotal_fen: int
    closing_balance_fen: int
    trailing_expense_fen: int
    """The spending of the window (the policy's denominator): this month and up to 11 before."""
    window_months: int
    """How many months the window holds: 12, or fewer while the books are younger."""

    @property
    def label(self) -> str:
        """``2024-03``."""
        return f"{self.year}-{self.month:02d}"

    @property
    def months_of_coverage(self) -> str | None:
        """Month-end balance / the window's average monthly spending (4 decimals); None when
        the window spent nothing."""
        if self.trailing_expense_fen <= 0:
            return None
        # balance / (expense / n) = balance × 12 / (expense × 12 / n), exact in integers
        return months_of_coverage(
            self.closing_balance_fen * self.window_months,
            self.trailing_expense_fen * TRAILING_MONTHS,
        )


def monthly_figures(
    db: ProjectionDB,
    fund: str,
    *,
    from_year: int | None = None,
    to_year: int | None = None,
    as_of: str | None = None,
    denominator: Literal["expense_subtotal", "benefit"] = "expense_subtotal",
) -> list[MonthFigures]:
    """The months of ``fund`` from ``from_year`` to ``to_year`` (both included; default: all
    its years), as recorded up to ``as_of`` (default: everything); months of coverage over
    ``denominator`` (the policy's ``months_of_coverage_denominator``).

    The list ends at the latest month with postings (inside the range); it is empty when
    nothing was posted in the range. Balance transfers (legacy merges) move the balance but
    are neither income nor expense.
    """
    first_year, opening_fen = registration(db, fund, as_of)
    start_year = first_year if from_year is None else from_year
    if start_year < first_year:
        raise InvalidInput(
            f"{fund} keeps its books from {first_year}, not {start_year}", field="from_year"
        )
    if to_year is not None and to_year < start_year:
        raise InvalidInput(
            f"--to-year {to_year} is before the first year shown, {start_year}", field="to_year"
        )
    rows = _month_lines(db, fund, as_of)
    balance_before = opening_fen
    income: dict[tuple[int, int], int] = {}
    expense: dict[tuple[int, int], int] = {}
    benefit: dict[tuple[int, int], int] = {}
    movement: dict[tuple[int, int], int] = {}
    for fiscal_year, month, line, is_transfer, total in rows:
        key, amount = (int(fiscal_year), int(month)), int(total)
        effect = sign_of(Line(line)) * amount
        if key[0] < first_year:
            balance_before += effect
            continue
        movement[key] = movement.get(key, 0) + effect
        if is_transfer:
            continue
        if line in _INCOME:
            income[key] = income.get(key, 0) + amount
        elif line in _EXPENSE:
            expense[key] = expense.get(key, 0) + amount
            if line == Line.BENEFIT.value:
                benefit[key] = benefit.get(key, 0) + amount
    if not movement:
        return []
    end = max(movement)
    if to_year is not None:
        end = min(end, (to_year, 12))
    months: list[MonthFigures] = []
    balance = balance_before
    spending = benefit if denominator == "benefit" else expense
    window: list[int] = []
    for key in _calendar((first_year, 1), end):
        balance += movement.get(key, 0)
        window = [*window[-(TRAILING_MONTHS - 1) :], spending.get(key, 0)]
        if key[0] < start_year:
            continue
        months.append(
            MonthFigures(
                year=key[0],
                month=key[1],
                income_subtotal_fen=income.get(key, 0),
                expense_subtotal_fen=expense.get(key, 0),
                closing_balance_fen=balance,
                trailing_expense_fen=sum(window),
                window_months=len(window),
            )
        )
    return months


def _month_lines(db: ProjectionDB, fund: str, as_of: str | None) -> list[tuple[Any, ...]]:
    """The fund's sums per fiscal year, month, line and transfer: from ``fl_sums`` for
    everything recorded (:mod:`projections.sums`), from ``fl_postings`` as of a time."""
    select = "SELECT fiscal_year, month, line, is_transfer, sum(amount_fen) FROM "
    if as_of is None:
        return db.query(select + "fl_sums WHERE fund = %s GROUP BY 1, 2, 3, 4", (fund,))
    return db.query(
        select + "fl_postings WHERE fund = %s AND recorded_at <= %s GROUP BY 1, 2, 3, 4",
        (fund, as_of),
    )


def _calendar(start: tuple[int, int], end: tuple[int, int]) -> list[tuple[int, int]]:
    """Every (year, month) from ``start`` to ``end``, both included."""
    year, month = start
    out: list[tuple[int, int]] = []
    while (year, month) <= end:
        out.append((year, month))
        year, month = (year, month + 1) if month < 12 else (year + 1, 1)
    return out
