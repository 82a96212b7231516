"""Benchmark: the auditor's verify on PostgreSQL, against a raw psycopg read of the same rows.

Prints, in one run:

1. the time of a raw psycopg 3 read of every stored event of the province (``SELECT`` of
   ``originator_id, originator_version, topic, state``, in key order, through a server-side
   cursor): the floor the goal is measured against; and, for comparison, the same rows read
   with a binary ``COPY ... TO STDOUT`` (how the walk reads them) and nothing else done;
2. the rate of the walk ``audit verify`` makes over every event (``Ledger.chains`` of the
   province's funds: read, decode, rehash, link), and its ratio to the raw read;
3. the rate of the whole ``audit verify`` (chains, vouchers, references, mirrors, snapshots,
   every statement against a replay, seals and checkpoints), and its ratio to the raw read;
4. the time of ``audit export`` of the year and of ``audit verify --archive`` (offline).

Each figure is printed with the load average (``os.getloadavg``): the machine may be shared.

    python bench/audit.py [--db postgresql://postgres@127.0.0.1:5432/test] [--events 1000000]

Goals (issue 10), held to the whole ``audit verify`` and, separately, to its walk: 100,000
events/s or more, and at least half the rate of the raw read, in the same run. Everything is
written in a schema of its own, dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.archive import verify_archive, write_archive
from api.bootstrap import bootstrap_app
from api.settings import Settings
from domain.funds import FundId
from domain.lines import Line
from domain.postings import Posting
from projections.audit import audit

PROVINCE = "140000"
CITIES = [f"14{n:02d}00" for n in range(1, 12)]
CHUNK = 50_000


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
    args = parser.parse_args()
    schema = f"bench_audit_{os.getpid()}"
    with psycopg.connect(args.db, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    url = f"{args.db}?schema={schema}"
    try:
        run(url, args.db, schema, args.events)
    finally:
        with psycopg.connect(args.db, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def run(url: str, db: str, schema: str, events: int) -> None:
    app = bootstrap_app(Settings(database_url=url))
    funds = [FundId.parse(f"resident:{c}") for c in CITIES]
    try:
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
        walked = sum(len(links) for links in app.ledger.chains(PROVINCE, funds).values())
        goal("the walk of audit verify (read, decode, rehash, link)", walked, started, raw_rate)

        started = time.perf_counter()
        report = audit(app.ledger, app.read_models, provinces=[PROVINCE])
        goal(
            f"audit verify, every check ({len(report.findings)} findings)",
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
