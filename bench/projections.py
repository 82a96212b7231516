"""Benchmark: rebuilding the read models on PostgreSQL, against a raw psycopg read.

Prints, in one run: the rebuild rate (events/s) over a store of at least a million events,
the rate of a raw psycopg read of the same events table, the ratio, and the time from an
acknowledged posting to its visibility in the statement.

    python bench/projections.py [--db postgresql://postgres@127.0.0.1:5432/test] [--scale 60]

The store is the one ``fundledger demo --scale N`` builds (Shanxi: eleven city pools and the
adjustment fund, 2022-2025; ``--scale 60``, the default, gives about a million postings and
more events, since an inter-level pair is two), in a schema of its own (dropped at the end
unless --keep).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import uuid
from datetime import date

# This script shares its name with the ``projections`` package: run as a file, its folder is
# first on the path and would shadow the package, so the folder is taken off the path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import psycopg  # noqa: E402

from api.bootstrap import App, bootstrap_app  # noqa: E402
from api.demo import run_demo  # noqa: E402
from api.settings import Settings  # noqa: E402
from domain.funds import FundId  # noqa: E402
from domain.lines import Line  # noqa: E402
from domain.postings import Posting  # noqa: E402


def machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def build(app: App, scale: int) -> tuple[int, float]:
    """The store of ``fundledger demo --scale SCALE`` (Shanxi, 2022-2025), through ``run_demo``."""
    started = time.perf_counter()
    summary = run_demo(app.ledger, scale=scale)
    return summary.posted, summary.posted / (time.perf_counter() - started)


def raw_read(url: str, schema: str) -> tuple[int, float]:
    started = time.perf_counter()
    count = 0
    with psycopg.connect(url) as conn, conn.cursor(binary=True) as cursor:
        cursor.execute(
            f"SELECT notification_id, originator_id, topic, state "
            f"FROM {schema}.ledger_140000_events ORDER BY notification_id"
        )
        while rows := cursor.fetchmany(20_000):
            count += len(rows)
    return count, count / (time.perf_counter() - started)


def visibility(app: App, samples: int) -> list[float]:
    fund = FundId.parse("resident:140100")
    seconds = []
    for i in range(samples):
        posting = Posting(
            fund=fund, line=Line.INTEREST, amount_fen=1, value_date=date(2025, 12, 31),
            reference=f"VIS-{i}",
        )  # fmt: skip
        started = time.perf_counter()
        app.ledger.post(posting)
        statement = app.read_models.statement(fund, 2025)
        seconds.append(time.perf_counter() - started)
        assert statement.line("interest") >= i + 1
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--scale", type=int, default=60, help="the demo's --scale")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.db, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        server = conn.execute("SHOW server_version").fetchone()
    print(f"machine: {machine()}; PostgreSQL {server[0] if server else '?'}")
    app = bootstrap_app(Settings(database_url=f"{args.db}?schema={schema}"))
    try:
        app.ledger.init(["140000"])
        app.read_models.create_tables()
        postings, import_rate = build(app, args.scale)
        print(f"store: fundledger demo --scale {args.scale}: {postings:,} postings written at "
              f"{import_rate:,.0f} postings/s")  # fmt: skip
        rates = []
        for _ in range(2):
            started = time.perf_counter()
            applied = app.read_models.rebuild()
            rates.append(applied / (time.perf_counter() - started))
        count, raw_rate = raw_read(args.db, schema)
        best = max(rates)
        print(f"rebuild: {applied:,} events, {best:,.0f} events/s (runs: "
              f"{', '.join(f'{r:,.0f}' for r in rates)})")  # fmt: skip
        print(f"raw psycopg read of the same {count:,} events: {raw_rate:,.0f} events/s")
        print(f"ratio rebuild / raw read: {best / raw_rate:.2f}")
        print(f"goal: rebuild >= 100,000 events/s: {'PASS' if best >= 100_000 else 'FAIL'}")
        seconds = visibility(app, 50)
        verdict = "PASS" if max(seconds) < 1 else "FAIL"
        median_ms, max_ms = statistics.median(seconds) * 1000, max(seconds) * 1000
        print(
            f"posting → visible in the statement: median {median_ms:.1f} ms, "
            f"max {max_ms:.1f} ms (goal < 1 s: {verdict})"
        )
    finally:
        app.close()
        if not args.keep:
            with psycopg.connect(args.db, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()
