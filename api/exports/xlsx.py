"""The statement and the ratios (or the warnings) as workbooks for finance staff.

Pure functions from read-model JSON to a file (docs/projections.md, "Exports").
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from api.exports.workbook import Styles, close_workbook, new_workbook, sheet_names
from domain.errors import InvalidInput
from domain.lines import LINE_NAMES as DOMAIN_LINE_NAMES

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

LINE_NAMES = {
    **{line.value: name for line, name in DOMAIN_LINE_NAMES.items()},
    "income.subtotal": "本年收入小计",
    "income.total": "本年收入合计",
    "expense.subtotal": "本年支出小计",
    "expense.total": "本年支出合计",
    "opening_balance": "年初滚存结余",
    "current_surplus": "本年收支结余",
    "closing_balance": "年末滚存结余",
    "current_surplus_rate": "当年结余率",
    "accumulated_balance_rate": "累计结余率",
    "months_of_coverage": "累计结余可支付月数",
}
"""The statement's lines as the official layout names them (docs/domain.md)."""

SUB_NAMES = {
    "individual": "个人缴费",
    "collective": "集体补助",
    "central": "中央",
    "provincial": "省级",
    "municipal": "市级",
    "county": "县级",
    "inpatient": "住院",
    "outpatient": "门诊",
    "outpatient_pooling": "门诊统筹",
    "outpatient_chronic": "门诊慢特病",
}
"""Sub-lines and subsidy levels whose official names are settled; others keep their key."""


def statement_xlsx(statements: list[dict[str, Any]], path: Path | BinaryIO) -> None:
    """Write statements (their JSON, docs/contract.md) to a workbook, one sheet per statement.

    Each sheet: title rows (fund, year, view, as of, closed), then under a bold frozen header
    the balances, every line and sub-line, subtotals and totals, the ratios, notes, warnings.
    """
    if not statements:
        raise InvalidInput("there is no statement to write", field="year")
    workbook = new_workbook(path)
    workbook.set_properties(
        {
            "title": "Fund statements",
            "subject": ", ".join(f"{s['fund']} {s['year']} {s['view']}" for s in statements),
            "created": datetime(max(int(s["year"]) for s in statements), 12, 31),
        }
    )
    styles = Styles(workbook)
    names = sheet_names([_statement_sheet_name(s, statements) for s in statements])
    for name, statement in zip(names, statements, strict=True):
        _statement_sheet(workbook.add_worksheet(name), statement, styles)
    close_workbook(workbook, path)


@dataclass(frozen=True)
class _Row:
    """One row of a statement sheet: what it is and how its value is shown."""

    section: str
    line: str
    name: str
    value: str | None
    kind: str = "money"  # money, percent, months, text
    depth: int = 0
    bold: bool = False
    level: str | None = None


def _statement_rows(statement: dict[str, Any]) -> Iterator[_Row]:
    yield _Row(
        "balance",
        "opening balance",
        LINE_NAMES["opening_balance"],
        statement["opening_balance"],
        bold=True,
    )
    yield _Row("balance", "balances merged in", "", statement["opening_balance_transfers"])
    for side in ("income", "expense"):
        for key, value in statement[side].items():
            if key in ("subtotal", "total"):
                yield _Row(side, f"{side} {key}", LINE_NAMES[f"{side}.{key}"], value, bold=True)
            elif "." in key:
                sub = key.partition(".")[2]
                name = f"其中：{SUB_NAMES[sub]}" if sub in SUB_NAMES else ""
                yield _Row(side, sub, name, value, depth=1)
            else:
                yield _Row(side, key, LINE_NAMES.get(key, ""), value)
    yield _Row(
        "balance",
        "current surplus",
        LINE_NAMES["current_surplus"],
        statement["current_surplus"],
        bold=True,
    )
    yield _Row(
        "balance",
        "closing balance",
        LINE_NAMES["closing_balance"],
        statement["closing_balance"],
        bold=True,
    )
    for key, value in statement["ratios"].items():
        kind = "months" if key.startswith("months") else "percent"
        yield _Row("ratio", key.replace("_", " "), LINE_NAMES.get(key, ""), value, kind)
    for key in ("restatements", "opening_balance_restatements"):
        if key in statement:
            yield _Row("restatement", key.replace("_", " "), "", statement[key])
    for note in statement.get("notes", []):
        yield _Row("note", note, "", None, "text")
    for warning in statement.get("warnings", []):
        yield _Row(
            "warning", warning["message"], warning["rule"], None, "text", level=warning["level"]
        )
    if not statement.get("warnings"):
        yield _Row("warning", "none", "", None, "text")


def _statement_sheet(sheet: Any, statement: dict[str, Any], styles: Styles) -> None:
    closed = statement.get("closed_at")
    title = [
        ("fund", statement["fund"]),
        ("year", str(statement["year"])),
        ("view", statement["view"]),
        ("as of", statement.get("as_of") or "everything recorded"),
        ("closed", f"final accounts approved at {closed}" if closed else "not closed"),
        ("amounts", "yuan"),
    ]
    sheet.write_string(0, 0, f"Statement {statement['fund']} {statement['year']}", styles.title)
    for row, (key, value) in enumerate(title, start=1):
        sheet.write_string(row, 0, key, styles.bold)
        sheet.write_string(row, 1, value)
    header = len(title) + 2
    for col, head in enumerate(("section", "line", "名称", "amount (yuan)")):
        sheet.write_string(header, col, head, styles.header)
    sheet.freeze_panes(header + 1, 0)
    for row, item in enumerate(_statement_rows(statement), start=header + 1):
        sheet.write_string(row, 0, item.section)
        if item.level is not None:
            sheet.write_string(row, 1, f"{item.level}: {item.line}", styles.level(item.level))
        else:
            sheet.write_string(row, 1, item.line, styles.line(bold=item.bold, depth=item.depth))
        if item.name:
            sheet.write_string(row, 2, item.name, styles.line(bold=item.bold, depth=item.depth))
        if item.kind != "text":
            styles.number(sheet, row, 3, item.value, item.kind, bold=item.bold)
    sheet.set_column(0, 0, 12)
    sheet.set_column(1, 1, 30)
    sheet.set_column(2, 2, 24)
    sheet.set_column(3, 3, 20)


def _statement_sheet_name(statement: dict[str, Any], every: list[dict[str, Any]]) -> str:
    """The year alone when every statement is the same fund's; else fund and year."""
    year = str(statement["year"])
    if len({s["fund"] for s in every}) == 1:
        return year if len({s["view"] for s in every}) == 1 else f"{year} {statement['view']}"
    return f"{statement['fund']} {year}"


@dataclass(frozen=True)
class _Column:
    key: str
    head: str
    kind: str  # text, int, bool, money, percent, months, level, warnings
    width: float


RATIO_COLUMNS = (
    _Column("fund", "fund", "text", 22),
    _Column("year", "year", "int", 7),
    _Column("year_complete", "year complete", "bool", 9),
    _Column("income_subtotal", "income subtotal", "money", 17),
    _Column("expense_subtotal", "expense subtotal", "money", 17),
    _Column("closing_balance", "closing balance", "money", 17),
    _Column("current_surplus_rate", "current surplus rate", "percent", 11),
    _Column("accumulated_balance_rate", "accumulated balance rate", "percent", 11),
    _Column("months_of_coverage", "months of coverage", "months", 10),
    _Column("trailing_period", "trailing 12 months", "text", 17),
    _Column("trailing_income_subtotal", "trailing income subtotal", "money", 17),
    _Column("trailing_expense_subtotal", "trailing expense subtotal", "money", 17),
    _Column("trailing_year_end_balance", "trailing projected year-end balance", "money", 17),
    _Column("trailing_current_surplus_rate", "trailing surplus rate", "percent", 11),
    _Column("trailing_accumulated_balance_rate", "trailing balance rate", "percent", 11),
    _Column("trailing_months_of_coverage", "trailing months of coverage", "months", 10),
    _Column("basis", "warnings judged on", "text", 18),
    _Column("warning_level", "warning level", "level", 10),
    _Column("warnings", "warnings", "warnings", 70),
    _Column("policy", "policy", "text", 30),
    _Column("accumulated_balance_denominator", "balance rate denominator", "text", 16),
)
"""The columns of ``fundledger ratios`` (money in yuan, rates as percent)."""


def ratios_xlsx(
    rows: list[dict[str, Any]], path: Path | BinaryIO, *, title: str = "Ratios and warnings"
) -> None:
    """Write the ratios rows (``fundledger ratios``, or ``warnings``) to a workbook, one
    sheet per year.

    Each sheet: a title row, a bold frozen header with an autofilter, one row per fund.
    """
    workbook = new_workbook(path)
    years = sorted({int(row["year"]) for row in rows})
    workbook.set_properties(
        {
            "title": "Fund ratios and warnings",
            "subject": ", ".join(str(y) for y in years),
            "created": datetime(max(years, default=2000), 12, 31),
        }
    )
    styles = Styles(workbook)
    known = {c.key for c in RATIO_COLUMNS}
    extra = [k for row in rows for k in row if k not in known]
    columns = [
        *RATIO_COLUMNS,
        *(_Column(k, k.replace("_", " "), "text", 14) for k in dict.fromkeys(extra)),
    ]
    sheets: list[int | None] = [*years] or [None]
    for year in sheets:
        chosen = [row for row in rows if year is None or int(row["year"]) == year]
        name = "ratios" if year is None else str(year)
        sheet = workbook.add_worksheet(name)
        shown = f"{title} {year}" if year is not None else title
        sheet.write_string(0, 0, f"{shown}: {len(chosen)} funds (amounts in yuan)", styles.title)
        _ratios_sheet(sheet, chosen, columns, styles)
    close_workbook(workbook, path)


def _ratios_sheet(
    sheet: Any,
    rows: list[dict[str, Any]],
    columns: Sequence[_Column],
    styles: Styles,
) -> None:
    header = 2
    sheet.set_row(header, 32)
    for col, column in enumerate(columns):
        sheet.write_string(header, col, column.head, styles.header)
        sheet.set_column(col, col, column.width)
    sheet.freeze_panes(header + 1, 1)
    for row_index, row in enumerate(rows, start=header + 1):
        for col, column in enumerate(columns):
            _ratio_cell(sheet, (row_index, col), column, row.get(column.key), styles)
    sheet.autofilter(header, 0, header + max(len(rows), 1), len(columns) - 1)


def _ratio_cell(
    sheet: Any, cell: tuple[int, int], column: _Column, value: Any, styles: Styles
) -> None:
    row, col = cell
    kind = column.kind
    if kind in ("money", "percent", "months"):
        styles.number(sheet, row, col, value, kind)
    elif value is None:
        sheet.write_blank(row, col, None)
    elif kind == "int":
        sheet.write_number(row, col, int(value))
    elif kind == "bool":
        sheet.write_boolean(row, col, bool(value))
    elif kind == "level":
        sheet.write_string(row, col, str(value), styles.level(str(value)))
    elif kind == "warnings":
        sheet.write_string(row, col, " | ".join(f"{w['level']}: {w['message']}" for w in value))
    else:
        sheet.write_string(row, col, str(value))


def statement_xlsx_bytes(statement: dict[str, Any]) -> bytes:
    """One statement's workbook as bytes (``Accept`` the xlsx media type over HTTP)."""
    buffer = io.BytesIO()
    statement_xlsx([statement], buffer)
    return buffer.getvalue()
