"""The statement of a fund for one fiscal year (docs/domain.md §2), folded from its events.

Cash basis: a posting counts in the fiscal year of its value date. A reversal counts,
negatively, in the year of its own value date. A legacy fund's balance moved into the merged
fund is booked against the opening balance (``opening_balance_transfers``), never as income
or expense, so it does not inflate the surplus rate.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from domain.errors import FundNotRegistered, InvalidInput
from domain.fund import Fund
from domain.funds import FundId
from domain.ledger_service import Ledger
from domain.lines import (
    ALL_INCOME,
    EXPENSE_LINES,
    INCOME_LINES,
    INTER_LEVEL_EXPENSE,
    INTER_LEVEL_INCOME,
    Line,
    Purpose,
)
from domain.money import format_fen
from projections.ratios import (
    accumulated_balance_rate,
    balance_rate_denominator,
    current_surplus_rate,
    months_of_coverage,
)


@dataclass
class Statement:
    """Every figure of one fund's year, in fen."""

    fund: str
    year: int
    opening_balance_fen: int = 0
    opening_balance_transfers_fen: int = 0
    lines_fen: dict[str, int] = field(default_factory=dict)
    view: str = "restated"
    as_of: str | None = None
    closed_at: str | None = None
    restatements_fen: int = 0
    opening_restatements_fen: int = 0
    warnings: list[dict[str, Any]] = field(default_factory=list)
    accumulated_balance_denominator: str = "income_subtotal"
    """The accumulated balance rate's denominator: ``income_subtotal`` or ``funds_raised``
    (contribution + subsidy), as the province's policy says (docs/domain.md §3)."""

    def line(self, key: str) -> int:
        """A line or ``line.sub_line`` total (0 when nothing was posted)."""
        return self.lines_fen.get(key, 0)

    @property
    def income_subtotal_fen(self) -> int:
        return sum(self.line(x.value) for x in INCOME_LINES)

    @property
    def income_total_fen(self) -> int:
        return self.income_subtotal_fen + sum(self.line(x.value) for x in INTER_LEVEL_INCOME)

    @property
    def expense_subtotal_fen(self) -> int:
        return sum(self.line(x.value) for x in EXPENSE_LINES)

    @property
    def expense_total_fen(self) -> int:
        return self.expense_subtotal_fen + sum(self.line(x.value) for x in INTER_LEVEL_EXPENSE)

    @property
    def funds_raised_fen(self) -> int:
        """Funds raised (筹集基金): contribution + subsidy."""
        return self.line(Line.CONTRIBUTION.value) + self.line(Line.SUBSIDY.value)

    @property
    def balance_rate_denominator_fen(self) -> int:
        """The accumulated balance rate's denominator (:attr:`accumulated_balance_denominator`)."""
        return balance_rate_denominator(
            self.accumulated_balance_denominator,
            income_subtotal_fen=self.income_subtotal_fen,
            funds_raised_fen=self.funds_raised_fen,
        )

    @property
    def current_surplus_fen(self) -> int:
        """本年收支结余 = income total − expense total."""
        return self.income_total_fen - self.expense_total_fen

    @property
    def closing_balance_fen(self) -> int:
        """年末滚存结余 = opening balance (with merged-in balances) + the year's surplus."""
        return (
            self.opening_balance_fen + self.opening_balance_transfers_fen + self.current_surplus_fen
        )

    def to_json(self) -> dict[str, Any]:
        """The statement JSON of docs/contract.md."""
        income: dict[str, str] = {}
        for line in INCOME_LINES:
            _put_line(income, self.lines_fen, line.value)
        income["subtotal"] = format_fen(self.income_subtotal_fen)
        for line in INTER_LEVEL_INCOME:
            _put_line(income, self.lines_fen, line.value)
        income["total"] = format_fen(self.income_total_fen)
        expense: dict[str, str] = {}
        for line in EXPENSE_LINES:
            _put_line(expense, self.lines_fen, line.value)
        expense["subtotal"] = format_fen(self.expense_subtotal_fen)
        for line in INTER_LEVEL_EXPENSE:
            _put_line(expense, self.lines_fen, line.value)
        expense["total"] = format_fen(self.expense_total_fen)
        closing = self.closing_balance_fen
        return {
            "fund": self.fund,
            "year": self.year,
            "view": self.view,
            "as_of": self.as_of,
            "closed_at": self.closed_at,
            "opening_balance": format_fen(self.opening_balance_fen),
            "opening_balance_transfers": format_fen(self.opening_balance_transfers_fen),
            "income": income,
            "expense": expense,
            "current_surplus": format_fen(self.current_surplus_fen),
            "closing_balance": format_fen(closing),
            "ratios": {
                "current_surplus_rate": current_surplus_rate(
                    self.income_subtotal_fen, self.expense_subtotal_fen
                ),
                "accumulated_balance_rate": accumulated_balance_rate(
                    closing, self.balance_rate_denominator_fen
                ),
                "months_of_coverage": months_of_coverage(closing, self.expense_subtotal_fen),
            },
            "restatements": format_fen(self.restatements_fen),
            "opening_balance_restatements": format_fen(self.opening_restatements_fen),
            "notes": self.notes(),
            "warnings": self.warnings,
        }

    def notes(self) -> list[str]:
        """What a reader must know to read the figures right."""
        notes = []
        if self.opening_restatements_fen:
            notes.append(
                "the opening balance follows the restated closing balance of earlier years "
                f"(restatements: {format_fen(self.opening_restatements_fen)})"
            )
        if self.restatements_fen:
            notes.append(
                f"this year was restated after closing by {format_fen(self.restatements_fen)}"
            )
        if self.opening_balance_transfers_fen > 0:
            notes.append(
                "balances of legacy funds merged in this year are added to the opening balance "
                f"({format_fen(self.opening_balance_transfers_fen)}), not to income"
            )
        elif self.opening_balance_transfers_fen < 0:
            notes.append(
                "this fund's balance merged into another fund this year is taken from the "
                f"opening balance ({format_fen(self.opening_balance_transfers_fen)}), not "
                "counted as expense"
            )
        if self.accumulated_balance_denominator == "funds_raised":
            notes.append(
                "the accumulated balance rate is measured against the funds raised "
                "(contribution + subsidy), as the province's policy says"
            )
        return notes


def _put_line(out: dict[str, str], lines_fen: dict[str, int], line: str) -> None:
    out[line] = format_fen(lines_fen.get(line, 0))
    prefix = line + "."
    for key in sorted(k for k in lines_fen if k.startswith(prefix)):
        out[key] = format_fen(lines_fen[key])


def fold_statement(fund: str, year: int, events: Iterable[object]) -> Statement:
    """Fold a fund's events, in order, into its statement for ``year``."""
    return fold_statements(fund, [year], events)[year]


def fold_statements(
    fund: str, years: Iterable[int], events: Iterable[object]
) -> dict[int, Statement]:
    """Fold a fund's events, in order, into its statement for each of ``years``, in one pass.

    A year's opening balance is the fund's opening plus every movement of an earlier fiscal
    year (balance transfers included); its lines and its transfers are the movements of the
    year itself.
    """
    statements = {year: Statement(fund=fund, year=year) for year in years}
    opening_fen = 0
    signed_by_year: dict[int, int] = {}
    opened = Fund.Opened
    for event in events:
        if isinstance(event, opened):
            opening_fen += event.opening_balance_fen
            continue
        movement = _movement(event)
        if movement is None:
            continue
        event_year, keys, signed_fen, line_fen, is_transfer = movement
        signed_by_year[event_year] = signed_by_year.get(event_year, 0) + signed_fen
        statement = statements.get(event_year)
        if statement is None:
            continue
        if is_transfer:
            statement.opening_balance_transfers_fen += signed_fen
            continue
        lines = statement.lines_fen
        for key in keys:
            lines[key] = lines.get(key, 0) + line_fen
    for year, statement in statements.items():
        statement.opening_balance_fen = opening_fen + sum(
            fen for event_year, fen in signed_by_year.items() if event_year < year
        )
    return statements


def _movement(event: object) -> tuple[int, tuple[str, ...], int, int, bool] | None:
    """(fiscal year, line keys, signed effect on the balance, amount added to each of its
    line keys, is a balance transfer): a posting adds its amount to its line, a reversal
    takes it off; the balance moves up by income and down by expense."""
    cls = type(event)
    kind = _KINDS[cls] if cls in _KINDS else _kind(cls)
    if kind is None:
        return None
    if kind is _REVERSAL:
        line, direction = _line_of(event.line)  # type: ignore[attr-defined]
        sign = -1
    else:
        line, direction = kind
        sign = 1
    moved: Any = event
    line_fen = sign * moved.amount_fen
    return (
        int(moved.value_date[:4]),
        line_keys(line, moved.sub_line, moved.level),
        direction * line_fen,
        line_fen,
        moved.purpose == _LEGACY_MERGE,
    )


_REVERSAL = ("reversal", 0)
_LEGACY_MERGE = Purpose.LEGACY_MERGE.value


_KINDS: dict[type, tuple[str, int] | None] = {}


def _kind(cls: type) -> tuple[str, int] | None:
    """What a fold does with an event of ``cls``: a posting's (line, direction: 1 for
    income, -1 for expense), :data:`_REVERSAL`, or None (it moves no money). Kept per class
    in :data:`_KINDS`: a fold meets a few classes a million times."""
    kind: tuple[str, int] | None = None
    if issubclass(cls, Fund.Posted):
        kind = _line_of(cls.LINE.value)
    elif issubclass(cls, Fund.PostingReversed):
        kind = _REVERSAL
    _KINDS[cls] = kind
    return kind


@functools.cache
def _line_of(value: str) -> tuple[str, int]:
    """A line's key and its direction on the balance (1 for income, -1 for expense)."""
    line = Line(value)
    return line.value, 1 if line in ALL_INCOME else -1


@functools.lru_cache(maxsize=4096)
def line_keys(line: str, sub_line: str | None, level: str | None) -> tuple[str, ...]:
    """The statement keys a movement adds to: its line, and its sub-line and level under it
    (an absent one None or ``''``; kept per combination: a fold meets a few of them a million
    times; a tuple, never changed). The read models' statements add to the same keys."""
    keys = [line]
    if sub_line:
        keys.append(f"{line}.{sub_line}")
    if level:
        keys.append(f"{line}.{level}")
    return tuple(keys)


def statement_for(ledger: Ledger, fund: FundId, year: int) -> Statement:
    """The statement of a registered fund for a year it keeps books for."""
    found = ledger.find_fund(fund)
    if found is None:
        raise FundNotRegistered(f"{fund} is not registered", field="fund")
    if year < found.first_year:
        raise InvalidInput(
            f"{fund} keeps its books from {found.first_year}, not {year}", field="year"
        )
    return fold_statement(str(fund), year, ledger.fund_events(fund))
