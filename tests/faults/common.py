"""What the fault tests share: a populated store, and the read models as plain rows."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from api.bootstrap import bootstrap_app
from api.settings import Settings
from projections.db import connect
from projections.extras import registered
from projections.schema import INDEX_NAMES, TABLES
from tests.scenario import CITY, CITY2, PROVINCE_ADJUSTMENT, posting

ROOT = Path(__file__).resolve().parents[2]
READ_MODEL_TABLES = (
    *(name for name in TABLES if name not in ("fl_tracking", "fl_applied")),
    *(name for extra in registered() for name in extra.tables),
)


def postings_text(count: int, *, prefix: str = "P", year: int = 2025) -> list[str]:
    """``count`` postings on two city funds and an inter-level pair, references ``prefix-n``."""
    lines = []
    for n in range(count):
        fund = "resident:140100" if n % 2 == 0 else "resident:140200"
        day = f"{year}-{n % 12 + 1:02d}-{n % 27 + 1:02d}"
        if n % 10 == 9:
            lines.append(
                f"{fund} to_upper 1.{n % 100:02d} {day} {prefix}-{n} "
                "counterparty=adjustment:140000 purpose=adjustment_levy"
            )
        elif n % 3 == 0:
            lines.append(f"{fund} benefit/inpatient {n % 500 + 1}.25 {day} {prefix}-{n}")
        else:
            lines.append(f"{fund} contribution/individual {n % 700 + 3}.50 {day} {prefix}-{n}")
    return lines


def populate(url: str, postings: int = 300) -> None:
    """Three funds, ``postings`` postings, an enrolment with its correction and a closed year."""
    app = bootstrap_app(Settings(database_url=url))
    try:
        app.ledger.init(["140000"])
        app.read_models.create_tables()
        app.ledger.open_fund(CITY, first_year=2024, opening_balance_fen=1_000_000)
        app.ledger.open_fund(CITY2, first_year=2024, opening_balance_fen=500_000)
        app.ledger.open_fund(PROVINCE_ADJUSTMENT, first_year=2024)
        app.ledger.import_postings([posting(t) for t in postings_text(40, prefix="Y", year=2024)])
        app.ledger.record_enrolment(CITY, 2024, "140105", 1000)
        app.ledger.record_enrolment(CITY, 2024, "140105", 1200, correct=True)
        app.ledger.close_year(CITY, 2024, today=date(2025, 3, 1))
        app.ledger.import_postings([posting(t) for t in postings_text(postings)])
    finally:
        app.close()


def read_models(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every read-model row, table by table, in a fixed order (without catching up)."""
    db = connect(url)
    try:
        return {
            table: sorted(db.query(f"SELECT * FROM {table}"), key=repr)
            for table in READ_MODEL_TABLES
        }
    finally:
        db.close()


def rebuilt(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """The read models after a rebuild from the events (the reference to compare with)."""
    app = bootstrap_app(Settings(database_url=url))
    try:
        app.read_models.rebuild()
    finally:
        app.close()
    return read_models(url)


def caught_up(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """The read models after a catch-up by a new process's worth of objects."""
    app = bootstrap_app(Settings(database_url=url))
    try:
        app.read_models.catch_up()
    finally:
        app.close()
    return read_models(url)


def schema_objects(url: str) -> tuple[set[str], set[str]]:
    """The read-model tables and the indexes that exist in the store."""
    db = connect(url)
    try:
        if db.dialect == "sqlite":
            rows = db.query("SELECT type, name FROM sqlite_master")
            tables = {name for kind, name in rows if kind == "table"}
            indexes = {name for kind, name in rows if kind == "index"}
        else:
            tables = {
                r[0]
                for r in db.query(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                )
            }
            indexes = {
                r[0]
                for r in db.query(
                    "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
                )
            }
    finally:
        db.close()
    return tables, indexes


EXPECTED_INDEXES = frozenset(INDEX_NAMES)


def start_holding(url: str, mode: str, *, after_batches: int = 1) -> subprocess.Popen[bytes]:
    """Start :mod:`tests.faults.hold` and wait until it holds a batch written, uncommitted."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.faults.hold", url, mode, str(after_batches)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if line.strip() != b"holding":
        process.kill()
        raise AssertionError(f"{mode} did not reach its batch: {line!r} {process.stderr.read()!r}")  # type: ignore[union-attr]
    return process


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL, and reap."""
    process.kill()
    process.wait(timeout=10)
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def wait_for(condition: Callable[[], bool], timeout: float = 30.0, every: float = 0.005) -> None:
    """Poll until ``condition`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not hold in time")
        time.sleep(every)
