"""What every workbook shares: number formats, level colours, styles, sheet names, writing.

Amounts arrive as decimal strings of yuan and are written as numbers exactly as given (a
``Decimal`` from the string, never float arithmetic on fen), shown with thousands separators
and two decimals. XlsxWriter is imported only when a workbook is written.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from domain.errors import InvalidInput

MONEY = "#,##0.00"
PERCENT = "0.00%"
MONTHS = "0.00"


LEVEL_COLOURS = {
    "red": "#F4B6B6",
    "orange": "#F9D3A6",
    "yellow": "#FFF2A8",
    "blue": "#BFD7F2",
    "green": "#C8E6C1",
}
"""Cell fills (and chart bands) for the warning levels."""


class Styles:
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
            sheet.write_number(row, col, exact(value), self._numbers[key])

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


def exact(text: str) -> Decimal:
    """The decimal string as a Decimal: written to the sheet digit for digit."""
    value = Decimal(str(text))
    if not value.is_finite():
        raise InvalidInput(f"{text!r} is not a number", field="amount")
    return value


_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def sheet_names(wanted: list[str]) -> list[str]:
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


def new_workbook(target: Path | BinaryIO) -> Any:
    """A workbook written to a file, or into a byte buffer (an HTTP response)."""
    import xlsxwriter  # type: ignore[import-untyped]

    return xlsxwriter.Workbook(str(target) if isinstance(target, Path) else target)


def close_workbook(workbook: Any, path: Path | BinaryIO) -> None:
    """Write the workbook out; a file that cannot be written is the user's to fix."""
    from xlsxwriter.exceptions import FileCreateError  # type: ignore[import-untyped]

    try:
        workbook.close()
    except FileCreateError as error:
        raise InvalidInput(f"cannot write {path}: {error}", field="output") from None
