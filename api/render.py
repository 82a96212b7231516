"""Rendering read models for the terminal: rich tables (and JSON text).

Amounts are shown in yuan with thousands separators and never cut: every column of figures
is as wide as its widest figure and never wraps, and a table wider than the terminal is
printed at its own width (the terminal wraps the line) rather than cropped with ``…``.
The CSV and workbook renderings are in :mod:`api.exports`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from domain.errors import InvalidInput
from domain.money import format_fen_grouped, parse_yuan

LEVEL_COLOURS = {"red": "red", "orange": "dark_orange", "yellow": "yellow", "blue": "blue"}
NONE = "—"


def to_json(data: Any) -> str:
    """Stable, readable JSON (UTF-8, keys in the order the model gives them)."""
    return json.dumps(data, ensure_ascii=False, indent=2)


def yuan(text: str | None) -> str:
    """A yuan string with thousands separators (``1234567.89`` → ``1,234,567.89``)."""
    if text is None:
        return NONE
    try:
        return format_fen_grouped(parse_yuan(text))
    except InvalidInput:
        return text


def level_mark(level: str) -> str:
    """A warning level in its colour."""
    colour = LEVEL_COLOURS.get(level)
    return f"[{colour}]{level}[/]" if colour else level


@dataclass(frozen=True)
class Column:
    """A column of a table: ``wrap`` for prose (messages), else it never wraps or crops."""

    head: str
    right: bool = False
    wrap: bool = False


@dataclass(frozen=True)
class Row:
    """A row of cells (rich markup allowed), its style, and whether a section ends after it."""

    cells: Sequence[str]
    style: str | None = None
    section: bool = False


def table(
    title: str, columns: Sequence[Column], rows: Sequence[Row], caption: str | None = None
) -> Table:
    """A table whose figures are never cut: each unwrapped column is as wide as its widest
    cell (and its heading's longest line), so rich cannot shrink it."""
    built = Table(
        title=title,
        caption=caption,
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
        show_edge=False,
    )
    for index, column in enumerate(columns):
        widest = max(
            [
                *(Text.from_markup(r.cells[index]).cell_len for r in rows),
                *(Text(line).cell_len for line in column.head.split("\n")),
            ]
        )
        built.add_column(
            column.head,
            justify="right" if column.right else "left",
            no_wrap=not column.wrap,
            overflow="fold",
            min_width=None if column.wrap else widest,
        )
    for row in rows:
        built.add_row(*row.cells, style=row.style, end_section=row.section)
    return built


def show(console: Console, rendered: Table) -> None:
    """Print a table at the terminal's width, or wider when its figures need it."""
    wide = console.options.update(max_width=10_000)
    needed = Measurement.get(console, wide, rendered).minimum
    console.print(rendered, width=max(console.width, needed), crop=False)


def statement_table(statement: dict[str, Any], console: Console) -> None:
    """The statement as a finance officer reads it: lines, subtotals, balances, ratios."""
    rows = [Row(["opening balance", yuan(statement["opening_balance"])])]
    if statement.get("opening_balance_transfers", "0.00") != "0.00":
        rows.append(Row(["  balances merged in", yuan(statement["opening_balance_transfers"])]))
    rows[-1] = Row(rows[-1].cells, section=True)
    for side in ("income", "expense"):
        for key, value in statement[side].items():
            label = f"{side} {key}" if "." not in key else f"    {key}"
            bold = "bold" if key in ("subtotal", "total") else None
            rows.append(Row([label, yuan(value)], style=bold, section=key == "total"))
    rows.append(Row(["current surplus", yuan(statement["current_surplus"])], style="bold"))
    rows.append(Row(["closing balance", yuan(statement["closing_balance"])], style="bold"))
    for key, value in statement["ratios"].items():
        rows.append(Row([key.replace("_", " "), NONE if value is None else value]))
    closed = statement.get("closed_at")
    title = f"{statement['fund']} · {statement['year']} · {statement['view']}"
    caption = f"closed (final accounts approved) at {closed}" if closed else None
    columns = [Column("line"), Column("amount (yuan)", right=True)]
    show(console, table(title, columns, rows, caption))
    for note in statement.get("notes", []):
        console.print(f"note: {note}")
    for warning in statement.get("warnings", []):
        console.print(f"warning {level_mark(warning['level'])}: {warning['message']}")
    if not statement.get("warnings"):
        console.print("warnings: none")


def events_table(page: dict[str, Any], console: Console) -> None:
    """A fund's history, one row per event, with the short hashes of its chain."""
    heads = ("v", "recorded at", "recorded by", "event", "value date", "reference", "amount")
    columns = [
        *(Column(h, right=h in ("v", "amount")) for h in heads),
        Column("prev"),
        Column("hash"),
        Column("chain"),
    ]
    rows = []
    for event in page["events"]:
        payload = event["payload"]
        amount = payload.get("amount", payload.get("opening_balance"))
        rows.append(
            Row(
                [
                    str(event["version"]),
                    (event["recorded_at"] or "")[:19].replace("T", " "),
                    event["recorded_by"] or "",
                    event["topic"].rpartition(".")[2],
                    payload.get("value_date") or "",
                    payload.get("reference") or "",
                    "" if amount is None else yuan(amount),
                    (event["prev_hash"] or "")[:10],
                    (event["chain_hash"] or "")[:10],
                    "ok" if event["chain_ok"] else "[red]BROKEN[/]",
                ]
            )
        )
    show(console, table(f"{page['fund']}: {page['chain']['events']} events", columns, rows))


def ratios_table(rows: Sequence[dict[str, Any]], title: str, console: Console) -> None:
    """One row per fund; the reasons for each warning are listed under the table."""
    columns = [
        Column("fund"),
        *(Column(h, right=True) for h in ("income", "expense", "closing")),
        *(
            Column(h, right=True)
            for h in ("surplus\nrate", "balance\nrate", "months", "12m\nmonths")
        ),
        Column("level"),
    ]
    shown = [
        Row(
            [
                row["fund"],
                yuan(row["income_subtotal"]),
                yuan(row["expense_subtotal"]),
                yuan(row["closing_balance"]),
                *(
                    NONE if row[k] is None else str(row[k])
                    for k in (
                        "current_surplus_rate",
                        "accumulated_balance_rate",
                        "months_of_coverage",
                        "trailing_months_of_coverage",
                    )
                ),
                level_mark(row["warning_level"]),
            ]
        )
        for row in rows
    ]
    show(console, table(f"{title}: {len(rows)} funds (yuan)", columns, shown))
    for row in rows:
        for warning in row["warnings"]:
            console.print(f"{row['fund']} {level_mark(warning['level'])}: {warning['message']}")


def subsidies_table(lines: Sequence[dict[str, Any]], year: int, console: Console) -> None:
    """Per fund and level: due, received, outstanding (the flat lines of the CSV export)."""
    money = ("standard_per_person", "due", "received", "outstanding", "earmarked_received")
    heads = ("fund", "enrolled", "standard_per_person", "level", "share", *money[1:])
    columns = [
        Column(h.replace("_", " ").replace(" per ", "\nper "), right=h not in ("fund", "level"))
        for h in heads
    ]
    rows = [
        Row(
            [_cell(h, line[h], money) for h in heads],
            style="bold" if line["level"] == "total" else None,
            section=line["level"] == "total",
        )
        for line in lines
    ]
    show(console, table(f"subsidies {year}: due, received, outstanding (yuan)", columns, rows))


def _cell(key: str, value: Any, money: Sequence[str]) -> str:
    """A subsidies cell: yuan and counts with thousands separators, the rest as it is."""
    if key in money:
        return yuan(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return NONE if value is None else str(value)


def rows_table(title: str, rows: Sequence[dict[str, Any]], console: Console) -> None:
    """Plain rows (e.g. projections status): numbers right-aligned."""
    if not rows:
        console.print(f"{title}: none")
        return
    keys = list(rows[0])
    columns = [Column(k, right=isinstance(rows[0][k], int)) for k in keys]
    shown = [Row([NONE if r[k] is None else str(r[k]) for k in keys]) for r in rows]
    show(console, table(title, columns, shown))
