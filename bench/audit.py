"""Benchmark: the auditor's verify on PostgreSQL, against a raw psycopg read of the same rows.

Prints, in one run:

1. the time of a raw psycopg 3 read of every stored event of the province (``SELECT`` of
   ``originator_id, originator_version, topic, state``, in key order, through a server-side
   cursor): the floor the goal is measured against; and, for comparison, the same rows read
   with a binary ``COPY ... TO STDOUT`` (how the walk reads them) and nothing else done;
2. the rate of the walk ``audit verify`` makes over every event (``Ledger.walk_chains`` of the
   province's funds, one fund's events held at a time: read, decode, rehash, link), and its
   ratio to the raw read;
3. the rate of the whole ``audit verify`` (chains, vouchers, references, mirrors, snapshots,
   every statement against a replay, seals and checkpoints), and its ratio to the raw read, in
   one process and in as many as it chooses by itself (``--processes`` unset);
4. the time of ``audit export`` of the year and of ``audit verify --archive`` (offline).

Each figure is printed with the load average (``os.getloadavg``): the machine may be shared.

    python bench/audit.py [--db postgresql://postgres@127.0.0.1:5432/test] [--events 1000000]
                          [--schema NAME]

Goals (issue 10), held to the whole ``audit verify`` and, separately, to its walk: 100,000
events/s or more, and at least half the rate of the raw read, in the same run. Everything is
written in a schema of its own, dropped at the end; ``--schema NAME`` uses (and keeps) that
schema, building the store there only when it has no events yet, so one build serves many runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.archive import verify_archive, write_archive
from api.bootstrap import bootstrap_app
from api.settings import Settings
from api.usecases.audit import verify
from api.usecases.audit_processes import processes_for
from domain.access import Principal
from domain.audit import paused_gc
from domain.funds import FundId
from domain.lines import Line
from domain.postings import Posting

PROVINCE = "140000"
CITIES = [f"14{n:02d}00" for n in range(1, 12)]
CHUNK = 50_000
OPERATOR = Principal(name="bench:audit")
"""The operator at the command line, who may verify every province."""


def postings(funds: list[FundId], start: int, count: int) -> list[Posting]:
    first = date(2024, 1, 1)
    return [
        Posting(
            fund=funds[i % len(funds)],
            line=Line.BENEFIT if i % 3 else Line.INTEREST,
            amount_fen=1_000 + (i * 7_919) % 500_000,
            value_date=first + timedelta(days=(i * 37) % 366),
            reference=f"A-{i:09d}",
        )
        for i in range(start, start + count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--schema", help="use and keep this schema; build the store if empty")
    args = parser.parse_args()
    schema = args.schema or f"bench_audit_{os.getpid()}"
    with psycopg.connect(args.db, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    url = f"{args.db}?schema={schema}"
    try:
        run(url, args.db, schema, args.events)
    finally:
        if args.schema is None:
            with psycopg.connect(args.db, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def run(url: str, db: str, schema: str, events: int) -> None:
    app = bootstrap_app(Settings(database_url=url))
    funds = [FundId.parse(f"resident:{c}") for c in CITIES]
    try:
        if kept := stored_events(db, schema):
            print(f"store: kept, {kept:,} events ({schema})")
            app.ledger.init([PROVINCE])  # what `fundledger init` adds to an older store
            app.read_models.catch_up()
        else:
            build(app, funds, events)

        table = sql.Identifier(schema, f"ledger_{PROVINCE}_events")
        with psycopg.connect(db) as conn:
            started = time.perf_counter()
            with conn.cursor(name="raw") as cursor:
                cursor.itersize = 10_000
                cursor.execute(
                    sql.SQL(
                        "SELECT originator_id, originator_version, topic, state FROM {} "
                        "ORDER BY originator_id, originator_version"
                    ).format(table)
                )
                rows = sum(1 for _ in cursor)
            raw = time.perf_counter() - started
            started = time.perf_counter()
            with (
                conn.cursor() as cursor,
                cursor.copy(
                    sql.SQL(
                        "COPY (SELECT originator_id::text, originator_version, topic, state "
                        "FROM {} ORDER BY originator_id, originator_version) "
                        "TO STDOUT (FORMAT binary)"
                    ).format(table)
                ) as copy,
            ):
                copy.set_types(["text", "int8", "text", "bytea"])
                copied = sum(1 for _ in copy.rows())
            binary = time.perf_counter() - started
        raw_rate = rows / raw
        print(f"raw psycopg read: {rows:,} rows in {raw:.2f} s = {raw_rate:,.0f} rows/s{load()}")
        print(
            f"raw binary COPY read (for comparison): {copied:,} rows in {binary:.2f} s = "
            f"{copied / binary:,.0f} rows/s{load()}"
        )

        started = time.perf_counter()
        with paused_gc():
            walked = sum(len(links) for _, links in app.ledger.walk_chains(PROVINCE, funds))
        goal("the walk of audit verify (read, decode, rehash, link)", walked, started, raw_rate)

        for processes in (1, processes_for(app.settings, app.read_models, [PROVINCE], None)):
            started = time.perf_counter()
            report = verify(app, OPERATOR, province=PROVINCE, processes=processes)
            goal(
                f"audit verify, every check, {processes} process(es) "
                f"({len(report.findings)} findings)",
                report.events,
                started,
                raw_rate,
            )

        with tempfile.TemporaryDirectory() as folder:
            archive = Path(folder) / "archive.zip"
            started = time.perf_counter()
            write_archive(app.ledger, PROVINCE, 2024, archive, None)
            exported = time.perf_counter() - started
            size = archive.stat().st_size
            started = time.perf_counter()
            _, offline = verify_archive(archive)
            checked = time.perf_counter() - started
        print(
            f"audit export: {exported:.2f} s, {size / 1e6:.1f} MB; "
            f"audit verify --archive: {checked:.2f} s, {len(offline.findings)} findings{load()}"
        )
    finally:
        app.close()


def build(app: Any, funds: list[FundId], events: int) -> None:
    """Open the funds and import postings until the province holds ``events`` events."""
    app.ledger.init([PROVINCE])
    app.read_models.create_tables()
    for fund in funds:
        app.ledger.open_fund(fund, first_year=2024, opening_balance_fen=10**12)
    wanted = events - len(funds)
    started = time.perf_counter()
    for start in range(0, wanted, CHUNK):
        app.ledger.import_postings(postings(funds, start, min(CHUNK, wanted - start)))
    print(
        f"store: {events:,} events in {len(funds)} funds, written in "
        f"{time.perf_counter() - started:.0f} s{load()}"
    )
    app.read_models.catch_up()


def stored_events(db: str, schema: str) -> int:
    """How many events the schema's province holds (0: none, or no table yet)."""
    with psycopg.connect(db) as conn:
        table = conn.execute(
            "SELECT to_regclass(%s)", [f"{schema}.ledger_{PROVINCE}_events"]
        ).fetchone()
        if table is None or table[0] is None:
            return 0
        query = sql.SQL("SELECT count(*) FROM {}").format(
            sql.Identifier(schema, f"ledger_{PROVINCE}_events")
        )
        row = conn.execute(query).fetchone()
        return 0 if row is None else int(row[0])


def load() -> str:
    """The load averages, to print beside a figure."""
    return " (load {:.2f} {:.2f} {:.2f})".format(*os.getloadavg())


def goal(what: str, events: int, started: float, raw_rate: float) -> None:
    """Print a rate against the goals: 100,000 events/s and half the raw read's rate."""
    took = time.perf_counter() - started
    rate = events / took
    met = rate >= 100_000 and rate >= raw_rate / 2
    print(
        f"{what}: {events:,} events in {took:.2f} s = {rate:,.0f} events/s, "
        f"{rate / raw_rate:.2f} of the raw read (goals 100,000/s and 0.50: "
        f"{'met' if met else 'NOT met'}){load()}"
    )


if __name__ == "__main__":
    main()
