"""The ``fundledger`` command line, end to end on a real store (docs/contract.md).

Every figure expected here is worked out by hand from the postings in the test.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from api.cli import app

HEADER = "fund,line,sub_line,level,amount,value_date,reference,county,counterparty,purpose,memo"
GOOD_ROWS = (
    "resident:140100,contribution,individual,,6000.00,2024-11-02,C-1,140105,,,",
    "resident:140100,subsidy,standard,central,4000.00,2024-06-30,S-1,,,,",
    "resident:140100,benefit,inpatient,,9796.74,2024-03-31,B-1,,,,",
    "resident:140100,to_upper,,,100.00,2024-12-20,L-1,,adjustment:140000,adjustment_levy,"
    "年度调剂金上解",
    "resident:140200,contribution,,,2000000.00,2024-12-01,C-1,,,,",
    "resident:140200,benefit,outpatient,,1999999.00,2024-12-02,B-1,,,,",
)
"""Worked by hand:

resident:140100, 2024, opening 5000.00
  income subtotal 6000.00 + 4000.00 = 10000.00; expense subtotal 9796.74; to_upper 100.00
  current surplus 10000.00 − 9796.74 − 100.00 = 103.26; closing 5103.26
  current surplus rate (10000.00 − 9796.74) / 10000.00 = 0.020326
  accumulated balance rate 5103.26 / 10000.00 = 0.510326
  months of coverage 5103.26 × 12 / 9796.74 = 6.250969… → 6.2510
resident:140200, 2024, opening 0.00
  surplus rate 1.00 / 2000000.00 = 0.0000005 → 0.000001 (half up, not to even)
  months of coverage 1.00 × 12 / 1999999.00 = 0.000006 → 0.0000
adjustment:140000, 2024: from_lower 100.00 only; no income subtotal, no expense: ratios null
"""


def run(command: str, *args: str) -> Result:
    """``fundledger`` with the words of ``command`` and then ``args`` (paths, URLs) as given."""
    return CliRunner().invoke(app, [*command.split(), *args])


def ok(command: str, *args: str) -> Result:
    result = run(command, *args)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def refused(command: str, *args: str) -> Result:
    result = run(command, *args)
    assert result.exit_code == 2, (result.stdout, result.stderr, result.exception)
    return result


def write_csv(path: Path, rows: Sequence[str], *, header: str = HEADER, bom: bool = False) -> Path:
    text = "\n".join([header, *rows]) + "\n"
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    return path


def open_funds(db: str) -> None:
    ok(
        "funds open resident:140100 --first-year 2024 --opening-balance 5000.00 --name 太原市",
        "--db",
        db,
    )
    ok("funds", "open", "resident:140200", "--first-year", "2024", "--db", db)
    ok("funds", "open", "adjustment:140000", "--first-year", "2024", "--db", db)


def statement_json(db: str, fund: str, year: int = 2024) -> dict[str, Any]:
    result = ok("statement", fund, "--year", str(year), "--format", "json", "--db", db)
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def event_count(db: str, fund: str) -> int:
    result = ok("events", fund, "--db", db)
    return int(result.stderr.split("chain intact: ")[1].split(" events")[0])


@pytest.fixture(autouse=True)
def _principal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every write of these tests is recorded as made by ``cli:tester``."""
    monkeypatch.setenv("FUNDLEDGER_PRINCIPAL", "cli:tester")


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/x.db"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/x.db"
    url = request.getfixturevalue("postgres_url")
    assert isinstance(url, str)
    return url


# ------------------------------------------------------------------------------------ init


def test_init_then_commands_work_and_before_init_they_refuse(db: str, tmp_path: Path) -> None:
    message = "run 'fundledger init' first"
    assert message in refused("statement", "resident:140100", "--year", "2024", "--db", db).stderr
    good = write_csv(tmp_path / "good.csv", GOOD_ROWS)
    assert message in refused("import", str(good), "--db", db).stderr
    result = ok("init", "--db", db)
    assert "initialised 31 provinces' tables and the read models" in result.stdout
    ok("init", "--db", db)  # once per store, and harmless again
    result = refused("statement", "resident:140100", "--year", "2024", "--db", db)
    assert result.stderr.strip() == "fund: resident:140100 is not registered"


# ------------------------------------------------------------------------------ funds open


def test_funds_open(any_db: str) -> None:
    db = any_db
    result = ok(
        "funds open resident:140100 --first-year 2023 --opening-balance 35226.00", "--db", db
    )
    assert result.stdout.strip() == (
        "resident:140100 opened: books from 2023, opening balance 35226.00"
    )
    result = ok(
        "funds open resident:140100 --first-year 2023 --opening-balance 35226.00", "--db", db
    )
    assert "resident:140100 already open: books from 2023" in result.stdout
    result = refused(
        "funds open resident:140100 --first-year 2024 --opening-balance 35226.00", "--db", db
    )
    assert result.stderr.strip() == (
        "fund: resident:140100 is already open (first year 2023); its particulars cannot be changed"
    )
    refused("funds", "open", "resident:140100", "--first-year", "2023", "--db", db)
    statement = statement_json(db, "resident:140100", 2023)
    assert statement["opening_balance"] == "35226.00"
    assert statement["closing_balance"] == "35226.00"
    assert event_count(db, "resident:140100") == 1


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["pension:140100", "--first-year", "2023"], "fund: 'pension' is not a fund scheme"),
        (["resident:14010", "--first-year", "2023"], "fund: '14010' is not a 6-digit"),
        (["resident:140100", "--first-year", "1990"], "first_year: first year 1990 is outside"),
        (
            ["resident:140100", "--first-year", "2023", "--opening-balance", "12.001"],
            "opening_balance: '12.001' is not an amount",
        ),
        (
            ["resident:140100", "--first-year", "2023", "--opening-balance", "1e3"],
            "opening_balance: '1e3' is not an amount",
        ),
    ],
)
def test_funds_open_refusals(db: str, args: list[str], problem: str) -> None:
    result = refused("funds", "open", *args, "--db", db)
    assert result.stderr.startswith(problem), result.stderr
    assert "not registered" in refused("events", "resident:140100", "--db", db).stderr


# ---------------------------------------------------------------------------------- import


@pytest.mark.parametrize("bom", [False, True])
def test_import_then_reimport(db: str, tmp_path: Path, bom: bool) -> None:
    open_funds(db)
    good = write_csv(tmp_path / "good.csv", GOOD_ROWS, bom=bom)
    result = ok("import", str(good), "--db", db)
    assert result.stdout.strip() == f"{good}: 6 posted, 0 duplicates skipped"
    first = statement_json(db, "resident:140100")
    assert first["income"]["subtotal"] == "10000.00"
    result = ok("import", str(good), "--db", db)
    assert result.stdout.strip() == f"{good}: 0 posted, 6 duplicates skipped"
    assert statement_json(db, "resident:140100") == first
    assert event_count(db, "resident:140100") == 5
    assert event_count(db, "adjustment:140000") == 2
    # a file that repeats two rows and adds one: only the new row is posted
    more = write_csv(
        tmp_path / "more.csv",
        [GOOD_ROWS[0], "resident:140100,interest,,,3.21,2024-12-31,I-1,,,,", GOOD_ROWS[2]],
    )
    result = ok("import", str(more), "--db", db)
    assert result.stdout.strip() == f"{more}: 1 posted, 2 duplicates skipped"
    assert statement_json(db, "resident:140100")["income"]["interest"] == "3.21"


BAD_FILE = (
    "resident:140100,contribution,individual,,1200.00,2024-11-02,C-1,,,,",  # 2: good
    "resident:140100,benefit,inpatient,,12.001,2024-03-31,B-1,,,,",  # 3
    'resident:140100,benefit,inpatient,,100.00,2024-03-31,B-2,,,,"a memo on',  # 4: good,
    'two lines"',  # 5: (the same record)
    "",  # 6: blank
    "resident:140100,subsidy,standard,,5000.00,2024-06-30,S-1,,,,",  # 7
    "resident:140300,benefit,,,1.00,2024-03-31,B-3,,,,",  # 8
    "resident:140100,benefit,,,1.00,2023-12-31,B-4,,,,",  # 9
    "resident:140100,bonus,,,1.00,2024-03-31,B-5,,,,",  # 10
    "resident:140100,to_upper,,,1.00,2024-12-20,L-1,,resident:140200,,",  # 11
    "resident:140100,benefit,,,1.00,2024-13-01,B-6,,,,",  # 12
    "resident:140100,benefit,,,1.00,2024-03-31,,,,,",  # 13
    "resident:140100,benefit,,1.00",  # 14
    "resident:140100,benefit,,,1.00,2024-03-31,B-7,140205,,,",  # 15
    "pension:140100,benefit,,,1.00,2024-03-31,B-8,,,,",  # 16
    "resident:140100,benefit,,,1.00,2024-03-31,C-1,,,,",  # 17: C-1 of line 2, other content
    "resident:140100,benefit,,,1.00,2024-04-01,B-9,,,,",  # 18: good
)
BAD_FILE_PROBLEMS = (
    (3, "amount", "'12.001' is not an amount of yuan with at most two decimals"),
    (7, "level", "a subsidy names the level that paid it"),
    (8, "fund", "resident:140300 is not registered"),
    (9, "value_date", "resident:140100 keeps its books from 2024; 2023-12-31 is before that"),
    (10, "line", "'bonus' is not one of"),
    (
        11,
        "counterparty",
        "a to_upper from resident:140100 must go to a fund of a higher level; "
        "resident:140200 is not",
    ),
    (12, "value_date", "'2024-13-01' is not a date YYYY-MM-DD"),
    (13, "reference", ""),
    (14, "row", "has 4 fields, the header 11"),
    (15, "county", "'140205' is not a county inside the fund's region 140100"),
    (16, "fund", "'pension' is not a fund scheme"),
    (17, "reference", "reference 'C-1' was already posted on resident:140100 with other content"),
)


def test_a_bad_file_reports_every_bad_row_and_writes_nothing(any_db: str, tmp_path: Path) -> None:
    db = any_db
    open_funds(db)
    before = statement_json(db, "resident:140100")
    bad = write_csv(tmp_path / "bad.csv", BAD_FILE)
    result = refused("import", str(bad), "--db", db)
    lines = result.stderr.splitlines()
    assert len(lines) == len(BAD_FILE_PROBLEMS) + 1, result.stderr
    for line, (number, field, reason) in zip(lines, BAD_FILE_PROBLEMS, strict=False):
        assert line.startswith(f"{bad}:{number}: {field}: {reason}"), (line, number)
    assert lines[-1] == f"{bad}: {len(BAD_FILE_PROBLEMS)} problem(s); nothing was written"
    assert result.stdout == ""
    assert statement_json(db, "resident:140100") == before
    assert event_count(db, "resident:140100") == 1
    # the good rows alone go in, and the multi-line memo was read as one record
    good_rows = [BAD_FILE[0], "\n".join(BAD_FILE[2:4]), BAD_FILE[-1]]
    good = write_csv(tmp_path / "good.csv", good_rows)
    assert ok("import", str(good), "--db", db).stdout.strip() == (
        f"{good}: 3 posted, 0 duplicates skipped"
    )
    after = statement_json(db, "resident:140100")
    assert after["income"]["contribution.individual"] == "1200.00"
    assert after["expense"]["benefit"] == "101.00"
    assert after["closing_balance"] == "6099.00"


def test_an_empty_required_cell_is_reported_as_required(db: str, tmp_path: Path) -> None:
    open_funds(db)
    path = write_csv(
        tmp_path / "empty.csv",
        [
            ",benefit,1.00,2024-01-01,R-1",
            "resident:140100,,1.00,2024-01-01,R-2",
            "resident:140100,benefit,1.00,,R-3",
            "resident:140100,benefit,1.00,2024-01-01,",
        ],
        header="fund,line,amount,value_date,reference",
    )
    result = refused("import", str(path), "--db", db)
    assert result.stderr.splitlines()[:4] == [
        f"{path}:2: fund: is required",
        f"{path}:3: line: is required",
        f"{path}:4: value_date: is required",
        f"{path}:5: reference: is required",
    ]


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        ("12.001", "'12.001' is not an amount of yuan with at most two decimals"),
        ("1e3", "'1e3' is not an amount of yuan"),
        ("NaN", "'NaN' is not an amount of yuan"),
        ("", "'' is not an amount of yuan"),
        ("-5.00", "'-5.00' must be a positive amount"),
        ("0.00", "'0.00' must be a positive amount"),
        ("10000000000000.00", "'10000000000000.00' is 10^13 yuan or more"),
        ("1,000.00", None),
        ("¥5.00", None),
    ],
)
def test_bad_amounts_are_refused(db: str, tmp_path: Path, amount: str, reason: str | None) -> None:
    open_funds(db)
    cell = f'"{amount}"' if "," in amount else amount
    bad = write_csv(
        tmp_path / "amount.csv",
        [
            "resident:140100,interest,,,1.00,2024-01-31,I-1,,,,",
            f"resident:140100,interest,,,{cell},2024-01-31,I-2,,,,",
        ],
    )
    result = refused("import", str(bad), "--db", db)
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{bad}:3: amount: {reason or ''}"), first
    assert event_count(db, "resident:140100") == 1


def test_the_largest_amount_is_accepted(db: str, tmp_path: Path) -> None:
    open_funds(db)
    big = write_csv(
        tmp_path / "big.csv", ["resident:140100,interest,,,9999999999999.99,2024-01-31,I-1,,,,"]
    )
    ok("import", str(big), "--db", db)
    assert statement_json(db, "resident:140100")["income"]["interest"] == "9999999999999.99"


@pytest.mark.parametrize(
    ("header", "problems"),
    [
        (
            "fund,line,amout,value_date,reference",
            ["amout: is not a column of a postings file", "amount: the required column is missing"],
        ),
        (
            "fund,line,amount,reference",
            ["value_date: the required column is missing"],
        ),
        (
            "fund,line,amount,value_date,reference,memo,memo",
            ["header: a column is named twice"],
        ),
    ],
)
def test_header_problems(db: str, tmp_path: Path, header: str, problems: list[str]) -> None:
    open_funds(db)
    width = header.count(",") + 1
    path = write_csv(tmp_path / "h.csv", [",".join(["x"] * width)], header=header)
    result = refused("import", str(path), "--db", db)
    assert result.stderr.splitlines() == [
        *(f"{path}:1: {p}" for p in problems),
        f"{path}: {len(problems)} problem(s); nothing was written",
    ]


def test_an_empty_file_and_a_missing_file(db: str, tmp_path: Path) -> None:
    open_funds(db)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert refused("import", str(empty), "--db", db).stderr.startswith(
        f"{empty}:1: header: the file is empty"
    )
    missing = tmp_path / "missing.csv"
    assert refused("import", str(missing), "--db", db).stderr.startswith(f"{missing}:0: file: ")


# ------------------------------------------------------------------------------- statement

CITY_INCOME = {
    "contribution": "6000.00",
    "contribution.individual": "6000.00",
    "subsidy": "4000.00",
    "subsidy.central": "4000.00",
    "subsidy.standard": "4000.00",
    "interest": "0.00",
    "other_income": "0.00",
    "transfer_in": "0.00",
    "subtotal": "10000.00",
    "from_upper": "0.00",
    "from_lower": "0.00",
    "total": "10000.00",
}
CITY_EXPENSE = {
    "benefit": "9796.74",
    "benefit.inpatient": "9796.74",
    "critical_illness": "0.00",
    "other_expense": "0.00",
    "transfer_out": "0.00",
    "subtotal": "9796.74",
    "to_lower": "0.00",
    "to_upper": "100.00",
    "total": "9896.74",
}


@pytest.fixture
def posted(any_db: str, tmp_path: Path) -> str:
    open_funds(any_db)
    ok("import", str(write_csv(tmp_path / "good.csv", GOOD_ROWS)), "--db", any_db)
    return any_db


def test_statement_json(posted: str) -> None:
    city = statement_json(posted, "resident:140100")
    assert (city["fund"], city["year"], city["view"], city["as_of"]) == (
        "resident:140100",
        2024,
        "restated",
        None,
    )
    assert city["opening_balance"] == "5000.00"
    assert city["income"] == CITY_INCOME
    assert list(city["income"]) == list(CITY_INCOME)
    assert city["expense"] == CITY_EXPENSE
    assert list(city["expense"]) == list(CITY_EXPENSE)
    assert city["current_surplus"] == "103.26"
    assert city["closing_balance"] == "5103.26"
    assert city["ratios"] == {
        "current_surplus_rate": "0.020326",
        "accumulated_balance_rate": "0.510326",
        "months_of_coverage": "6.2510",
    }
    city2 = statement_json(posted, "resident:140200")
    assert city2["ratios"] == {
        "current_surplus_rate": "0.000001",
        "accumulated_balance_rate": "0.000001",
        "months_of_coverage": "0.0000",
    }
    assert city2["expense"]["benefit.outpatient"] == "1999999.00"
    assert city2["closing_balance"] == "1.00"
    adjustment = statement_json(posted, "adjustment:140000")
    assert adjustment["income"]["from_lower"] == "100.00"
    assert adjustment["income"]["subtotal"] == "0.00"
    assert adjustment["income"]["total"] == "100.00"
    assert adjustment["closing_balance"] == "100.00"
    assert adjustment["ratios"] == {
        "current_surplus_rate": None,
        "accumulated_balance_rate": None,
        "months_of_coverage": None,
    }
    following = statement_json(posted, "resident:140100", 2025)
    assert following["opening_balance"] == "5103.26"
    assert following["income"]["subtotal"] == "0.00"
    assert following["closing_balance"] == "5103.26"


def test_statement_csv(posted: str) -> None:
    result = ok("statement", "resident:140100", "--year", "2024", "--format", "csv", "--db", posted)
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["section", "line", "amount"]
    cells = {(section, line): amount for section, line, amount in rows[1:]}
    assert len(cells) == len(rows) - 1
    expected = {
        ("balance", "opening_balance"): "5000.00",
        ("balance", "opening_balance_transfers"): "0.00",
        **{("income", k): v for k, v in CITY_INCOME.items()},
        **{("expense", k): v for k, v in CITY_EXPENSE.items()},
        ("balance", "current_surplus"): "103.26",
        ("balance", "closing_balance"): "5103.26",
        ("ratio", "current_surplus_rate"): "0.020326",
        ("ratio", "accumulated_balance_rate"): "0.510326",
        ("ratio", "months_of_coverage"): "6.2510",
        ("balance", "restatements"): "0.00",
        ("balance", "opening_balance_restatements"): "0.00",
        ("about", "view"): "restated",
    }
    assert cells == expected
    result = ok(
        "statement", "adjustment:140000", "--year", "2024", "--format", "csv", "--db", posted
    )
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert ["ratio", "current_surplus_rate", ""] in rows
    assert ["income", "from_lower", "100.00"] in rows


def table_row(text: str, label: str) -> list[str]:
    """The cells of a table's row (columns are two or more spaces apart)."""
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"\s{2,}", line.strip())]
        if cells and cells[0] == label:
            return cells
    raise AssertionError(f"no row {label!r} in:\n{text}")


def test_statement_table(posted: str) -> None:
    result = ok("statement", "resident:140100", "--year", "2024", "--db", posted)
    text = result.stdout
    assert "resident:140100 · 2024 · restated" in text
    assert table_row(text, "opening balance") == ["opening balance", "5,000.00"]
    assert table_row(text, "income subtotal") == ["income subtotal", "10,000.00"]
    assert table_row(text, "contribution.individual") == ["contribution.individual", "6,000.00"]
    assert table_row(text, "expense to_upper") == ["expense to_upper", "100.00"]
    assert table_row(text, "expense total") == ["expense total", "9,896.74"]
    assert table_row(text, "current surplus") == ["current surplus", "103.26"]
    assert table_row(text, "closing balance") == ["closing balance", "5,103.26"]
    assert table_row(text, "current surplus rate") == ["current surplus rate", "0.020326"]
    assert table_row(text, "months of coverage") == ["months of coverage", "6.2510"]
    result = ok("statement", "adjustment:140000", "--year", "2024", "--db", posted)
    assert table_row(result.stdout, "current surplus rate") == ["current surplus rate", "—"]


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["resident:140100", "--year", "2023"], "year: resident:140100 keeps its books from 2024"),
        (["resident:140300", "--year", "2024"], "fund: resident:140300 is not registered"),
        (["resident:14", "--year", "2024"], "fund: '14' is not a 6-digit"),
        (
            ["resident:140100", "--year", "2024", "--as-of", "2025-01-01T00:00:00"],
            "as_of: '2025-01-01T00:00:00' needs a UTC offset",
        ),
        (
            ["resident:140100", "--year", "2024", "--as-of", "yesterday"],
            "as_of: 'yesterday' is not an ISO 8601 time",
        ),
        (
            ["resident:140100", "--year", "2024", "--view", "as_closed"],
            "view: resident:140100 2024 is not closed",
        ),
    ],
)
def test_statement_refusals(db: str, tmp_path: Path, args: list[str], problem: str) -> None:
    open_funds(db)
    result = refused("statement", *args, "--db", db)
    assert result.stderr.startswith(problem), result.stderr


def test_statement_as_of(posted: str) -> None:
    opened = json.loads(ok("events", "resident:140100", "--format", "json", "--db", posted).stdout)
    opened_at = opened["events"][0]["recorded_at"]
    then = ok(
        "statement resident:140100 --year 2024 --format json --as-of", opened_at, "--db", posted
    )
    data = json.loads(then.stdout)
    assert (data["income"]["subtotal"], data["closing_balance"]) == ("0.00", "5000.00")
    assert data["as_of"] is not None
    later = ok(
        "statement resident:140100 --year 2024 --format json --as-of 2999-01-01T00:00:00+08:00",
        "--db",
        posted,
    )
    assert json.loads(later.stdout)["closing_balance"] == "5103.26"
    before = refused(
        "statement resident:140100 --year 2024 --as-of 2000-01-01T00:00:00+08:00", "--db", posted
    )
    assert before.stderr.startswith(
        "fund: resident:140100 is not registered as of 1999-12-31T16:00:00.000000+00:00"
    )


# ---------------------------------------------------------------------------------- events


def test_events(posted: str) -> None:
    result = ok("events", "resident:140100", "--db", posted)
    assert "resident:140100: 5 events" in result.stdout
    for name in (
        "Opened",
        "ContributionReceived",
        "SubsidyReceived",
        "BenefitPaid",
        "RemittedToUpper",
    ):
        assert name in result.stdout
    assert "chain intact: 5 events, head hash " in result.stderr
    as_json = ok("events", "resident:140100", "--format", "json", "--db", posted)
    page = json.loads(as_json.stdout)
    events = page["events"]
    assert page["next"] is None
    assert page["chain"]["ok"] is True
    assert page["chain"]["events"] == 5
    assert [e["version"] for e in events] == [1, 2, 3, 4, 5]
    assert all(e["chain_ok"] and e["findings"] == [] for e in events)
    assert events[0]["payload"]["opening_balance"] == "5000.00"
    assert events[0]["payload"]["name"] == "太原市"
    assert [e["payload"].get("reference") for e in events[1:]] == ["C-1", "S-1", "B-1", "L-1"]
    amounts = [e["payload"].get("amount") for e in events[1:]]
    assert amounts == ["6000.00", "4000.00", "9796.74", "100.00"]
    assert events[4]["payload"]["counterparty"] == "adjustment:140000"
    assert events[4]["payload"]["memo"] == "年度调剂金上解"
    assert {e["recorded_by"] for e in events} == {"cli:tester"}
    head = result.stderr.split("head hash ")[1].strip()
    assert head == events[-1]["chain_hash"] == page["chain"]["head"]
    assert [e["prev_hash"] for e in events[1:]] == [e["chain_hash"] for e in events[:-1]]
    mirror = json.loads(
        ok("events", "adjustment:140000", "--format", "json", "--db", posted).stdout
    )["events"]
    assert mirror[1]["payload"]["reference"] == "resident:140100#L-1"
    assert mirror[1]["payload"]["amount"] == "100.00"
    assert "not registered" in refused("events", "resident:140300", "--db", posted).stderr
