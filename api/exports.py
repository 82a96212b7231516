"""Exports finance staff use: the statement and the ratios as workbooks, a fund's chart as PNG.

Pure functions from read-model data to a file. Amounts arrive as decimal strings of yuan and
are written as numbers exactly as given (a ``Decimal`` from the string, never float arithmetic
on fen), shown with thousands separators and two decimals. The spreadsheet library and the
plotting library are imported only when a file is written.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domain.errors import InvalidInput
from domain.lines import LINE_NAMES as DOMAIN_LINE_NAMES
from projections.monthly import MonthFigures
from projections.policy import Band

if TYPE_CHECKING:
    from matplotlib.axes import Axes

MONEY = "#,##0.00"
PERCENT = "0.00%"
MONTHS = "0.00"

CHART_WIDTH_PX = 1200
CHART_HEIGHT_PX = 750
CHART_DPI = 100

LEVEL_COLOURS = {
    "red": "#F4B6B6",
    "orange": "#F9D3A6",
    "yellow": "#FFF2A8",
    "blue": "#BFD7F2",
    "green": "#C8E6C1",
}
"""Cell fills (and chart bands) for the warning levels."""

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
"""The statement's lines as the official layout names them (DOMAIN.md §2, §3)."""

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


# ------------------------------------------------------------------------------ statement


def statement_xlsx(statements: list[dict[str, Any]], path: Path) -> None:
    """Write statements (their JSON, CONTRACT.md) to a workbook, one sheet per statement.

    Each sheet: title rows (fund, year, view, as of, closed), then under a bold frozen header
    the balances, every line and sub-line, subtotals and totals, the ratios, notes, warnings.
    """
    if not statements:
        raise InvalidInput("there is no statement to write", field="year")
    workbook = _new_workbook(path)
    workbook.set_properties(
        {
            "title": "Fund statements",
            "subject": ", ".join(f"{s['fund']} {s['year']} {s['view']}" for s in statements),
            "created": datetime(max(int(s["year"]) for s in statements), 12, 31),
        }
    )
    styles = _Styles(workbook)
    names = _sheet_names([_statement_sheet_name(s, statements) for s in statements])
    for name, statement in zip(names, statements, strict=True):
        _statement_sheet(workbook.add_worksheet(name), statement, styles)
    _close(workbook, path)


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


def _statement_sheet(sheet: Any, statement: dict[str, Any], styles: _Styles) -> None:
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


# -------------------------------------------------------------------------------- ratios


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


def ratios_xlsx(rows: list[dict[str, Any]], path: Path) -> None:
    """Write the ratios rows (``fundledger ratios``) to a workbook, one sheet per year.

    Each sheet: a title row, a bold frozen header with an autofilter, one row per fund.
    """
    workbook = _new_workbook(path)
    years = sorted({int(row["year"]) for row in rows})
    workbook.set_properties(
        {
            "title": "Fund ratios and warnings",
            "subject": ", ".join(str(y) for y in years),
            "created": datetime(max(years, default=2000), 12, 31),
        }
    )
    styles = _Styles(workbook)
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
        _ratios_sheet(workbook.add_worksheet(name), chosen, columns, year, styles)
    _close(workbook, path)


def _ratios_sheet(
    sheet: Any,
    rows: list[dict[str, Any]],
    columns: Sequence[_Column],
    year: int | None,
    styles: _Styles,
) -> None:
    shown = "" if year is None else f" {year}"
    sheet.write_string(
        0, 0, f"Ratios and warnings{shown}: {len(rows)} funds (amounts in yuan)", styles.title
    )
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
    sheet: Any, cell: tuple[int, int], column: _Column, value: Any, styles: _Styles
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


# ---------------------------------------------------------------------------- workbooks


class _Styles:
    """The cell formats of one workbook."""

    def __init__(self, workbook: Any) -> None:
        self._workbook = workbook
        self.title = workbook.add_format({"bold": True, "font_size": 14})
        self.bold = workbook.add_format({"bold": True})
        self.header = workbook.add_format(
            {"bold": True, "bottom": 1, "bg_color": "#E7E6E6", "text_wrap": True, "valign": "top"}
        )
        self._numbers: dict[tuple[str, bool], Any] = {}
        self._lines: dict[tuple[bool, int], Any] = {}
        self._levels: dict[str, Any] = {}

    def number(
        self, sheet: Any, row: int, col: int, value: str | None, kind: str, *, bold: bool = False
    ) -> None:
        """A money amount, rate or months: the decimal string written as its exact number."""
        key = (kind, bold)
        if key not in self._numbers:
            shown = {"money": MONEY, "percent": PERCENT, "months": MONTHS}[kind]
            self._numbers[key] = self._workbook.add_format({"num_format": shown, "bold": bold})
        if value is None:
            sheet.write_blank(row, col, None, self._numbers[key])
        else:
            sheet.write_number(row, col, _exact(value), self._numbers[key])

    def line(self, *, bold: bool, depth: int) -> Any:
        key = (bold, depth)
        if key not in self._lines:
            self._lines[key] = self._workbook.add_format({"bold": bold, "indent": depth})
        return self._lines[key]

    def level(self, level: str) -> Any:
        if level not in self._levels:
            colour = LEVEL_COLOURS.get(level)
            spec = {"bg_color": colour} if colour else {}
            self._levels[level] = self._workbook.add_format(spec)
        return self._levels[level]


def _exact(text: str) -> Decimal:
    """The decimal string as a Decimal: written to the sheet digit for digit."""
    value = Decimal(str(text))
    if not value.is_finite():
        raise InvalidInput(f"{text!r} is not a number", field="amount")
    return value


_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _sheet_names(wanted: list[str]) -> list[str]:
    """Valid, distinct sheet names (at most 31 characters, none of ``[]:*?/\\``)."""
    names: list[str] = []
    for name in wanted:
        base = _SHEET_FORBIDDEN.sub("-", name)[:31]
        candidate, n = base, 1
        while candidate.lower() in (x.lower() for x in names):
            n += 1
            candidate = f"{base[: 31 - len(str(n)) - 1]} {n}"
        names.append(candidate)
    return names


def _new_workbook(path: Path) -> Any:
    import xlsxwriter  # type: ignore[import-untyped]

    return xlsxwriter.Workbook(str(path))


def _close(workbook: Any, path: Path) -> None:
    """Write the workbook out; a file that cannot be written is the user's to fix."""
    from xlsxwriter.exceptions import FileCreateError  # type: ignore[import-untyped]

    try:
        workbook.close()
    except FileCreateError as error:
        raise InvalidInput(f"cannot write {path}: {error}", field="output") from None


# --------------------------------------------------------------------------------- chart


def fund_chart_png(
    fund: str, months: Sequence[MonthFigures], path: Path, *, bands: Sequence[Band] = ()
) -> None:
    """A PNG of a fund's month-end balance and months of coverage across its years.

    Top panel: the month-end balance in yuan. Bottom panel: months of coverage, the month-end
    balance over the average monthly expense subtotal of the trailing 12 months (of the
    months on the books while they hold fewer than 12, drawn dotted), with the province's
    bands of months of coverage shaded behind. Dashed lines mark the year boundaries. The
    image is ``CHART_WIDTH_PX`` × ``CHART_HEIGHT_PX`` pixels.
    """
    if not months:
        raise InvalidInput(f"{fund} has no postings in the years asked for: nothing to chart")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(
        figsize=(CHART_WIDTH_PX / CHART_DPI, CHART_HEIGHT_PX / CHART_DPI), dpi=CHART_DPI
    )
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    _balance_panel(top, months)
    _coverage_panel(bottom, months, bands)
    januaries = [i for i, m in enumerate(months) if m.month == 1]
    for axes in (top, bottom):
        for i in januaries:
            if i > 0:
                axes.axvline(i - 0.5, color="#888888", linestyle="--", linewidth=0.9)
        axes.set_xlim(-0.5, len(months) - 0.5)
    starts = sorted({0, *januaries})
    bottom.set_xticks(starts, [months[i].label for i in starts])
    bottom.set_xticks(range(len(months)), minor=True)
    figure.suptitle(
        f"{fund}: month-end balance and months of coverage, "
        f"{months[0].label} to {months[-1].label}",
        fontweight="bold",
    )
    figure.subplots_adjust(left=0.11, right=0.92, top=0.93, bottom=0.07, hspace=0.08)
    try:
        figure.savefig(path, format="png", dpi=CHART_DPI, metadata={"Software": None})
    except OSError as error:
        raise InvalidInput(f"cannot write {path}: {error.strerror}", field="output") from None


def _balance_panel(axes: Axes, months: Sequence[MonthFigures]) -> None:
    from matplotlib.ticker import FuncFormatter

    balances = [float(Decimal(m.closing_balance_fen) / 100) for m in months]
    axes.plot(
        range(len(months)), balances, color="#1f4e79", marker="o", markersize=3, linewidth=1.6
    )
    if min(balances) < 0:
        axes.axhline(0, color="#555555", linewidth=0.8)
    axes.set_ylabel("month-end balance (yuan)")
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:,.0f}"))
    axes.grid(axis="y", alpha=0.3)


def _coverage_panel(axes: Axes, months: Sequence[MonthFigures], bands: Sequence[Band]) -> None:
    nan = float("nan")
    coverage = [
        nan if m.months_of_coverage is None else float(m.months_of_coverage) for m in months
    ]
    full = [c if m.window_months >= 12 else nan for c, m in zip(coverage, months, strict=True)]
    young = [c if m.window_months < 12 else nan for c, m in zip(coverage, months, strict=True)]
    first_full = next((i for i, m in enumerate(months) if m.window_months >= 12), None)
    if first_full is not None and first_full > 0:
        young[first_full] = coverage[first_full]  # the dotted stretch joins the solid line
    xs = range(len(months))
    axes.plot(
        xs,
        full,
        color="#7f3f00",
        marker="o",
        markersize=3,
        linewidth=1.6,
        label="trailing 12 months",
    )
    if first_full != 0:
        axes.plot(
            xs,
            young,
            color="#7f3f00",
            marker="o",
            markersize=3,
            linewidth=1.2,
            linestyle=":",
            label="fewer than 12 months on the books",
        )
    known = [c for c in coverage if not math.isnan(c)]
    edges = [float(b.from_months) for b in bands if b.from_months is not None]
    low_limit = min([*known, 0.0]) * 1.1
    high_limit = max([*known, *edges, 3.0]) * 1.15
    axes.set_ylim(low_limit, high_limit)
    for band in bands:
        low = low_limit if band.from_months is None else float(band.from_months)
        high = high_limit if band.to_months is None else float(band.to_months)
        colour = LEVEL_COLOURS.get(band.level.value, "#EEEEEE")
        axes.axhspan(low, high, color=colour, alpha=0.35, linewidth=0)
        axes.text(
            len(months) - 0.4,
            (low + min(high, high_limit)) / 2,
            band.label,
            fontsize=7,
            va="center",
            ha="left",
            color="#444444",
        )
    axes.set_ylabel("months of coverage\n(balance ÷ average monthly\nexpense, trailing 12 months)")
    axes.grid(axis="y", alpha=0.3)
    axes.legend(loc="upper left", fontsize=8)
