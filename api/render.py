"""Rendering read models for the terminal: rich tables, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from domain.audit import ChainLink
from domain.money import format_fen


def to_json(data: Any) -> str:
    """Stable, readable JSON (UTF-8, keys in the order the model gives them)."""
    return json.dumps(data, ensure_ascii=False, indent=2)


def statement_table(statement: dict[str, Any], console: Console) -> None:
    """The statement as a finance officer reads it: lines, subtotals, balances, ratios."""
    table = Table(title=f"{statement['fund']} · {statement['year']} · {statement['view']}")
    table.add_column("line")
    table.add_column("amount (yuan)", justify="right")
    table.add_row("opening balance", statement["opening_balance"])
    if statement.get("opening_balance_transfers", "0.00") != "0.00":
        table.add_row("  balances merged in", statement["opening_balance_transfers"])
    for side in ("income", "expense"):
        table.add_section()
        for key, value in statement[side].items():
            label = f"{side} {key}" if "." not in key else f"    {key}"
            style = "bold" if key in ("subtotal", "total") else None
            table.add_row(label, value, style=style)
    table.add_section()
    table.add_row("current surplus", statement["current_surplus"], style="bold")
    table.add_row("closing balance", statement["closing_balance"], style="bold")
    for key, value in statement["ratios"].items():
        table.add_row(key.replace("_", " "), "—" if value is None else value)
    if statement.get("closed_at"):
        table.caption = f"closed (final accounts approved) at {statement['closed_at']}"
    console.print(table)
    for note in statement.get("notes", []):
        console.print(f"note: {note}")
    colours = {"red": "red", "orange": "dark_orange", "yellow": "yellow", "blue": "blue"}
    for warning in statement.get("warnings", []):
        level = warning["level"]
        console.print(f"warning [{colours.get(level, 'default')}]{level}[/]: {warning['message']}")
    if not statement.get("warnings"):
        console.print("warnings: none")


def statement_csv(statement: dict[str, Any]) -> str:
    """The statement as ``section,line,amount`` rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "line", "amount"])
    writer.writerow(["balance", "opening_balance", statement["opening_balance"]])
    writer.writerow(
        ["balance", "opening_balance_transfers", statement["opening_balance_transfers"]]
    )
    for side in ("income", "expense"):
        for key, value in statement[side].items():
            writer.writerow([side, key, value])
    writer.writerow(["balance", "current_surplus", statement["current_surplus"]])
    writer.writerow(["balance", "closing_balance", statement["closing_balance"]])
    for key in ("restatements", "opening_balance_restatements"):
        if key in statement:
            writer.writerow(["balance", key, statement[key]])
    for key, value in statement["ratios"].items():
        writer.writerow(["ratio", key, "" if value is None else value])
    for key in ("view", "as_of", "closed_at"):
        if statement.get(key) is not None:
            writer.writerow(["about", key, statement[key]])
    for note in statement.get("notes", []):
        writer.writerow(["note", "", note])
    for warning in statement.get("warnings", []):
        writer.writerow(["warning", warning["rule"], f"{warning['level']}: {warning['message']}"])
    return out.getvalue()


def link_json(link: ChainLink) -> dict[str, Any]:
    """One event of a fund's history with its chain, as JSON."""
    event = link.event
    data: dict[str, Any] = {"version": link.version, "topic": link.topic}
    if event is not None:
        data["recorded_at"] = event.timestamp.isoformat()
        for key, value in vars(event).items():
            if key in ("originator_id", "originator_version", "timestamp", "originator_topic"):
                continue
            if key.endswith("_fen") and isinstance(value, int):
                data[key.removesuffix("_fen")] = format_fen(value)
            else:
                data[key] = value
    data["chain_ok"] = link.ok
    data["findings"] = list(link.findings)
    return data


def events_table(fund: str, links: Sequence[ChainLink], console: Console) -> None:
    """A fund's history, one row per event, with the short hashes of its chain."""
    table = Table(title=f"{fund}: {len(links)} events")
    for column in (
        "v",
        "recorded at (UTC)",
        "event",
        "value date",
        "reference",
        "amount",
        "prev",
        "hash",
        "chain",
    ):
        table.add_column(column, justify="right" if column in ("v", "amount") else "left")
    for link in links:
        event = link.event
        if event is None:
            table.add_row(str(link.version), "", link.topic, "", "", "", "", "", "[red]BROKEN")
            continue
        amount = getattr(event, "amount_fen", getattr(event, "opening_balance_fen", None))
        table.add_row(
            str(link.version),
            event.timestamp.strftime("%Y-%m-%d %H:%M:%S"),
            type(event).__name__,
            getattr(event, "value_date", ""),
            getattr(event, "reference", ""),
            "" if amount is None else format_fen(amount),
            event.prev_hash[:10],
            event.chain_hash[:10],
            "ok" if link.ok else "[red]BROKEN",
        )
    console.print(table)
