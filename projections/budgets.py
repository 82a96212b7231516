"""The budgets read model (docs/domain.md §4): every version of a budget, and its execution.

One row per line of every version a budget went through (drafts, the approved original,
each adjustment), so the original stays visible next to the current budget. Execution
(预算执行) puts the statement read model's actual figures next to the current budget, line by
line, as ``actual / budget`` rounded half-up to 6 decimals (``None`` for a zero budget).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from domain.budget import Budget, BudgetNotFound
from domain.lines import EXPENSE_LINES, INCOME_LINES, INTER_LEVEL_EXPENSE, INTER_LEVEL_INCOME
from domain.money import format_fen
from projections.db import ProjectionDB
from projections.decode import StoredNotification, utc_text
from projections.extras import Insert
from projections.queries import read_statement
from projections.ratios import RATE_PLACES

TABLE = "fl_budget_lines"
COLUMNS = (
    "province", "fund", "year", "version", "status", "adjustment", "line", "amount_fen",
    "opening_balance_fen", "approval_ref", "principal", "memo", "recorded_at", "notification_id",
)  # fmt: skip
STATUS_OF_TOPIC = {
    Budget.Drafted.TOPIC: "draft",
    Budget.Approved.TOPIC: "approved",
    Budget.Adjusted.TOPIC: "adjusted",
}
SECTIONS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("income", tuple(x.value for x in INCOME_LINES), "subtotal"),
    ("income", tuple(x.value for x in INTER_LEVEL_INCOME), "total"),
    ("expense", tuple(x.value for x in EXPENSE_LINES), "subtotal"),
    ("expense", tuple(x.value for x in INTER_LEVEL_EXPENSE), "total"),
)
"""The statement layout of docs/domain.md §2: lines, then the (sub)total they close."""


class BudgetProjection:
    """Budget lines by fund, year and version, fed by the budget events."""

    tables: Mapping[str, str] = {
        TABLE: (
            "province TEXT NOT NULL, fund TEXT NOT NULL, year INTEGER NOT NULL, "
            "version INTEGER NOT NULL, status TEXT NOT NULL, adjustment INTEGER NOT NULL, "
            "line TEXT NOT NULL, amount_fen BIGINT NOT NULL CHECK (amount_fen >= 0), "
            "opening_balance_fen BIGINT NOT NULL, approval_ref TEXT, principal TEXT, memo TEXT, "
            "recorded_at TEXT NOT NULL, notification_id BIGINT NOT NULL, "
            "PRIMARY KEY (fund, year, version, line)"
        )
    }
    indexes: Sequence[str] = ()
    topics: frozenset[str] = frozenset(STATUS_OF_TOPIC)

    def rows(
        self, province: str, n: StoredNotification, state: dict[str, Any], funds: Mapping[str, str]
    ) -> list[Insert]:
        """One row per line of the version the event recorded."""
        del funds
        status = STATUS_OF_TOPIC[n.topic]
        head = (province, state["fund"], state["year"], state["revision"], status)
        tail = (
            state["opening_balance_fen"],
            state.get("approval_ref"),
            state.get("principal"),
            state.get("memo"),
            utc_text(state["timestamp"]["_data_"]),
            n.notification_id,
        )
        adjustment = state.get("adjustment", 0)
        return [
            (TABLE, COLUMNS, (*head, adjustment, line, amount, *tail))
            for line, amount in state["lines"].items()
        ]


PROJECTION = BudgetProjection()


# --------------------------------------------------------------------------- queries


@dataclass(frozen=True)
class BudgetVersion:
    """One version of a budget: its lines and what made it."""

    version: int
    status: str
    adjustment: int
    lines_fen: dict[str, int]
    opening_balance_fen: int
    approval_ref: str | None
    principal: str | None
    memo: str | None
    recorded_at: str

    def figures(self) -> dict[str, dict[str, int]]:
        """Income and expense lines with subtotals and totals, as in the statement layout."""
        return _layout(self.lines_fen)

    def to_json(self) -> dict[str, Any]:
        figures = self.figures()
        return {
            **self.header(),
            "opening_balance": format_fen(self.opening_balance_fen),
            "income": {k: format_fen(v) for k, v in figures["income"].items()},
            "expense": {k: format_fen(v) for k, v in figures["expense"].items()},
            "current_surplus": format_fen(figures["balance"]["current_surplus"]),
            "closing_balance": format_fen(
                self.opening_balance_fen + figures["balance"]["current_surplus"]
            ),
        }

    def header(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "status": self.status,
            "adjustment": self.adjustment,
            "approval_ref": self.approval_ref,
            "principal": self.principal,
            "memo": self.memo,
            "recorded_at": self.recorded_at,
        }


@dataclass(frozen=True)
class BudgetView:
    """Every version of a fund's budget for a year, oldest first."""

    fund: str
    year: int
    versions: tuple[BudgetVersion, ...]

    @property
    def original(self) -> BudgetVersion | None:
        """The approved original budget (年初预算), or None while it is a draft."""
        return next((v for v in self.versions if v.status == "approved"), None)

    @property
    def current(self) -> BudgetVersion:
        """The budget in force: the latest adjustment, else the original, else the draft."""
        return self.versions[-1]

    def to_json(self) -> dict[str, Any]:
        original = self.original
        return {
            "fund": self.fund,
            "year": self.year,
            "status": self.current.status,
            "original": None if original is None else original.to_json(),
            "current": self.current.to_json(),
            "versions": [v.header() for v in self.versions],
        }


def read_budget(db: ProjectionDB, fund: str, year: int) -> BudgetView:
    """Every recorded version of the fund's budget for the year."""
    rows = db.query(
        "SELECT version, status, adjustment, line, amount_fen, opening_balance_fen, "
        "approval_ref, principal, memo, recorded_at FROM fl_budget_lines "
        "WHERE fund = %s AND year = %s ORDER BY version",
        (fund, year),
    )
    if not rows:
        raise BudgetNotFound(f"{fund} has no budget for {year}", field="year")
    versions: dict[int, BudgetVersion] = {}
    for version, status, adjustment, line, amount, opening, ref, principal, memo, at in rows:
        found = versions.get(int(version))
        if found is None:
            found = BudgetVersion(
                int(version), str(status), int(adjustment), {}, int(opening), ref, principal,
                memo, str(at),
            )  # fmt: skip
            versions[int(version)] = found
        found.lines_fen[str(line)] = int(amount)
    return BudgetView(fund, year, tuple(versions[v] for v in sorted(versions)))


def execution_rate(actual_fen: int, budget_fen: int) -> str | None:
    """预算执行率 = actual / budget, half-up to 6 decimals; None for a zero budget."""
    if budget_fen == 0:
        return None
    with localcontext() as ctx:
        ctx.prec = 50
        value = (Decimal(actual_fen) / Decimal(budget_fen)).quantize(RATE_PLACES, ROUND_HALF_UP)
    return str(value)


def read_execution(
    db: ProjectionDB, fund: str, year: int, *, today: date | None = None
) -> dict[str, Any]:
    """Budget execution: actual against the current approved budget, line by line.

    The actual figures are the statement read model's (restated view, cash basis). Until
    the year is over they are year to date; once over but not closed they may still move
    (late postings) until the final accounts are approved: the notes say which. The current
    surplus is shown without a rate: a ratio of two balances is no execution rate.
    """
    view = read_budget(db, fund, year)
    original = view.original
    if original is None:
        raise BudgetNotFound(
            f"{fund} {year} has only a draft budget: execution is measured against an "
            "approved budget",
            field="year",
        )
    current = view.current
    statement = read_statement(db, fund, year)
    actual = _layout({k: statement.line(k) for k in current.lines_fen})
    budget, first = current.figures(), original.figures()
    rows = [
        {
            "section": section,
            "line": key,
            "original": format_fen(first[section][key]),
            "budget": format_fen(amount),
            "actual": format_fen(actual[section][key]),
            "rate": None if section == "balance" else execution_rate(actual[section][key], amount),
        }
        for section in ("income", "expense", "balance")
        for key, amount in budget[section].items()
    ]
    notes = []
    if statement.closed_at is None:
        if year >= (today or date.today()).year:
            notes.append(f"{year} is not over: the actual figures are the year to date")
        else:
            notes.append(
                f"{year} is over but not closed: the actual figures may still change until "
                "its final accounts are approved"
            )
    return {
        "fund": fund,
        "year": year,
        "budget_version": current.version,
        "budget_status": current.status,
        "approval_ref": current.approval_ref,
        "closed_at": statement.closed_at,
        "lines": rows,
        "notes": notes,
    }


def _layout(lines_fen: Mapping[str, int]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {"income": {}, "expense": {}, "balance": {}}
    running = {"income": 0, "expense": 0}
    for section, keys, closing in SECTIONS:
        for key in keys:
            out[section][key] = lines_fen.get(key, 0)
            running[section] += lines_fen.get(key, 0)
        out[section][closing] = running[section]
    out["balance"]["current_surplus"] = out["income"]["total"] - out["expense"]["total"]
    return out
