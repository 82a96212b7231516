"""The budget file: ``line,amount`` CSV, read alike by the CLI and the HTTP API.

UTF-8 (with or without BOM), header ``line,amount``; one statement line id per row and its
budget in yuan (``benefit,1950000000.00``); a line left out is budgeted at zero
(docs/projections.md §4). Every problem is told, with its line number, and nothing is
taken from a file with any problem.
"""

from __future__ import annotations

import csv
import io

from domain.budgets import MAX_BUDGET_LINES, parse_budget_lines
from domain.errors import DomainError, InvalidInput
from domain.lines import Line

MAX_BUDGET_FILE_BYTES = 64 * 1024
"""A budget has 13 lines: a file this large is a mistake, not a budget."""


def read_budget_csv(data: bytes, source: str) -> dict[Line, int]:
    """The budget lines of a ``line,amount`` file.

    Raises:
        InvalidInput: every problem of the file, one per ``problems`` entry, each as
            ``source:line: field: reason``.
    """
    problems: list[str] = []
    pairs: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for number, row in _data_rows(data, source):
        if len(pairs) + len(problems) >= MAX_BUDGET_LINES:
            problems.append(f"{source}:{number}: file: more than {MAX_BUDGET_LINES} rows")
            break
        if len(row) != 2:
            problems.append(f"{source}:{number}: row: one line id and one amount per row")
            continue
        key = row[0].strip()
        try:
            parse_budget_lines([(key, row[1])])
        except DomainError as error:
            problems.append(f"{source}:{number}: {error.field or 'row'}: {error.message}")
            continue
        if key in seen:
            problems.append(f"{source}:{number}: line: {key} is already given on line {seen[key]}")
            continue
        seen[key] = number
        pairs.append((key, row[1]))
    if not problems:
        try:
            return parse_budget_lines(pairs)
        except DomainError as error:
            problems.append(f"{source}:2: {error.field or 'file'}: {error.message}")
    _refuse(problems, source)
    raise AssertionError("unreachable")


def _data_rows(data: bytes, source: str) -> list[tuple[int, list[str]]]:
    """The file's non-blank rows under a ``line,amount`` header, by physical line."""
    if len(data) > MAX_BUDGET_FILE_BYTES:
        _refuse([f"{source}:1: file: larger than {MAX_BUDGET_FILE_BYTES} bytes"], source)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        _refuse([f"{source}:{line}: file: not UTF-8 (byte {error.start + 1})"], source)
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as error:
        _refuse([f"{source}:1: file: not a CSV file ({error})"], source)
    header = [c.strip().lower() for c in rows[0]] if rows else []
    if header != ["line", "amount"]:
        _refuse([f"{source}:1: header: the header row is 'line,amount'"], source)
    return [(n, row) for n, row in enumerate(rows[1:], start=2) if any(c.strip() for c in row)]


def _refuse(problems: list[str], source: str) -> None:
    summary = f"{source}: {len(problems)} problem(s); nothing was written"
    raise InvalidInput(summary, field="file", problems=(*problems, summary))
