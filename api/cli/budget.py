"""Commands on budgets (预算, docs/projections.md §4): draft, approve, adjust, show,
execution.

A budget file is CSV, UTF-8 (with or without BOM), header ``line,amount``: one statement line
id per row and its budget in yuan (``benefit,1950000000.00``). A line left out is budgeted at
zero. Each command parses its arguments, calls one use case (:mod:`api.usecases.budgets`) and
renders the answer; who acts is ``--by``, else ``FUNDLEDGER_PRINCIPAL``, else
``cli:<operating-system user>``, as for every command.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli.common import (
    DbOption,
    Format,
    FormatOption,
    FundArgument,
    Output,
    OutputOption,
    YearOption,
    emit,
    open_app,
    out,
    settings_for,
)
from api.cli.principal import ByOption, cli_principal

if TYPE_CHECKING:
    from rich.console import Console

    from api.usecases.budgets import BudgetWritten
    from domain.lines import Line

budget_app = typer.Typer(
    help="Budgets: draft, approve, adjust, show, execution.", no_args_is_help=True
)


FundArg = FundArgument
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
    by: ByOption = None,
    db: DbOption = None,
) -> None:
    """Draft the year's budget; a draft may be replaced until it is approved."""
    from api.usecases import budgets
    from domain.funds import FundId

    with open_app(settings_for(db)) as fl:
        lines = read_lines(file)
        written = budgets.draft(
            fl,
            cli_principal(by),
            FundId.parse(fund),
            year,
            lines,
            opening_balance_fen=_yuan(opening_balance),
        )
    _say(written, "drafted", "unchanged: the same as the current draft")


@budget_app.command("approve")
def approve(
    fund: FundArg,
    year: YearOption,
    ref: Annotated[str, typer.Option("--ref", help="the approval reference (批准文号)")],
    by: ByOption = None,
    db: DbOption = None,
) -> None:
    """Approve the draft: it becomes the original budget (年初预算); not by its drafter."""
    from api.usecases import budgets
    from domain.funds import FundId

    with open_app(settings_for(db)) as fl:
        written = budgets.approve(fl, cli_principal(by), FundId.parse(fund), year, ref)
    _say(written, "approved", "unchanged: already approved under this reference")


@budget_app.command("adjust")
def adjust(
    fund: FundArg,
    year: YearOption,
    file: FileOption,
    ref: Annotated[str, typer.Option("--ref", help="the adjustment's own approval reference")],
    by: ByOption = None,
    memo: Annotated[str | None, typer.Option("--memo", help="why (调整原因)")] = None,
    opening_balance: OpeningOption = None,
    db: DbOption = None,
) -> None:
    """Record an approved adjustment (预算调整方案); the original stays visible."""
    from api.usecases import budgets
    from domain.funds import FundId

    with open_app(settings_for(db)) as fl:
        lines = read_lines(file)
        written = budgets.adjust(
            fl,
            cli_principal(by),
            FundId.parse(fund),
            year,
            lines,
            ref=ref,
            memo=memo,
            opening_balance_fen=_yuan(opening_balance),
        )
    _say(written, "adjusted", "unchanged: this adjustment was already recorded")


@budget_app.command("show")
def show(
    fund: FundArg,
    year: YearOption,
    format: FormatOption = Format.table,  # noqa: A002
    output: OutputOption = None,
    db: DbOption = None,
) -> None:
    """The budget: the original as approved and the current one, with every version."""
    from api.exports.csv import rows_csv
    from api.usecases import budgets
    from domain.funds import FundId

    with open_app(settings_for(db)) as fl:
        view = budgets.show(fl, cli_principal(None), FundId.parse(fund), year)
        columns, rows = budget_rows(view)
        named = [dict(zip(["section", "line", *columns], r, strict=True)) for r in rows]
        shown = Output(
            data=view,
            table=lambda console: _show_table(console, view, columns, rows),
            csv=lambda: rows_csv(named),
            what=f"budget {fund} {year}",
        )
        emit(shown, format, output)


@budget_app.command("execution")
def execution(
    fund: FundArg,
    year: YearOption,
    format: FormatOption = Format.table,  # noqa: A002
    output: OutputOption = None,
    db: DbOption = None,
) -> None:
    """Budget execution (预算执行): actual / budget, line by line."""
    from api.exports.csv import rows_csv
    from api.usecases import budgets
    from domain.funds import FundId

    columns = ["original", "budget", "actual", "rate"]

    def table(console: Console) -> None:
        title = (
            f"{data['fund']} · {data['year']} budget execution · version {data['budget_version']}"
        )
        _table(console, title, columns, [[*r[:-1], r[-1] or "—"] for r in rows])
        for note in data["notes"]:
            console.print(f"note: {note}")

    with open_app(settings_for(db)) as fl:
        data = budgets.execution(fl, cli_principal(None), FundId.parse(fund), year)
        rows = [[r["section"], r["line"], *(r[c] or "" for c in columns)] for r in data["lines"]]
        named = [dict(zip(["section", "line", *columns], r, strict=True)) for r in rows]
        shown = Output(data=data, table=table, csv=lambda: rows_csv(named), what="execution")
        emit(shown, format, output)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``fundledger`` application."""
    app.add_typer(budget_app, name="budget")


# --------------------------------------------------------------------------- helpers


def read_lines(path: Path) -> dict[Line, int]:
    """The budget lines of a ``line,amount`` CSV file; every problem is told (exit 2)."""
    from api.budget_csv import read_budget_csv
    from domain.errors import InvalidInput

    try:
        data = path.read_bytes()
    except OSError as error:
        raise InvalidInput(f"{path}:0: file: {error.strerror}", field="file") from None
    return read_budget_csv(data, str(path))


def budget_rows(view: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The budget as rows ``[section, line, (original,) current]`` in the statement layout."""
    original = view["original"] or {}
    current = view["current"]
    columns = ["original", "current"] if original else ["draft"]
    rows = [["balance", "opening_balance", *_both(original, current, "opening_balance")]]
    for section in ("income", "expense"):
        for key, amount in current[section].items():
            rows.append([section, key, *([original[section][key]] if original else []), amount])
    rows.append(["balance", "current_surplus", *_both(original, current, "current_surplus")])
    rows.append(["balance", "closing_balance", *_both(original, current, "closing_balance")])
    return columns, rows


def _show_table(
    console: Console, view: dict[str, Any], columns: list[str], rows: list[list[str]]
) -> None:
    from rich.table import Table

    _table(console, f"{view['fund']} · {view['year']} budget · {view['status']}", columns, rows)
    versions = Table(title="versions")
    for column in ("version", "status", "approval ref", "by", "recorded at (UTC)", "memo"):
        versions.add_column(column)
    for v in view["versions"]:
        cells = (v["version"], v["status"], v["approval_ref"], v["principal"], v["recorded_at"])
        versions.add_row(*(str(c or "") for c in (*cells, v["memo"])))
    console.print(versions)


def _yuan(text: str | None) -> int | None:
    from domain.money import parse_yuan

    return None if text is None else parse_yuan(text, field="opening_balance")


def _say(written: BudgetWritten, done: str, unchanged: str) -> None:
    w = written
    if not w.changed:
        out.print(f"{w.fund} {w.year} budget {unchanged} (version {w.version}, {w.status})")
        return
    out.print(
        f"{w.fund} {w.year} budget {done}: version {w.version}, {w.status}; "
        f"opening balance {w.opening_balance}, current surplus {w.current_surplus}, "
        f"closing balance {w.closing_balance}"
    )


def _both(original: dict[str, Any], current: dict[str, Any], key: str) -> list[str]:
    return [original[key], current[key]] if original else [current[key]]


def _table(console: Console, title: str, columns: list[str], rows: list[list[str]]) -> None:
    """Lines with their amounts (yuan, thousands grouped, never cut), totals in bold."""
    from rich.table import Table

    from api.cli.clearing_tables import grouped
    from domain.lines import LINE_NAMES

    labels = {
        **{line.value: name for line, name in LINE_NAMES.items()},
        "subtotal": "小计", "total": "合计", "current_surplus": "本年收支结余",
        "opening_balance": "上年结余", "closing_balance": "年末滚存结余",
    }  # fmt: skip
    table = Table(title=title)
    table.add_column("line", no_wrap=True)
    table.add_column("", no_wrap=True)
    for column in columns:
        table.add_column(column, justify="right", no_wrap=True)
    for section, key, *values in rows:
        closing = key in ("subtotal", "total", "current_surplus", "closing_balance")
        label = f"{section} {key}" if key in ("subtotal", "total") else key
        table.add_row(
            label,
            labels.get(key, ""),
            *(grouped(str(v)) for v in values),
            style="bold" if closing else None,
        )
    console.print(table)
