"""The read models as CSV: the statement, ratios and warnings, subsidies, a fund's history,
plain rows (docs/contract.md: money as yuan strings with two decimals, as in JSON).

Shared by ``--format csv`` on the command line and ``Accept: text/csv`` over HTTP, so both
give the same bytes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from typing import Any

SUBSIDY_COLUMNS = (
    "fund",
    "year",
    "enrolled",
    "standard_per_person",
    "level",
    "share",
    "due",
    "received",
    "outstanding",
    "earmarked_received",
)

EVENT_COLUMNS = (
    "version",
    "topic",
    "recorded_at",
    "recorded_by",
    "reference",
    "value_date",
    "amount",
    "prev_hash",
    "chain_hash",
    "chain_ok",
    "payload",
)


def cell(value: Any) -> str:
    """A value as CSV text: empty for None, ``true``/``false`` for booleans."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def rows_csv(rows: Sequence[dict[str, Any]]) -> str:
    """Rows as CSV with a header row of their keys (just a newline when there are no rows)."""
    buffer = io.StringIO()
    if not rows:
        return "\n"
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(list(rows[0]))
    for row in rows:
        writer.writerow([cell(v) for v in row.values()])
    return buffer.getvalue()


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
        writer.writerow(["ratio", key, cell(value)])
    for key in ("view", "as_of", "closed_at"):
        if statement.get(key) is not None:
            writer.writerow(["about", key, statement[key]])
    for note in statement.get("notes", []):
        writer.writerow(["note", "", note])
    for warning in statement.get("warnings", []):
        writer.writerow(["warning", warning["rule"], f"{warning['level']}: {warning['message']}"])
    return out.getvalue()


def warning_reasons(row: dict[str, Any]) -> str:
    """A ratios row's warnings on one line."""
    return " | ".join(f"{w['level']}: {w['message']}" for w in row["warnings"])


def ratios_csv(rows: Sequence[dict[str, Any]]) -> str:
    """The rows of ``ratios`` (or ``warnings``), one per fund, warnings as the last column."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = [key for key in rows[0] if key != "warnings"] if rows else ["fund"]
    writer.writerow([*columns, "warnings"])
    for row in rows:
        writer.writerow([*(cell(row[c]) for c in columns), warning_reasons(row)])
    return buffer.getvalue()


def subsidy_lines(rows: Sequence[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Each fund's levels, then its total, as flat rows of :data:`SUBSIDY_COLUMNS`."""
    for row in rows:
        for level in row["levels"]:
            yield {**{k: row[k] for k in SUBSIDY_COLUMNS[:4]}, **level}
        yield {**row, "level": "total", "share": "1.000000"}


def subsidies_csv(rows: Sequence[dict[str, Any]]) -> str:
    """Subsidies due, received and outstanding, one row per fund and level, then the total."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SUBSIDY_COLUMNS)
    for line in subsidy_lines(rows):
        writer.writerow([cell(line[c]) for c in SUBSIDY_COLUMNS])
    return buffer.getvalue()


def events_csv(events: Sequence[dict[str, Any]]) -> str:
    """A fund's history (the events of :func:`api.usecases.history.link_json`), one row per
    event, the payload's other fields as ``key=value`` pairs in the last column."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EVENT_COLUMNS)
    for event in events:
        payload = dict(event["payload"])
        picked = {k: payload.pop(k, None) for k in ("reference", "value_date", "amount")}
        rest = "; ".join(f"{k}={cell(v)}" for k, v in payload.items())
        writer.writerow(
            [
                *(cell(event[k]) for k in EVENT_COLUMNS[:4]),
                *(cell(picked[k]) for k in ("reference", "value_date", "amount")),
                cell(event["prev_hash"]),
                cell(event["chain_hash"]),
                cell(event["chain_ok"]),
                rest,
            ]
        )
    return buffer.getvalue()
