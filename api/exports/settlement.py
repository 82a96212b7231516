"""A settlement as a file: JSON, CSV or XLSX bytes (docs/clearing.md §1 step 7).

Every file is a pure function of the settlement document, so the same settlement gives the
same bytes, whoever asks and however often: the XLSX's creation date is the last day of the
settled year, and XlsxWriter writes fixed timestamps inside the zip. The CLI (``settle
report``) and the HTTP API (``GET /v1/settlements/{id}``) both write them from here.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from decimal import Decimal
from typing import Literal

from clearing.report import MONEY_FIELDS, SettlementView

FileFormat = Literal["json", "csv", "xlsx"]
MEDIA_TYPES: dict[FileFormat, str] = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
LABELS = {
    "income": "income 收入", "expense": "expense 支出", "levy": "levy 计提", "gap": "gap 缺口",
    "own_fault": "own fault 自身原因", "draw": "draw 调剂金拨付",
    "borne_by_balance": "borne by balance 累计结余承担",
    "residual_to_government": "residual to government 同级政府承担",
}  # fmt: skip
CSV_HEADER = (
    "settlement", "province", "year", "status", "policy_version", "inputs_hash", "fund",
    *MONEY_FIELDS, "counties", "rules",
)  # fmt: skip


def render(view: SettlementView, fmt: FileFormat) -> bytes:
    """The settlement as JSON, CSV or XLSX bytes (the same settlement, the same bytes)."""
    if fmt == "json":
        return report_json(view)
    if fmt == "csv":
        return report_csv(view)
    return report_xlsx(view)


def report_json(view: SettlementView) -> bytes:
    """The settlement JSON, UTF-8, two-space indented, with a final newline."""
    return (json.dumps(view.to_json(), ensure_ascii=False, indent=2) + "\n").encode("utf-8")


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
    """The settlement as a workbook: identity in the header rows, one row per pool."""
    import xlsxwriter  # type: ignore[import-untyped]  # loaded only when a workbook is asked

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
        ("adjustment fund", fund["fund"]), ("balance", fund["balance"] or ""),
        ("draws total", fund["draws_total"] or ""), ("scale", fund["scale"]),
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
