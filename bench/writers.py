"""Benchmark: single postings from 1, 8 and 32 concurrent threads (group commit), on PostgreSQL.

Prints, in one run:

1. raw psycopg 3 one-row transactions (autocommit ``INSERT`` of a row like the ledger's
   events, one connection), the baseline: measured in blocks alternating with the
   one-thread postings and before and after each concurrent measurement, so that both see the
   same disk (an fsync's latency drifts on a shared machine); for information, the same from 8
   and 32 threads with a connection each (the server then flushes several commits at once);
2. one thread, in alternate blocks: ``ProvinceLedger.post`` (the direct save, no committer)
   and ``Ledger.post`` (through the group committer, alone: a batch of one);
3. ``Ledger.post`` from 8 and 32 threads released together, each posting its share of
   ``--postings`` single postings, round robin over ``--funds`` funds of Shanxi: postings/s
   (all postings over the wall time), per-posting latency, and the batches the committer
   saved (count, mean and largest size);
4. the goals of issue 8 for single postings: 32 threads reach at least half the raw one-row
   rate, and at least 3x the rate of one thread.

    python bench/writers.py [--db postgresql://postgres@127.0.0.1:5432/test] [--postings 4000]

Everything is written in a schema of its own (dropped at the end unless ``--keep``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import psycopg
from psycopg import sql

# Run as a file, this folder is first on the path, and its ``projections.py`` would shadow the
# ``projections`` package that the composition root imports: the folder is taken off the path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

from api.bootstrap import bootstrap  # noqa: E402
from api.settings import Settings  # noqa: E402
from domain.funds import FundId  # noqa: E402
from domain.ledger_service import Ledger  # noqa: E402
from domain.lines import Line  # noqa: E402
from domain.postings import Posting  # noqa: E402

PROVINCE = "140000"
FUNDS = [FundId.parse(f"resident:14{c:02d}00") for c in range(1, 12)] + [
    FundId.parse(text)
    for text in ("resident:140000", "adjustment:140000", "resident:140105", "resident:140211")
]
THREADS = (1, 8, 32)
RAW_BLOCK = 1_000
"""Raw one-row transactions measured before and after each concurrent measurement."""
SINGLE_BLOCK = 100
"""One thread: direct, committer and raw postings alternate in blocks of this many."""
JOIN_SECONDS = 600.0
HALF_RAW_GOAL = 0.5
SCALING_GOAL = 3.0

Row = tuple[uuid.UUID, int, str, bytes]


@dataclass(frozen=True)
class Run:
    """One measurement: postings (or rows) over wall seconds, with per-operation seconds."""

    count: int
    wall: float
    seconds: list[float]
    batches: list[int]

    @property
    def rate(self) -> float:
        return self.count / self.wall

    def line(self) -> str:
        ms = sorted(s * 1000 for s in self.seconds)
        p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
        text = (
            f"{self.rate:9,.0f}/s; latency p50 {statistics.median(ms):6.2f} ms, p95 {p95:6.2f} ms"
        )
        if self.batches:
            text += (
                f"; {len(self.batches):,} saves, {statistics.fmean(self.batches):.1f} "
                f"postings a save on average, at most {max(self.batches)}"
            )
        return text


def make_postings(count: int, funds: Sequence[FundId], prefix: str) -> list[Posting]:
    """``count`` postings of 2024 with unique references, round robin over ``funds``."""
    lines = [
        (Line.CONTRIBUTION, "individual"),
        (Line.BENEFIT, "inpatient"),
        (Line.BENEFIT, "outpatient"),
    ]
    return [
        Posting(
            fund=funds[i % len(funds)],
            line=lines[i % len(lines)][0],
            sub_line=lines[i % len(lines)][1],
            amount_fen=1_000 + (i * 7_919) % 500_000,
            value_date=date(2024, 1, 1) + timedelta(days=(i * 37) % 366),
            reference=f"{prefix}-{i:08d}",
        )
        for i in range(count)
    ]


def raw_rows(count: int, prefix: str) -> list[Row]:
    """Rows shaped like the ledger's posting events (topic, a JSON state of the same fields)."""
    originator = uuid.uuid4()
    rows = []
    for i in range(count):
        state = {
            "timestamp": {"_type_": "datetime_iso", "_data_": "2024-01-01T00:00:00+00:00"},
            "prev_hash": f"{i:064d}",
            "chain_hash": f"{i + 1:064d}",
            "reference": f"{prefix}-{i:08d}",
            "amount_fen": 1_000 + i,
            "value_date": "2024-03-01",
            "sub_line": "inpatient",
            "level": None,
            "county": None,
            "counterparty": None,
            "purpose": None,
            "memo": None,
            "restatement": False,
            "recorded_by": None,
            "request_id": None,
        }
        rows.append((originator, i + 1, "fundledger:Fund.BenefitPaid", json.dumps(state).encode()))
    return rows


def run_threads(count: int, work: Callable[[int], list[float]]) -> tuple[float, list[float]]:
    """Run ``work(i)`` on ``count`` threads released together: wall seconds, every latency."""
    start = threading.Barrier(count + 1, timeout=JOIN_SECONDS)
    seconds: list[list[float]] = [[] for _ in range(count)]
    failures: list[BaseException] = []

    def body(i: int) -> None:
        try:
            start.wait()
            seconds[i] = work(i)
        except BaseException as error:
            failures.append(error)
            raise

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join(JOIN_SECONDS)
    wall = time.perf_counter() - began
    assert not failures, failures
    assert not any(t.is_alive() for t in threads)
    return wall, [s for per_thread in seconds for s in per_thread]


def timed_each(actions: Sequence[Callable[[], object]]) -> list[float]:
    seconds = []
    for action in actions:
        began = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - began)
    return seconds


class RawTable:
    """A plain table with the events table's columns and key; autocommit one-row INSERTs."""

    def __init__(self, db: str, schema: str) -> None:
        self.db = db
        self.table = sql.Identifier(schema, "raw_one_row")
        with psycopg.connect(db, autocommit=True) as conn:
            conn.execute(
                sql.SQL(
                    "CREATE TABLE {} (originator_id uuid NOT NULL, originator_version bigint "
                    "NOT NULL, topic text, state bytea, PRIMARY KEY (originator_id, "
                    "originator_version))"
                ).format(self.table)
            )
        self.insert = sql.SQL(
            "INSERT INTO {} (originator_id, originator_version, topic, state) "
            "VALUES (%s, %s, %s, %s)"
        ).format(self.table)

    def one_row_each(self, threads: int, rows_per_thread: int, prefix: str) -> Run:
        """``threads`` connections, each inserting its rows one autocommit INSERT at a time."""
        rows = [raw_rows(rows_per_thread, f"{prefix}{t}") for t in range(threads)]
        conns = [psycopg.connect(self.db, autocommit=True) for _ in range(threads)]
        try:

            def work(t: int) -> list[float]:
                cursor = conns[t].cursor()
                return timed_each(
                    [lambda row=row: cursor.execute(self.insert, row) for row in rows[t]]
                )

            wall, seconds = run_threads(threads, work)
        finally:
            for conn in conns:
                conn.close()
        return Run(threads * rows_per_thread, wall, seconds, [])


def ledger_threads(ledger: Ledger, threads: int, postings: Sequence[Posting]) -> Run:
    """``threads`` threads, each posting its share of ``postings`` by ``Ledger.post``."""
    sizes: list[int] = []
    ledger.observe_batches(sizes.append)
    shares = [postings[t::threads] for t in range(threads)]

    def work(t: int) -> list[float]:
        return timed_each([lambda p=p: _posted(ledger.post(p)) for p in shares[t]])

    try:
        wall, seconds = run_threads(threads, work)
    finally:
        ledger.observe_batches(None)
    assert sum(sizes) == len(postings), (sum(sizes), len(postings))
    return Run(len(postings), wall, seconds, sizes)


def _posted(outcome: Any) -> None:
    assert outcome.status == "posted", outcome


def machine_facts(db: str) -> list[str]:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            cpu = next(
                (line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")),
                cpu,
            )
    except OSError:
        pass
    with psycopg.connect(db, autocommit=True) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        settings = conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', "
            "'synchronous_commit', 'wal_sync_method', 'commit_delay') ORDER BY name"
        ).fetchall()
    return [
        f"CPU: {cpu}, {os.cpu_count()} cores",
        f"PostgreSQL {version[0] if version else '?'} ("
        + ", ".join(f"{n}={v}" for n, v in settings)
        + ")",
        f"Python {platform.python_version()}, psycopg {psycopg.__version__}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="Concurrent single postings (group commit).")
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--postings", type=int, default=4_000, help="postings per measurement")
    parser.add_argument("--funds", type=int, default=len(FUNDS), help="funds posted round robin")
    parser.add_argument("--keep", action="store_true", help="keep the schema")
    args = parser.parse_args()
    if not 1 <= args.funds <= len(FUNDS) or args.postings < max(THREADS):
        parser.error(f"--funds is 1 to {len(FUNDS)}; --postings at least {max(THREADS)}")
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    url = f"{args.db}{'&' if '?' in args.db else '?'}schema={schema}"
    for fact in machine_facts(args.db):
        print(fact)
    print(f"schema {schema}; {args.postings:,} postings a measurement over {args.funds} funds\n")
    with psycopg.connect(args.db, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    ledger = bootstrap(Settings(database_url=url))
    try:
        run(args, ledger, RawTable(args.db, schema), FUNDS[: args.funds])
    finally:
        ledger.close()
        if not args.keep:
            with psycopg.connect(args.db, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def run(args: argparse.Namespace, ledger: Ledger, raw: RawTable, funds: list[FundId]) -> None:
    ledger.init([PROVINCE])
    for fund in funds:
        ledger.open_fund(fund, first_year=2020, opening_balance_fen=10**11)
    for posting in make_postings(len(funds), funds, "WARM"):  # funds in the cache, untimed
        ledger.post(posting)
    raws: list[Run] = []

    def raw_block(rows: int) -> Run:
        block = raw.one_row_each(1, rows, f"R{len(raws)}-")
        raws.append(block)
        return block

    print("... 1 thread: direct, committer and raw in alternate blocks", flush=True)
    app = ledger.province(PROVINCE)
    directs = make_postings(args.postings, funds, "DIRECT")
    ones = make_postings(args.postings, funds, "T1")
    direct: list[float] = []
    one: list[float] = []
    one_sizes: list[int] = []
    ledger.observe_batches(one_sizes.append)
    one_raw: list[Run] = []
    for start in range(0, args.postings, SINGLE_BLOCK):
        block = slice(start, start + SINGLE_BLOCK)
        direct.extend(timed_each([lambda p=p: _posted(app.post(p)) for p in directs[block]]))
        one.extend(timed_each([lambda p=p: _posted(ledger.post(p)) for p in ones[block]]))
        one_raw.append(raw_block(SINGLE_BLOCK))
    direct_run = Run(len(direct), sum(direct), direct, [])
    ledger.observe_batches(None)
    one_run = Run(len(one), sum(one), one, one_sizes)
    results: dict[int, tuple[Run, float]] = {1: (one_run, _rate(one_raw))}
    for threads in THREADS[1:]:
        postings = make_postings(args.postings, funds, f"T{threads}")
        print(f"... {threads} threads, between two raw blocks", flush=True)
        before = raw_block(RAW_BLOCK)
        result = ledger_threads(ledger, threads, postings)
        after = raw_block(RAW_BLOCK)
        results[threads] = (result, _rate([before, after]))
    raw_many = {t: raw.one_row_each(t, max(RAW_BLOCK // t, 50), f"M{t}-") for t in (8, 32)}

    raw_rate = _rate(raws)
    rates = sorted(r.rate for r in raws)
    print("\n1. raw psycopg, one-row autocommit INSERT:")
    print(
        f"   one connection, {sum(r.count for r in raws):,} rows in {len(raws)} blocks: "
        f"{raw_rate:,.0f}/s (blocks {rates[0]:,.0f} to {rates[-1]:,.0f}/s)"
    )
    for t, r in raw_many.items():
        print(f"   {t} connections at once (information): {r.line()}")
    print(f"2. one thread, in alternate blocks of {SINGLE_BLOCK} with raw (a):")
    print(f"   ProvinceLedger.post, no committer: {direct_run.line()}")
    print(f"   Ledger.post, the committer:        {one_run.line()}")
    print(f"   committer / direct = {one_run.rate / direct_run.rate:.2f} (goal: not slower)")
    print("3. Ledger.post through the group committer, threads released together:")
    for threads, (result, beside) in results.items():
        print(f"   {threads:2d} thread(s): {result.line()}")
        print(f"       / raw one-row beside it ({beside:,.0f}/s): {result.rate / beside:.2f}")
    top = results[max(THREADS)][0]
    print(f"4. goals (raw one-row: all {len(raws)} blocks of the run, {raw_rate:,.0f}/s):")
    print(
        f"   {max(THREADS)} threads / raw one-row = {top.rate / raw_rate:.2f}, goal >= "
        f"{HALF_RAW_GOAL}: {'PASS' if top.rate / raw_rate >= HALF_RAW_GOAL else 'FAIL'}"
    )
    print(
        f"   {max(THREADS)} threads / 1 thread    = {top.rate / one_run.rate:.2f}, goal >= "
        f"{SCALING_GOAL}: {'PASS' if top.rate / one_run.rate >= SCALING_GOAL else 'FAIL'}"
    )


def _rate(runs: Sequence[Run]) -> float:
    return sum(r.count for r in runs) / sum(r.wall for r in runs)


if __name__ == "__main__":
    main()
