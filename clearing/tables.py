"""The clearing house's figures for a terminal: rich tables a provincial officer reads, and CSV."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from rich.console import Console
from rich.table import Table

from clearing.levy import LevyPlan
from clearing.report import MONEY_FIELDS, SettlementView, main_rule
from clearing.settlement import WhatIf
from domain.money import format_fen
from domain.money import format_fen_grouped as thousands

HEADINGS = {
    "income": "income", "expense": "expense", "levy": "levy", "gap": "gap",
    "own_fault": "own fault", "draw": "draw", "borne_by_balance": "borne by balance",
    "residual_to_government": "residual",
}  # fmt: skip


def print_settlement(view: SettlementView, console: Console, note: str = "") -> None:
    """Pool, income, expense, levy, gap, own fault, draw, borne by balance, residual, rule."""
    data = view.to_json()
    policy = data["policy"]
    table = Table(
        title=f"settlement {data['province']} {data['year']} · {data['status']} · "
        f"{policy['name']} {policy['version']}"
    )
    table.add_column("pool")
    for name in MONEY_FIELDS:
        table.add_column(HEADINGS[name], justify="right")
    table.add_column("main rule", overflow="fold")
    for pool, figures in zip(data["pools"], view.result["pools"], strict=True):
        table.add_row(pool["fund"], *(pool[name] for name in MONEY_FIELDS), main_rule(figures))
        for county in pool["counties"]:
            table.add_row(f"  {county['county']}", *[""] * 4, county["own_fault"], *[""] * 3,
                          county["reason"], style="dim")  # fmt: skip
    console.print(table)
    fund = data["adjustment_fund"]
    console.print(
        f"{fund['fund']}: balance {fund['balance']}, draws {fund['draws_total']}, "
        f"scale {fund['scale']}"
    )
    console.print(f"inputs {data['inputs_hash']}", soft_wrap=True)
    if note:
        console.print(note)


ALLOCATION_PARTS = ("gap", "own_fault", "draw", "borne_by_balance", "residual_to_government")
"""The columns of the allocation table: the gap and the four parts that add up to it."""
PART_HEADINGS = {
    "gap": "gap 缺口", "own_fault": "own fault 自身原因", "draw": "draw 调剂金",
    "borne_by_balance": "balance 累计结余", "residual_to_government": "government 政府",
}  # fmt: skip


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


def print_allocation(view: SettlementView, console: Console, note: str = "") -> None:
    """The allocation as a provincial officer reads it: per pool, who bears its gap and why.

    One row per pool: the gap and its four parts (they add up to the gap, to the fen), and the
    rule that decided them; a total row; then the adjustment fund before and after the draws.
    """
    data = view.to_json()
    policy = data["policy"]
    pools = view.result["pools"]
    table = Table(
        title=f"gap allocation {data['province']} {data['year']} · {policy['name']} "
        f"{policy['version']} · yuan"
    )
    table.add_column("pool")
    for name in ALLOCATION_PARTS:
        table.add_column(PART_HEADINGS[name], justify="right")
    table.add_column("rule", overflow="fold")
    for pool in pools:
        style = None if pool["gap_fen"] else "dim"
        figures = (thousands(pool[f"{name}_fen"]) for name in ALLOCATION_PARTS)
        table.add_row(pool["fund"], *figures, rule_label(pool), style=style)
        for county in pool["counties"]:
            table.add_row(f"  county {county['county']}", "", thousands(county["own_fault_fen"]),
                          "", "", "", county["reason"], style="dim")  # fmt: skip
    table.add_section()
    totals = (thousands(sum(p[f"{name}_fen"] for p in pools)) for name in ALLOCATION_PARTS)
    table.add_row("total", *totals, f"{sum(1 for p in pools if p['gap_fen'])} pool(s) with a gap")
    console.print(table)
    fund = view.result["adjustment_fund"]
    left = fund["balance_fen"] - fund["draws_total_fen"]
    full = fund["scale"] == "1.000000"
    console.print(
        f"{fund['fund']}: balance {thousands(fund['balance_fen'])}, draws "
        f"{thousands(fund['draws_total_fen'])}, left {thousands(left)}, scale {fund['scale']} "
        + ("(every draw paid in full)" if full else "(draws cut pro rata: 以收定支)")
    )
    console.print(f"inputs {data['inputs_hash']}", soft_wrap=True)
    if note:
        console.print(note)


def rows_table(title: str, rows: list[dict[str, str]], console: Console) -> None:
    """Rows of text as a titled table, one column per key."""
    table = Table(title=title)
    for key in rows[0] if rows else ["(none)"]:
        table.add_column(key, justify="left" if key in ("fund", "pool", "county") else "right")
    for row in rows:
        table.add_row(*row.values())
    console.print(table)


def rows_csv(rows: list[dict[str, str]]) -> str:
    """Rows of text as CSV with a header row (empty when there are no rows)."""
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()


def levy_rows(plan: LevyPlan, status: dict[str, str]) -> list[dict[str, str]]:
    """One row per pool's levy (with what posting did, when it was asked to post)."""
    return [
        {
            "fund": x.fund,
            "base_year": str(x.base_year),
            "base": format_fen(x.base_fen),
            "due": format_fen(x.due_fen),
            "levy": format_fen(x.levy_fen),
            "reference": x.reference,
            "value_date": x.value_date.isoformat(),
            **({"status": status.get(x.fund, "")} if status else {}),
        }
        for x in plan.levies
    ]


def what_if_rows(both: WhatIf) -> list[dict[str, str]]:
    """Per pool, the draw and what the balance bears under each policy."""
    rows = []
    for now, then in zip(
        both.current.result["pools"], both.alternative.result["pools"], strict=True
    ):
        rows.append(
            {
                "pool": now["fund"],
                "gap": format_fen(now["gap_fen"]),
                "draw now": format_fen(now["draw_fen"]),
                "draw what-if": format_fen(then["draw_fen"]),
                "change": format_fen(then["draw_fen"] - now["draw_fen"]),
                "balance now": format_fen(now["borne_by_balance_fen"]),
                "balance what-if": format_fen(then["borne_by_balance_fen"]),
                "residual what-if": format_fen(then["residual_to_government_fen"]),
            }
        )
    return rows
