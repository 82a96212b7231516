"""A settlement as data: the stored result, the contract's JSON, CSV and XLSX.

The stored result keeps money as integer fen; the reports write yuan strings (CONTRACT.md
"Settlement JSON"). Every report is a pure function of the settlement, so the same settlement
gives byte-identical files: the XLSX's creation date is the last day of the settled year, and
XlsxWriter writes fixed timestamps inside the zip.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from clearing.allocation import Allocation
from domain.money import format_fen

MONEY_FIELDS = (
    "income", "expense", "levy", "gap", "own_fault", "draw", "borne_by_balance",
    "residual_to_government",
)  # fmt: skip
LABELS = {
    "income": "income 收入", "expense": "expense 支出", "levy": "levy 计提", "gap": "gap 缺口",
    "own_fault": "own fault 自身原因", "draw": "draw 调剂金拨付",
    "borne_by_balance": "borne by balance 累计结余承担",
    "residual_to_government": "residual to government 同级政府承担",
}  # fmt: skip


def result_document(allocation: Allocation) -> dict[str, Any]:
    """The allocation as JSON-able data with money in fen (what a draft event records)."""
    return {
        "adjustment_fund": {
            "fund": allocation.adjustment_fund,
            "balance_fen": allocation.adjustment_balance_fen,
            "draws_total_fen": allocation.draws_total_fen,
            "scale": str(allocation.scale.quantize(Decimal("0.000001"))),
        },
        "pools": [
            {
                "fund": p.fund,
                **{f"{name}_fen": getattr(p, f"{name}_fen") for name in MONEY_FIELDS},
                "request_fen": p.request_fen,
                "rules": list(p.rules),
                "counties": [
                    {"county": c.county, "own_fault_fen": c.own_fault_fen, "reason": c.reason}
                    for c in p.counties
                ],
            }
            for p in allocation.pools
        ],
    }


@dataclass(frozen=True)
class SettlementView:
    """A settlement as recorded (or computed, for a dry run), ready to report."""

    id: str
    province: str
    year: int
    status: str
    policy: dict[str, Any]
    """The policy's full content (``name``, ``version``, ``effective_year``, ...)."""
    inputs_hash: str
    result: dict[str, Any]
    drafted_by: str | None = None
    approved_by: str | None = None
    posted_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        """CONTRACT.md "Settlement JSON"."""
        fund = self.result["adjustment_fund"]
        return {
            "id": self.id,
            "province": self.province,
            "year": self.year,
            "status": self.status,
            "policy": {
                "name": self.policy["name"],
                "version": self.policy["version"],
                "effective_year": self.policy["effective_year"],
            },
            "inputs_hash": self.inputs_hash,
            "adjustment_fund": {
                "fund": fund["fund"],
                "balance": format_fen(fund["balance_fen"]),
                "draws_total": format_fen(fund["draws_total_fen"]),
                "scale": fund["scale"],
            },
            "pools": [_pool_json(p) for p in self.result["pools"]],
        }


def _pool_json(pool: dict[str, Any]) -> dict[str, Any]:
    return {
        "fund": pool["fund"],
        **{name: format_fen(pool[f"{name}_fen"]) for name in MONEY_FIELDS},
        "rules": list(pool["rules"]),
        "counties": [
            {
                "county": c["county"],
                "own_fault": format_fen(c["own_fault_fen"]),
                "reason": c["reason"],
            }
            for c in pool["counties"]
        ],
    }


DECISIVE = (
    "no draw", "legacy", "no adjustment fund", "capped", "draw scaled", "proportional",
    "sequential",
)  # fmt: skip
"""Rule prefixes, the most decisive first: what explains the pool's draw."""


def main_rule(pool: dict[str, Any]) -> str:
    """The one rule a reader needs first to understand the pool's figures."""
    rules: list[str] = pool["rules"]
    if pool["gap_fen"] == 0:
        return "no gap"
    if pool["own_fault_fen"] == pool["gap_fen"]:
        return next(r for r in rules if r.startswith("own fault"))
    for prefix in DECISIVE:
        found = [r for r in rules if r.startswith(prefix)]
        if found:
            return found[0]
    return rules[-1]


def report_json(view: SettlementView) -> bytes:
    """The settlement JSON, UTF-8, two-space indented, with a final newline."""
    return (json.dumps(view.to_json(), ensure_ascii=False, indent=2) + "\n").encode("utf-8")


CSV_HEADER = (
    "settlement", "province", "year", "status", "policy_version", "inputs_hash", "fund",
    *MONEY_FIELDS, "counties", "rules",
)  # fmt: skip


def report_csv(view: SettlementView) -> bytes:
    """One row per pool; the settlement's identity repeated on each row."""
    data = view.to_json()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    head = [data["id"], view.province, view.year, view.status, view.policy["version"]]
    for pool in data["pools"]:
        counties = "; ".join(f"{c['county']}={c['own_fault']}" for c in pool["counties"])
        writer.writerow(
            [*head, view.inputs_hash, pool["fund"], *(pool[name] for name in MONEY_FIELDS),
             counties, " | ".join(pool["rules"])]
        )  # fmt: skip
    return buffer.getvalue().encode("utf-8")


def report_xlsx(view: SettlementView) -> bytes:
    """The settlement as a workbook; the same settlement gives the same bytes."""
    import xlsxwriter  # type: ignore[import-untyped]

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    workbook.set_properties(
        {
            "title": f"Settlement {view.province} {view.year}",
            "subject": f"{view.policy['name']} {view.policy['version']}",
            "comments": view.inputs_hash,
            "created": datetime(view.year, 12, 31),
        }
    )
    bold = workbook.add_format({"bold": True})
    money = workbook.add_format({"num_format": "#,##0.00"})
    sheet = workbook.add_worksheet("settlement")
    data = view.to_json()
    fund = data["adjustment_fund"]
    header = [
        ("settlement", data["id"]), ("province", view.province), ("year", str(view.year)),
        ("status", view.status), ("policy", view.policy["name"]),
        ("policy version", view.policy["version"]), ("inputs hash", view.inputs_hash),
        ("adjustment fund", fund["fund"]), ("balance", fund["balance"]),
        ("draws total", fund["draws_total"]), ("scale", fund["scale"]),
    ]  # fmt: skip
    for row, (key, value) in enumerate(header):
        sheet.write_string(row, 0, key, bold)
        sheet.write_string(row, 1, value)
    top = len(header) + 1
    columns = ["fund", *(LABELS[name] for name in MONEY_FIELDS), "counties", "rules"]
    for col, title in enumerate(columns):
        sheet.write_string(top, col, title, bold)
    for offset, pool in enumerate(data["pools"], start=1):
        sheet.write_string(top + offset, 0, pool["fund"])
        for col, name in enumerate(MONEY_FIELDS, start=1):
            sheet.write_number(top + offset, col, Decimal(pool[name]), money)
        counties = "; ".join(
            f"{c['county']} {c['own_fault']} ({c['reason']})" for c in pool["counties"]
        )
        sheet.write_string(top + offset, len(MONEY_FIELDS) + 1, counties)
        sheet.write_string(top + offset, len(MONEY_FIELDS) + 2, " | ".join(pool["rules"]))
    sheet.set_column(0, 0, 22)
    sheet.set_column(1, len(MONEY_FIELDS), 18)
    workbook.close()
    return buffer.getvalue()
