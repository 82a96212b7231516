"""The clearing house's figures for a terminal: tables a provincial officer reads.

Amounts are yuan with thousands separators and are never cut: a table wider than the terminal
is printed as several tables, each repeating the row's key column, rather than shortening a
figure to ``…`` (docs/clearing.md §1). Files and JSON keep plain yuan (``1200.00``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from api.cli.common import Output

from clearing.report import MONEY_FIELDS, SettlementView, main_rule
from domain.errors import InvalidInput
from domain.money import format_fen, parse_yuan
from domain.money import format_fen_grouped as thousands

MONEY = re.compile(r"-?[0-9]+\.[0-9]{2}")
TEXT_COLUMNS = frozenset({"rule", "main rule", "reason", "reference", "memo"})
"""Columns of words: they fold onto further lines instead of widening the table."""
TEXT_MIN_WIDTH = 24
HEADINGS = {
    "income": "income 收入", "expense": "expense 支出", "levy": "levy 计提", "gap": "gap 缺口",
    "own_fault": "own fault 自身原因", "draw": "draw 调剂金",
    "borne_by_balance": "balance 累计结余", "residual_to_government": "government 政府",
}  # fmt: skip
INPUT_PARTS = ("income", "expense", "levy", "gap")
ALLOCATION_PARTS = ("gap", "own_fault", "draw", "borne_by_balance", "residual_to_government")
"""The allocation's columns: the gap and the four parts that add up to it."""


def grouped(cell: str) -> str:
    """A yuan amount with thousands separators; any other text as it is."""
    if not MONEY.fullmatch(cell):
        return cell
    try:
        return thousands(parse_yuan(cell))
    except InvalidInput:  # beyond what money may be: shown as it stands
        return cell


def print_rows(
    console: Console,
    title: str,
    rows: Sequence[dict[str, str]],
    *,
    styles: Sequence[str | None] = (),
) -> None:
    """Rows of text (one dict per row, the keys as the header) as one or more tables.

    The first column is the key; it is repeated in every part when the table must be split
    to fit the console. Amounts are grouped by thousands and right-aligned.
    """
    if not rows:
        console.print(f"{title}: nothing to show")
        return
    header = list(rows[0])
    cells = [[grouped(row.get(key, "")) for key in header] for row in rows]
    for part, columns in enumerate(_parts(console.width, header, cells)):
        table = Table(title=title if part == 0 else f"{title} (continued)", box=box.SIMPLE_HEAD)
        for index in columns:
            name = header[index]
            text = name in TEXT_COLUMNS
            table.add_column(
                name,
                justify="left" if text or index == 0 else "right",
                no_wrap=not text,
                overflow="fold",
                min_width=TEXT_MIN_WIDTH if text else None,
            )
        for number, row in enumerate(cells):
            style = styles[number] if number < len(styles) else None
            table.add_row(*(row[i] for i in columns), style=style)
        console.print(table)


def _parts(width: int, header: list[str], cells: list[list[str]]) -> list[list[int]]:
    """Column indexes per table, each starting with the key column, each within ``width``."""
    needed = [
        TEXT_MIN_WIDTH
        if header[i] in TEXT_COLUMNS
        else max(cell_len(header[i]), *(cell_len(r[i]) for r in cells))
        for i in range(len(header))
    ]
    padding = 2  # SIMPLE_HEAD: one space either side, no vertical rules
    budget = width - needed[0] - padding - 2
    parts: list[list[int]] = [[0]]
    used = 0
    for index in range(1, len(header)):
        cost = needed[index] + padding
        if used + cost > budget and len(parts[-1]) > 1:
            parts.append([0])
            used = 0
        parts[-1].append(index)
        used += cost
    return parts


def settlement_rows(view: SettlementView, parts: Sequence[str]) -> list[dict[str, str]]:
    """Per pool (and per county at fault, beneath it) the given figures and the main rule."""
    data = view.to_json()
    rows: list[dict[str, str]] = []
    for pool, figures in zip(data["pools"], view.result["pools"], strict=True):
        rows.append(
            {
                "pool": pool["fund"],
                **{HEADINGS[p]: pool[p] for p in parts},
                "rule": rule_label(figures),
            }
        )
        for county in pool["counties"]:
            row = {"pool": f"  county {county['county']}", **{HEADINGS[p]: "" for p in parts}}
            if "own_fault" in parts:
                row[HEADINGS["own_fault"]] = county["own_fault"]
            owes = county.get("owed", county["own_fault"])
            reason = (
                county["reason"]
                if owes == county["own_fault"]
                else (f"owes {owes} in full: {county['reason']}")
            )
            rows.append({**row, "rule": reason})
    return rows


def print_settlement(view: SettlementView, console: Console, note: str = "") -> None:
    """A recorded settlement: the inputs per pool, then who bears each gap and why."""
    data = view.to_json()
    policy = data["policy"]
    head = (
        f"{data['province']} {data['year']} · {data['status']} · "
        f"{policy['name']} {policy['version']}"
    )
    inputs = [
        {k: v for k, v in r.items() if k != "rule"} for r in settlement_rows(view, INPUT_PARTS)
    ]
    inputs = [r for r in inputs if not r["pool"].startswith("  ")]
    print_rows(console, f"settlement {head} · inputs · yuan", inputs)
    print_allocation(view, console, note, title=f"gap allocation {head} · yuan")


def print_allocation(
    view: SettlementView, console: Console, note: str = "", *, title: str = ""
) -> None:
    """The allocation as a provincial officer reads it: per pool, who bears its gap and why.

    One row per pool: the gap and its four parts (they add up to the gap, to the fen), and the
    rule that decided them; a total row; then the adjustment fund before and after the draws.
    """
    data = view.to_json()
    policy = data["policy"]
    pools = view.result["pools"]
    rows = settlement_rows(view, ALLOCATION_PARTS)
    styles: list[str | None] = [
        "dim" if r["pool"].startswith("  ") or r[HEADINGS["gap"]] in ("0.00", "") else None
        for r in rows
    ]
    total = {"pool": "total"}
    for part in ALLOCATION_PARTS:
        total[HEADINGS[part]] = format_fen(sum(p[f"{part}_fen"] for p in pools))
    total["rule"] = f"{sum(1 for p in pools if p['gap_fen'])} pool(s) with a gap"
    heading = title or (
        f"gap allocation {data['province']} {data['year']} · {policy['name']} "
        f"{policy['version']} · yuan"
    )
    print_rows(console, heading, [*rows, total], styles=[*styles, "bold"])
    console.print(adjustment_line(view), soft_wrap=True)
    console.print(f"inputs {data['inputs_hash']}", soft_wrap=True)
    if note:
        console.print(note, soft_wrap=True)


def adjustment_line(view: SettlementView) -> str:
    """The adjustment fund before and after the draws (withheld figures are not printed)."""
    fund = view.result["adjustment_fund"]
    if fund["balance_fen"] is None:
        return f"{fund['fund']}: scale {fund['scale']}"
    left = fund["balance_fen"] - fund["draws_total_fen"]
    full = fund["scale"] == "1.000000"
    return (
        f"{fund['fund']}: balance {thousands(fund['balance_fen'])}, draws "
        f"{thousands(fund['draws_total_fen'])}, left {thousands(left)}, scale {fund['scale']} "
        + ("(every draw paid in full)" if full else _scaled_note(view.result))
    )


def _scaled_note(result: dict[str, Any]) -> str:
    """How the draws were cut: the requests before scaling and who took the remaining fen."""
    fund = result["adjustment_fund"]
    requested = fund.get("requested_total_fen")
    if requested is None:
        return "(draws cut pro rata: 以收定支)"
    takers = [p["fund"] for p in result["pools"] if p.get("remaining_fen_taken")]
    return (
        f"(draws cut pro rata: 以收定支; requested {thousands(requested)}, each draw = request "
        "× balance ÷ requested, rounded down; remaining fen to "
        + (", ".join(takers) if takers else "none")
        + ")"
    )


def rule_label(pool: dict[str, Any]) -> str:
    """A short name for the rule that decided the pool's figures, with its seed."""
    rule = main_rule(pool)
    grade = re.match(r"proportional: grade (\S+?),?\s", rule)
    if grade:
        return f"bands × grade {grade.group(1)} (Shanxi 2024)"
    labels = (
        ("no gap", "no gap"),
        ("own fault", "counties' own fault (Nantong 2019)"),
        ("no draw", "no draw: levy unpaid (Guangyuan)"),
        ("legacy", "original government (Jilin 2016)"),
        ("no adjustment fund", "own balance, then government (Nantong 2019)"),
        ("capped", "capped at overspend share (Guangyuan)"),
        ("draw scaled", "pro rata: fund short (以收定支)"),
        ("sequential", "own balance first (Art. 38)"),
    )
    return next((label for prefix, label in labels if rule.startswith(prefix)), rule)


assert set(ALLOCATION_PARTS) | set(INPUT_PARTS) == set(MONEY_FIELDS)


def rows_output(title: str, rows: list[dict[str, str]], what: str) -> Output:
    """Rows of a clearing document in every form a read command shows them."""
    from api.cli.common import Output
    from api.exports.csv import rows_csv

    return Output(
        data=rows,
        table=lambda console: print_rows(console, title, rows),
        csv=lambda: rows_csv(rows),
        what=what,
    )


def settlement_output(view: SettlementView, note: str) -> Output:
    """A settlement as a table, or its JSON, CSV or XLSX file (the same bytes every time)."""
    from api.cli.common import Output
    from api.exports.settlement import report_csv, report_xlsx

    def xlsx(path: Path) -> None:
        try:
            path.write_bytes(report_xlsx(view))
        except OSError as error:
            raise InvalidInput(f"cannot write {path}: {error.strerror}", field="output") from None

    return Output(
        data=view.to_json(),
        table=lambda console: print_settlement(view, console, note),
        csv=lambda: report_csv(view).decode("utf-8"),
        what=f"settlement {view.province} {view.year} ({view.status})",
        xlsx=xlsx,
    )
