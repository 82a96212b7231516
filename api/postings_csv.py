"""Reading postings (docs/contract.md, "Postings file"): every row checked, every problem told.

One parser for every way postings arrive: a file on the command line, a ``text/csv`` upload
and a JSON array over HTTP. A problem is reported as ``name:line: field: reason``; in a file
the line is the physical line (the header is line 1), so that a finance officer can open the
file and find it, and that holds for a problem of the file itself too (a byte that is not
UTF-8, a field over the size limit); in a JSON array row N is the array's Nth element.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from api.schemas import POSTING_COLUMNS, REQUIRED_COLUMNS, PostingIn, validation_problems
from domain.errors import InvalidInput
from domain.postings import Posting

MAX_ROWS = 2_000_000
"""The most rows one file may carry (split larger files)."""

BOM = b"\xef\xbb\xbf"


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
    name: str = "batch"


def read_postings(path: Path) -> ParsedFile:
    """Parse and check every row of a postings file; nothing is written here."""
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        return ParsedFile([], [], [FileProblem(name, 0, "file", reason)], name)
    return parse_postings(data, name)


def parse_postings(data: bytes, name: str) -> ParsedFile:
    """Parse and check every row of a postings file given as bytes (UTF-8, BOM or none)."""
    body = data.removeprefix(BOM)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        line = body[: error.start].count(b"\n") + 1
        reason = (
            f"byte {body[error.start]:#04x} is not UTF-8 text (a file saved as GBK or another "
            "encoding: save it as UTF-8)"
        )
        return ParsedFile([], [], [FileProblem(name, line, "file", reason)], name)
    return _read(name, csv.reader(io.StringIO(text, newline="")))


def rows_postings(rows: Sequence[Any], name: str = "body") -> ParsedFile:
    """Parse and check postings given as JSON objects (the columns of the postings file);
    row N is the Nth element of the array, counted from 1."""
    postings: list[Posting] = []
    lines: list[int] = []
    problems: list[FileProblem] = []
    for number, row in enumerate(rows, start=1):
        if len(postings) + len(problems) >= MAX_ROWS:
            problems.append(FileProblem(name, number, "row", f"more than {MAX_ROWS} rows"))
            break
        if not isinstance(row, Mapping):
            problems.append(FileProblem(name, number, "row", "a row is a JSON object"))
            continue
        problems.extend(_add(_parse_row(name, number, row), number, (postings, lines)))
    return ParsedFile(postings, lines, problems, name)


def _parse_row(name: str, line_no: int, row: Mapping[str, Any]) -> Posting | list[FileProblem]:
    """The row's posting, or every problem of the row."""
    try:
        return PostingIn.model_validate(row).to_posting()
    except ValidationError as error:
        return [FileProblem(name, line_no, f, r) for f, r in validation_problems(error)]
    except InvalidInput as error:
        return [FileProblem(name, line_no, error.field or "row", error.message)]


def _add(
    parsed: Posting | list[FileProblem], line_no: int, into: tuple[list[Posting], list[int]]
) -> list[FileProblem]:
    """Keep a row's posting with its line; answer its problems (none when it parsed)."""
    if isinstance(parsed, list):
        return parsed
    into[0].append(parsed)
    into[1].append(line_no)
    return []


def _read(name: str, reader: Any) -> ParsedFile:
    try:
        header = next(reader, None)
    except csv.Error as error:
        return ParsedFile([], [], [_csv_problem(name, 1, error)], name)
    if header is None:
        return ParsedFile([], [], [FileProblem(name, 1, "header", "the file is empty")], name)
    columns = [c.strip() for c in header]
    problems = _header_problems(name, columns)
    if problems:
        return ParsedFile([], [], problems, name)
    postings: list[Posting] = []
    lines: list[int] = []
    for line_no, values in _rows(name, reader, problems):
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
        problems.extend(_add(_parse_row(name, line_no, row), line_no, (postings, lines)))
    return ParsedFile(postings, lines, problems, name)


def _rows(name: str, reader: Any, problems: list[FileProblem]) -> Iterator[tuple[int, list[str]]]:
    """Non-blank rows with the physical line each starts on.

    A row the CSV reader cannot read (a field over the size limit, a NUL byte) ends the
    reading with a problem naming its line: what follows it cannot be trusted to be split
    into the rows the author meant.
    """
    line_no = reader.line_num
    while True:
        start = line_no + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            problems.append(_csv_problem(name, start, error))
            return
        line_no = reader.line_num
        if not any(v.strip() for v in values):
            continue
        yield start, values


def _csv_problem(name: str, line: int, error: csv.Error) -> FileProblem:
    text = str(error)
    if "field larger than field limit" in text:
        reason = f"a field is longer than {csv.field_size_limit()} characters"
    elif "NUL" in text:
        reason = "the line holds a NUL byte: this is not a text file"
    else:
        reason = f"is not valid CSV: {text}"
    return FileProblem(name, line, "file", reason)


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
