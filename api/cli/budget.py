"""Commands on budgets (预算, DOMAIN.md §4): draft, approve, adjust, show, execution.

A budget file is CSV, UTF-8 (with or without BOM), header ``line,amount``: one statement line
id of DOMAIN.md §2 per row and its budget in yuan (``benefit,1950000000.00``). A line left out
is budgeted at zero.
"""

from __future__ import annotations

import csv
import getpass
import io
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from api.bootstrap import App
from api.cli.common import DbOption, Format, FormatOption, open_app, out, problem, settings_for
from api.render import to_json
from domain.budget import BudgetRefused, expense_total_fen, income_total_fen
from domain.budgets import (
    MAX_BUDGET_LINES,
    BudgetOutcome,
    adjust_budget,
    approve_budget,
    draft_budget,
    parse_budget_lines,
)
from domain.errors import DomainError
from domain.funds import FundId
from domain.lines import LINE_NAMES, Line
from domain.money import format_fen, parse_yuan
from projections.budgets import read_budget, read_execution
from projections.policy import load_policy
from projections.queries import read_statement

budget_app = typer.Typer(
    help="Budgets: draft, approve, adjust, show, execution.", no_args_is_help=True
)

LABELS = {
    **{line.value: name for line, name in LINE_NAMES.items()},
    "subtotal": "小计", "total": "合计", "current_surplus": "本年收支结余",
    "opening_balance": "上年结余", "closing_balance": "年末滚存结余",
}  # fmt: skip

FundArg = Annotated[str, typer.Argument(help="scheme:region, e.g. resident:140100")]
YearOption = Annotated[int, typer.Option("--year", help="the fiscal year")]
FileOption = Annotated[Path, typer.Option("--file", help="budget lines: CSV with line,amount")]
OpeningOption = Annotated[
    str | None,
    typer.Option("--opening-balance", help="yuan; default: last year's closing balance"),
]


@budget_app.command("draft")
def draft(
    fund: FundArg,
    year: YearOption,
    file: FileOption,
    opening_balance: OpeningOption = None,
    db: DbOption = None,
) -> None:
    """Draft the year's budget; a draft may be replaced until it is approved."""
    lines = read_lines(file)
    with open_app(settings_for(db)) as fl:
        fund_id = FundId.parse(fund)
        opening = _opening_balance(fl, fund_id, year, opening_balance)
        outcome = draft_budget(
            fl.ledger,
            fund_id,
            year,
            lines,
            opening_balance_fen=opening,
            permitted=permitted_expense_lines(fund_id.province),
        )
    _say(outcome, "drafted", "unchanged: the same as the current draft")


@budget_app.command("approve")
def approve(
    fund: FundArg,
    year: YearOption,
    ref: Annotated[str, typer.Option("--ref", help="the approval reference (批准文号)")],
    by: Annotated[str | None, typer.Option("--by", help="who approved (default: you)")] = None,
    db: DbOption = None,
) -> None:
    """Approve the draft: it becomes the original budget (年初预算)."""
    with open_app(settings_for(db)) as fl:
        outcome = approve_budget(fl.ledger, FundId.parse(fund), year, ref, by or _login())
    _say(outcome, "approved", "unchanged: already approved under this reference")


@budget_app.command("adjust")
def adjust(
    fund: FundArg,
    year: YearOption,
    file: FileOption,
    ref: Annotated[str, typer.Option("--ref", help="the adjustment's own approval reference")],
    by: Annotated[str | None, typer.Option("--by", help="who approved (default: you)")] = None,
    memo: Annotated[str | None, typer.Option("--memo", help="why (调整原因)")] = None,
    opening_balance: OpeningOption = None,
    db: DbOption = None,
) -> None:
    """Record an approved adjustment (预算调整方案); the original stays visible."""
    lines = read_lines(file)
    with open_app(settings_for(db)) as fl:
        fund_id = FundId.parse(fund)
        outcome = adjust_budget(
            fl.ledger,
            fund_id,
            year,
            lines,
            approval_ref=ref,
            principal=by or _login(),
            opening_balance_fen=_opening_balance(fl, fund_id, year, opening_balance),
            permitted=permitted_expense_lines(fund_id.province),
            memo=memo,
        )
    _say(outcome, "adjusted", "unchanged: this adjustment was already recorded")


@budget_app.command("show")
def show(
    fund: FundArg,
    year: YearOption,
    format: FormatOption = Format.table,  # noqa: A002
    db: DbOption = None,
) -> None:
    """The budget: the original as approved and the current one, with every version."""
    with open_app(settings_for(db)) as fl:
        fund_id = FundId.parse(fund)
        fl.read_models.catch_up()
        data = read_budget(fl.read_models.for_province(fund_id.province).db, str(fund_id), year)
        view = data.to_json()
    if format is Format.json:
        sys.stdout.write(to_json(view) + "\n")
        return
    original = view["original"] or {}
    current = view["current"]
    columns = ["original", "current"] if original else ["draft"]
    rows = [["balance", "opening_balance", *_both(original, current, "opening_balance")]]
    for section in ("income", "expense"):
        for key, amount in current[section].items():
            rows.append([section, key, *([original[section][key]] if original else []), amount])
    rows.append(["balance", "current_surplus", *_both(original, current, "current_surplus")])
    rows.append(["balance", "closing_balance", *_both(original, current, "closing_balance")])
    if format is Format.csv:
        _write_csv(["section", "line", *columns], rows)
        return
    _table(f"{view['fund']} · {view['year']} budget · {view['status']}", columns, rows)
    versions = Table(title="versions")
    for column in ("version", "status", "approval ref", "by", "recorded at (UTC)", "memo"):
        versions.add_column(column)
    for v in view["versions"]:
        cells = (v["version"], v["status"], v["approval_ref"], v["principal"], v["recorded_at"])
        versions.add_row(*(str(c or "") for c in (*cells, v["memo"])))
    out.print(versions)


@budget_app.command("execution")
def execution(
    fund: FundArg,
    year: YearOption,
    format: FormatOption = Format.table,  # noqa: A002
    db: DbOption = None,
) -> None:
    """Budget execution (预算执行): actual / budget, line by line."""
    with open_app(settings_for(db)) as fl:
        fund_id = FundId.parse(fund)
        fl.read_models.catch_up()
        data = read_execution(fl.read_models.for_province(fund_id.province).db, str(fund_id), year)
    if format is Format.json:
        sys.stdout.write(to_json(data) + "\n")
        return
    columns = ["original", "budget", "actual", "rate"]
    rows = [[r["section"], r["line"], *(r[c] or "" for c in columns)] for r in data["lines"]]
    if format is Format.csv:
        _write_csv(["section", "line", *columns], rows)
        return
    title = f"{data['fund']} · {data['year']} budget execution · version {data['budget_version']}"
    _table(title, columns, [[*r[:-1], r[-1] or "—"] for r in rows])
    for note in data["notes"]:
        out.print(f"note: {note}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``fundledger`` application."""
    app.add_typer(budget_app, name="budget")


# --------------------------------------------------------------------------- helpers


def read_lines(path: Path) -> dict[Line, int]:
    """The budget lines of a ``line,amount`` CSV file; every problem told, then exit 2."""
    problems: list[str] = []
    pairs: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for number, row in _data_rows(path):
        if len(pairs) + len(problems) >= MAX_BUDGET_LINES:
            problems.append(f"{path}:{number}: file: more than {MAX_BUDGET_LINES} rows")
            break
        if len(row) != 2:
            problems.append(f"{path}:{number}: row: one line id and one amount per row")
            continue
        key = row[0].strip()
        try:
            parse_budget_lines([(key, row[1])])
        except DomainError as error:
            problems.append(f"{path}:{number}: {error.field or 'row'}: {error.message}")
            continue
        if key in seen:
            problems.append(f"{path}:{number}: line: {key} is already given on line {seen[key]}")
            continue
        seen[key] = number
        pairs.append((key, row[1]))
    lines: dict[Line, int] = {}
    if not problems:
        try:
            lines = parse_budget_lines(pairs)
        except DomainError as error:
            problems.append(f"{path}:2: {error.field or 'file'}: {error.message}")
    for text_line in problems:
        problem(text_line)
    if problems:
        problem(f"{path}: {len(problems)} problem(s); nothing was written")
        raise typer.Exit(2)
    return lines


def _data_rows(path: Path) -> list[tuple[int, list[str]]]:
    """The file's non-blank rows under a ``line,amount`` header, by physical line; else exit 2."""
    try:
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        problem(f"{path}:0: file: cannot be read as UTF-8 CSV ({error})")
        raise typer.Exit(2) from None
    header = [c.strip().lower() for c in rows[0]] if rows else []
    if header != ["line", "amount"]:
        problem(f"{path}:1: header: the header row is 'line,amount'")
        raise typer.Exit(2)
    return [(n, row) for n, row in enumerate(rows[1:], start=2) if any(c.strip() for c in row)]


def permitted_expense_lines(province: str) -> frozenset[Line] | None:
    """The expense lines the province's policy lets a budget carry (None: every line)."""
    permitted = load_policy(province).budget.permitted_expense_lines
    return None if permitted is None else frozenset(permitted)


def _opening_balance(fl: App, fund: FundId, year: int, given: str | None) -> int:
    """The given opening balance, or the year's opening balance from the read model.

    That is the previous year's closing balance (restated), plus any legacy fund's balance
    already merged in this year (booked against the opening balance, DOMAIN.md §2).
    """
    if given is not None:
        return parse_yuan(given, field="opening_balance")
    fl.read_models.catch_up()
    db = fl.read_models.for_province(fund.province).db
    statement = read_statement(db, str(fund), year)
    return statement.opening_balance_fen + statement.opening_balance_transfers_fen


def _login() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        raise BudgetRefused("say who approved with --by", field="by") from None


def _say(outcome: BudgetOutcome, done: str, unchanged: str) -> None:
    b = outcome.budget
    if not outcome.changed:
        out.print(f"{b.fund} {b.year} budget {unchanged} (version {b.revision}, {b.status})")
        return
    surplus = income_total_fen(b.lines) - expense_total_fen(b.lines)
    out.print(
        f"{b.fund} {b.year} budget {done}: version {b.revision}, {b.status}; "
        f"opening balance {format_fen(b.opening_balance_fen)}, "
        f"current surplus {format_fen(surplus)}, "
        f"closing balance {format_fen(b.opening_balance_fen + surplus)}"
    )


def _both(original: dict[str, Any], current: dict[str, Any], key: str) -> list[str]:
    return [original[key], current[key]] if original else [current[key]]


def _write_csv(header: list[str], rows: list[list[Any]]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    table = Table(title=title)
    table.add_column("line")
    table.add_column("")
    for column in columns:
        table.add_column(column, justify="right")
    for section, key, *values in rows:
        closing = key in ("subtotal", "total", "current_surplus", "closing_balance")
        label = f"{section} {key}" if key in ("subtotal", "total") else key
        table.add_row(
            label, LABELS.get(key, ""), *(str(v) for v in values), style="bold" if closing else None
        )
    out.print(table)
