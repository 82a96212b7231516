"""Reading a postings file (CONTRACT.md "Postings file"): every row checked, every problem told.

A problem is reported as ``file:line: field: reason``; the line is the physical line of the
file (the header is line 1), so that a finance officer can open the file and find it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from api.schemas import POSTING_COLUMNS, REQUIRED_COLUMNS, PostingIn, validation_problems
from domain.errors import InvalidInput
from domain.postings import Posting

MAX_ROWS = 2_000_000
"""The most rows one file may carry (split larger files)."""


@dataclass(frozen=True)
class FileProblem:
    """One thing wrong with a file, where it is."""

    path: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: {self.reason}"


@dataclass(frozen=True)
class ParsedFile:
    """The postings of a file with the physical line of each, or the problems found."""

    postings: list[Posting]
    lines: list[int]
    problems: list[FileProblem]


def read_postings(path: Path) -> ParsedFile:
    """Parse and check every row of a postings file; nothing is written here."""
    name = str(path)
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as error:
        return ParsedFile([], [], [FileProblem(name, 0, "file", error.strerror or str(error))])
    with handle:
        try:
            return _read(name, handle)
        except UnicodeDecodeError:
            return ParsedFile([], [], [FileProblem(name, 0, "file", "is not UTF-8 text")])
        except csv.Error as error:
            return ParsedFile([], [], [FileProblem(name, 0, "file", f"is not valid CSV: {error}")])


def _read(name: str, handle: object) -> ParsedFile:
    reader = csv.reader(handle)  # type: ignore[arg-type]
    header = next(reader, None)
    if header is None:
        return ParsedFile([], [], [FileProblem(name, 1, "header", "the file is empty")])
    columns = [c.strip() for c in header]
    problems = _header_problems(name, columns)
    if problems:
        return ParsedFile([], [], problems)
    postings: list[Posting] = []
    lines: list[int] = []
    for line_no, values in _rows(reader):
        if len(postings) + len(problems) >= MAX_ROWS:
            problems.append(FileProblem(name, line_no, "file", f"more than {MAX_ROWS} rows"))
            break
        if len(values) != len(columns):
            problems.append(
                FileProblem(
                    name, line_no, "row", f"has {len(values)} fields, the header {len(columns)}"
                )
            )
            continue
        row = dict(zip(columns, values, strict=True))
        try:
            posting = PostingIn.model_validate(row).to_posting()
        except ValidationError as error:
            problems.extend(FileProblem(name, line_no, f, r) for f, r in validation_problems(error))
            continue
        except InvalidInput as error:
            problems.append(FileProblem(name, line_no, error.field or "row", error.message))
            continue
        postings.append(posting)
        lines.append(line_no)
    return ParsedFile(postings, lines, problems)


def _rows(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """Non-blank rows with the physical line each starts on."""
    line_no = reader.line_num  # type: ignore[attr-defined]
    for values in reader:
        start = line_no + 1
        line_no = reader.line_num  # type: ignore[attr-defined]
        if not any(v.strip() for v in values):
            continue
        yield start, values


def _header_problems(name: str, columns: list[str]) -> list[FileProblem]:
    problems = []
    for column in columns:
        if column not in POSTING_COLUMNS:
            problems.append(
                FileProblem(name, 1, column or "header", "is not a column of a postings file")
            )
    for column in REQUIRED_COLUMNS:
        if column not in columns:
            problems.append(FileProblem(name, 1, column, "the required column is missing"))
    if len(set(columns)) != len(columns):
        problems.append(FileProblem(name, 1, "header", "a column is named twice"))
    return problems
