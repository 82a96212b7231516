"""What a new user met when trying every README command, each fixed and kept fixed.

A wrong ``--db`` is one line and exit 2 (a closed port too; 75 when the store does not answer
in time), a read never
creates an empty SQLite file, money is never cut in a 120-column terminal, every read
command honours ``--format`` and ``--output`` alike, one spelling per option, ``--version``,
a postings file names the line of an encoding error or an oversized field, and listing the
commands loads none of the heavy libraries.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from api.cli import common
from domain.today import china_today
from tests.test_cli import GOOD_ROWS, HEADER, ok, open_funds, refused, run, write_csv


@pytest.fixture(autouse=True)
def _principal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUNDLEDGER_PRINCIPAL", "cli:tester")


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/x.db"


@pytest.fixture
def posted(db: str, tmp_path: Path) -> str:
    open_funds(db)
    ok("import", str(write_csv(tmp_path / "good.csv", GOOD_ROWS)), "--db", db)
    return db


# ----------------------------------------------------------------------------- wrong --db


def test_a_read_on_a_missing_sqlite_file_refuses_and_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "typo.db"
    result = refused("ratios", "--year", "2024", "--db", f"sqlite:///{target}")
    assert result.stderr.splitlines() == [
        f"db: there is no store at {target}: run 'fundledger init' first (or name the right "
        "file with --db)"
    ]
    assert not target.exists()


def test_a_folder_that_does_not_exist_is_one_line_and_exit_2(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "folder.db"
    result = refused("init", "--db", f"sqlite:///{target}")
    assert result.stderr.splitlines() == [
        f"db: cannot create {target}: the folder {target.parent} does not exist"
    ]
    assert not target.parent.exists()


@pytest.mark.postgres
def test_an_unknown_postgres_database_is_the_users_mistake(postgres_url: str) -> None:
    wrong = postgres_url.replace("/test?", "/no_such_database_here?")
    result = refused("statement", "resident:140100", "--year", "2024", "--db", wrong)
    (line,) = result.stderr.splitlines()
    assert line.startswith("db: the store refused the connection: ")
    assert 'database "no_such_database_here" does not exist' in line


def test_a_closed_port_is_one_line_and_exit_2() -> None:
    result = run("ratios", "--year", "2024", "--db", "postgresql://postgres@127.0.0.1:1/test")
    assert result.exit_code == common.EXIT_REFUSED == 2, (result.stdout, result.stderr)
    (line,) = result.stderr.splitlines()
    assert line.startswith("db: the store refused the connection: ")
    assert "Connection refused" in line


def test_a_store_that_does_not_answer_in_time_is_retryable_exit_75() -> None:
    from api.storage import store_failure

    timeout = OSError("connection timeout expired")
    failure = store_failure(_operational(timeout))
    assert failure is not None
    assert common.report(failure) == common.EXIT_RETRYABLE == 75


# --------------------------------------------------------------------------- money in tables


def test_ratios_never_cut_money_in_a_120_column_terminal(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_funds(db)
    rows = [
        "resident:140100,contribution,,,1234567890123.45,2024-11-02,BIG-1,,,,",
        "resident:140100,benefit,,,987654321098.76,2024-11-03,BIG-2,,,,",
    ]
    ok("import", str(write_csv(tmp_path / "big.csv", rows)), "--db", db)
    monkeypatch.setattr(common.out, "width", 120)
    text = ok("ratios", "--year", "2024", "--db", db).stdout
    assert "…" not in text
    line = next(x for x in text.splitlines() if x.startswith("resident:140100"))
    assert "1,234,567,890,123.45" in line
    assert "987,654,321,098.76" in line
    assert "246,913,574,024.69" in line  # closing: 5000.00 + income − expense


def test_every_table_groups_thousands(posted: str) -> None:
    statement = ok("statement", "resident:140100", "--year", "2024", "--db", posted).stdout
    assert "10,000.00" in statement
    events = ok("events", "resident:140100", "--db", posted).stdout
    assert "9,796.74" in events
    ok("enrolment", "record", "resident:140100", "--year", "2024", "--county", "140105",
       "--enrolled", "1200000", "--db", posted)  # fmt: skip
    subsidies = ok("subsidies", "--year", "2024", "--db", posted).stdout
    assert "4,000.00" in subsidies
    assert "1,200,000" in subsidies  # the enrolled count too


# ------------------------------------------------------------------------ --format / --output


def test_events_csv_is_csv(posted: str) -> None:
    text = ok("events", "resident:140100", "--format", "csv", "--db", posted).stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["version"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert [r["reference"] for r in rows[1:]] == ["C-1", "S-1", "B-1", "L-1"]
    assert [r["amount"] for r in rows[1:]] == ["6000.00", "4000.00", "9796.74", "100.00"]
    assert {r["recorded_by"] for r in rows} == {"cli:tester"}
    assert all(r["chain_ok"] == "true" for r in rows)


@pytest.mark.parametrize(
    ("command", "check"),
    [
        ("statement resident:140100 --year 2024 --format json", "json"),
        ("statement resident:140100 --year 2024 --format csv", "csv"),
        ("statement resident:140100 --year 2024", "table"),
        ("events resident:140100 --format json", "json"),
        ("ratios --year 2024 --format csv", "csv"),
        ("warnings --year 2024 --format json", "json"),
        ("subsidies --year 2024 --format csv", "csv"),
        ("projections status --format json", "json"),
    ],
)
def test_output_writes_the_same_as_stdout(
    posted: str, tmp_path: Path, command: str, check: str
) -> None:
    target = tmp_path / f"out.{check}"
    shown = ok(command, "--db", posted).stdout
    written = ok(command, "--output", str(target), "--db", posted)
    assert written.stdout.startswith(f"{target}: ")
    text = target.read_text("utf-8")
    if check == "json":
        assert json.loads(text) == json.loads(shown)
    elif check == "csv":
        assert text == shown
    else:
        assert "5,103.26" in text
        assert "closing balance" in text


def test_warnings_xlsx(posted: str, tmp_path: Path) -> None:
    refused_xlsx = refused("warnings", "--year", "2024", "--format", "xlsx", "--db", posted)
    assert refused_xlsx.stderr.strip() == "output: --format xlsx needs --output FILE"
    target = tmp_path / "warnings.xlsx"
    ok("warnings", "--year", "2024", "--format", "xlsx", "--output", str(target), "--db", posted)
    with zipfile.ZipFile(target) as book:
        shared = book.read("xl/sharedStrings.xml").decode()
    assert "Warnings 2024" in shared


def test_an_output_that_cannot_be_written_is_refused(posted: str, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "s.json"
    result = refused(
        "statement resident:140100 --year 2024 --format json --output", str(target), "--db", posted
    )
    assert result.stderr.startswith(f"output: cannot write {target}: ")


# ------------------------------------------------------------------------------- spellings


def test_subsidies_takes_the_fund_positionally(posted: str) -> None:
    one = json.loads(
        ok(
            "subsidies", "resident:140100", "--year", "2024", "--format", "json", "--db", posted
        ).stdout
    )
    assert [row["fund"] for row in one] == ["resident:140100"]
    assert run("subsidies", "--fund", "resident:140100", "--year", "2024").exit_code == 2


def test_version() -> None:
    from importlib.metadata import version

    assert ok("--version").stdout.strip() == f"fundledger {version('fundledger')}"


# --------------------------------------------------------------------------- postings file


def test_a_gbk_file_names_its_line(db: str, tmp_path: Path) -> None:
    open_funds(db)
    rows = [*GOOD_ROWS[:2], "resident:140100,contribution,,,1.00,2024-11-02,G-1,,,,个人缴费"]
    path = tmp_path / "gbk.csv"
    path.write_bytes(("\n".join([HEADER, *rows]) + "\n").encode("gbk"))
    result = refused("import", str(path), "--db", db)
    assert result.stderr.splitlines()[0] == (
        f"{path}:4: file: byte 0xb8 is not UTF-8 text (a file saved as GBK or another "
        "encoding: save it as UTF-8)"
    )


def test_an_oversized_field_names_its_line(db: str, tmp_path: Path) -> None:
    open_funds(db)
    huge = "x" * (csv.field_size_limit() + 1)
    rows = [GOOD_ROWS[0], "", f'resident:140100,contribution,,,1.00,2024-11-02,H-1,,,,"{huge}"']
    path = write_csv(tmp_path / "huge.csv", rows)
    result = refused("import", str(path), "--db", db)
    assert result.stderr.splitlines()[0] == (
        f"{path}:4: file: a field is longer than {csv.field_size_limit()} characters"
    )
    assert "nothing was written" in result.stderr


def test_a_value_date_after_today_names_its_line(db: str, tmp_path: Path) -> None:
    """A row dated after today in China is refused by its line; the file writes nothing."""
    open_funds(db)
    today = china_today()
    tomorrow = (today + timedelta(days=1)).isoformat()
    rows = [GOOD_ROWS[0], f"resident:140100,interest,,,1.00,{tomorrow},T-1,,,,"]
    path = write_csv(tmp_path / "ahead.csv", rows)
    result = refused("import", str(path), "--db", db)
    assert result.stderr.splitlines()[0] == (
        f"{path}:3: value_date: {tomorrow} is after today ({today.isoformat()} in China): "
        "a value date is the day the cash moved"
    )
    assert "nothing was written" in result.stderr


# ---------------------------------------------------------------------------- start-up cost


def test_listing_the_commands_loads_no_heavy_library() -> None:
    code = (
        "import sys, api.cli; "
        "heavy = ('matplotlib', 'xlsxwriter', 'uvicorn', 'fastapi', 'api.demo', 'api.exports'); "
        "print(sorted(m for m in sys.modules if m.startswith(heavy) or m.startswith('clearing')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"


def _operational(cause: BaseException) -> BaseException:
    """A psycopg OperationalError caused by ``cause``, as a failed connection raises it."""
    import psycopg

    try:
        raise psycopg.OperationalError(str(cause)) from cause
    except psycopg.OperationalError as error:
        return error


def _command_paths() -> list[list[str]]:
    """The words of every command and group of the CLI, from its own command tree."""
    import typer.main

    from api.cli.app import app

    found: list[list[str]] = []

    def walk(command: Any, words: list[str]) -> None:
        found.append(words)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*words, name])

    walk(typer.main.get_command(app), [])
    return found


def test_every_help_text_is_plain_text() -> None:
    """Each command's help reads as text in a terminal: no source markup (``--post`` showed
    its backquotes in 'levy --help', 'events --help' and 'audit export --help')."""
    paths = _command_paths()
    assert len(paths) > 40  # every command, not only the top level
    for words in paths:
        result = run(" ".join([*words, "--help"]))
        assert result.exit_code == 0, (words, result.output)
        assert "``" not in result.output, (words, result.output)
