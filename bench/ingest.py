"""Benchmark: writing postings on PostgreSQL, against raw psycopg writes of the same rows.

Prints, in one run:

1. the rate of a large import (``Ledger.import_postings``, postings spread over 15 funds of
   Shanxi, in transactions of ``--chunk`` postings), and the rate of its checks alone (a dry
   run of the same file, run first as an operator would);
2. the rate of single postings (``Ledger.post``, one save each), and the plans PostgreSQL has
   cached for the ledger's voucher lookup on its connections;
3. raw psycopg 3 writes of rows like the ledger's events (same columns and key, same topics,
   a JSON state of the same size) into a plain table: (a) one row per transaction, measured
   in blocks alternating with the single postings, (b) ``executemany`` in batches of 100 rows
   per transaction, (c) ``executemany`` in batches of ``--chunk`` rows, and, for reference,
   (d) ``COPY`` in batches of ``--chunk`` rows (the import's own path);
4. the ratios import / raw batched and single / raw one row, against their goals;
5. the cost of one posting on a fund of ~100 events against one of ``--history`` events,
   warm (the process that imported them) and cold (a new ledger per posting, loading the
   fund from its latest snapshot), and of one more imported chunk on each fund.

    python bench/ingest.py [--db postgresql://postgres@127.0.0.1:5432/test] [--postings 100000]

Everything is written in a schema of its own (dropped at the end unless ``--keep``).
``--profile`` then adds wall-clock breakdowns and cProfile runs of both write paths, and a
replay through raw psycopg of the SQL of one posting, step by step.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import hashlib
import io
import json
import os
import platform
import pstats
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

# Run as a file, this folder is first on the path, and its ``projections.py`` would shadow the
# ``projections`` package that the composition root imports: the folder is taken off the path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

from api.bootstrap import bootstrap  # noqa: E402
from api.settings import Settings  # noqa: E402
from domain.funds import FundId  # noqa: E402
from domain.ledger import SNAPSHOT_INTERVAL, ProvinceLedger, _Batch  # noqa: E402
from domain.ledger_service import Ledger  # noqa: E402
from domain.lines import Level, Line  # noqa: E402
from domain.persistence.postgres import LedgerPostgresRecorder  # noqa: E402
from domain.postings import Posting  # noqa: E402
from domain.regions import RegionLevel, level_of  # noqa: E402

PROVINCE = "140000"
FUNDS = [FundId.parse(f"resident:14{c:02d}00") for c in range(1, 12)] + [
    FundId.parse(text)
    for text in ("resident:140000", "adjustment:140000", "resident:140105", "resident:140211")
]
"""Fifteen funds of Shanxi: the eleven city pools, the provincial pool and adjustment fund,
two county funds. The history benchmark uses two other funds of its own."""

SMALL_FUND = FundId.parse("resident:140106")
BIG_FUND = FundId.parse("resident:140107")

LINES: list[tuple[Line, str, Level | None]] = [
    (Line.CONTRIBUTION, "individual", None),
    (Line.BENEFIT, "inpatient", None),
    (Line.SUBSIDY, "standard", Level.CENTRAL),
    (Line.BENEFIT, "outpatient", None),
    (Line.CONTRIBUTION, "collective", None),
    (Line.SUBSIDY, "standard", Level.PROVINCIAL),
    (Line.BENEFIT, "outpatient_chronic", None),
    (Line.SUBSIDY, "earmarked", Level.MUNICIPAL),
    (Line.CONTRIBUTION, "medical_assistance", None),
    (Line.SUBSIDY, "standard", Level.COUNTY),
]
TOPIC_OF_LINE = {
    Line.CONTRIBUTION: "fundledger:Fund.ContributionReceived",
    Line.BENEFIT: "fundledger:Fund.BenefitPaid",
    Line.SUBSIDY: "fundledger:Fund.SubsidyReceived",
}
RAW_COLUMNS = "originator_id, originator_version, topic, state"
FLAT_RATIO = 1.25
"""'About equal': the big-history fund costs at most this many times the small one."""
IMPORT_GOAL = 0.25
SINGLE_GOAL = 0.30

Row = tuple[uuid.UUID, int, str, bytes]


# ------------------------------------------------------------------------------ inputs


def make_postings(funds: Sequence[FundId], count: int, prefix: str) -> list[Posting]:
    """``count`` postings of 2024, round robin over ``funds``, each with a unique reference."""
    postings = []
    first = date(2024, 1, 1)
    for i in range(count):
        fund = funds[i % len(funds)]
        line, sub_line, level = LINES[(i // len(funds)) % len(LINES)]
        county = None
        if line is Line.CONTRIBUTION and level_of(fund.region) is RegionLevel.CITY:
            county = fund.region[:4] + "02"
        postings.append(
            Posting(
                fund=fund,
                line=line,
                amount_fen=1_000 + (i * 7_919) % 5_000_000,
                value_date=first + timedelta(days=(i * 37) % 366),
                reference=f"{prefix}-{i:08d}",
                sub_line=sub_line,
                level=level,
                county=county,
            )
        )
    return postings


def raw_rows(count: int, originators: Sequence[uuid.UUID], start_version: int) -> list[Row]:
    """Rows shaped like the ledger's posting events: same topics, same JSON state fields."""
    rows = []
    versions = dict.fromkeys(originators, start_version)
    prev = "0" * 64
    now = datetime.now(UTC)
    for i in range(count):
        originator = originators[i % len(originators)]
        line, sub_line, level = LINES[(i // len(originators)) % len(LINES)]
        chain = hashlib.sha256(f"{prev}{i}".encode()).hexdigest()
        state = {
            "timestamp": {
                "_type_": "datetime_iso",
                "_data_": (now + timedelta(microseconds=i)).isoformat(),
            },
            "prev_hash": prev,
            "chain_hash": chain,
            "reference": f"RAW-{i:08d}",
            "amount_fen": 1_000 + (i * 7_919) % 5_000_000,
            "value_date": (date(2024, 1, 1) + timedelta(days=(i * 37) % 366)).isoformat(),
            "sub_line": sub_line,
            "level": level.value if level else None,
            "county": "140102" if line is Line.CONTRIBUTION else None,
            "counterparty": None,
            "purpose": None,
            "memo": None,
            "restatement": False,
        }
        prev = chain
        rows.append(
            (
                originator,
                versions[originator],
                TOPIC_OF_LINE[line],
                json.dumps(state, separators=(",", ":")).encode(),
            )
        )
        versions[originator] += 1
    return rows


# ------------------------------------------------------------------------------ facts


def machine_facts(db: str) -> list[str]:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    with psycopg.connect(db, autocommit=True) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        settings = conn.execute(
            "SELECT name, setting, unit FROM pg_settings WHERE name IN "
            "('fsync', 'synchronous_commit', 'shared_buffers', 'wal_sync_method', 'autovacuum') "
            "ORDER BY name"
        ).fetchall()
    pg_settings = ", ".join(
        f"{name}={int(setting) * 8 // 1024} MB" if unit == "8kB" else f"{name}={setting}"
        for name, setting, unit in settings
    )
    return [
        f"CPU: {cpu}, {os.cpu_count()} cores",
        f"PostgreSQL {version[0] if version else '?'} ({pg_settings})",
        f"Python {platform.python_version()}, psycopg {psycopg.__version__}, "
        f"eventsourcing {_version('eventsourcing')}",
    ]


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


# ------------------------------------------------------------------------------ timing


@dataclass(frozen=True)
class Latencies:
    """Per-operation seconds."""

    seconds: list[float]

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.seconds) * 1000

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def p95_ms(self) -> float:
        if len(self.seconds) < 2:
            return self.seconds[0] * 1000
        return statistics.quantiles(self.seconds, n=20, method="inclusive")[-1] * 1000

    def line(self) -> str:
        return f"mean {self.mean_ms:6.2f} ms, p50 {self.p50_ms:6.2f} ms, p95 {self.p95_ms:6.2f} ms"


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# ------------------------------------------------------------------------------ ledger


def open_funds(ledger: Ledger, funds: Sequence[FundId]) -> None:
    for fund in funds:
        ledger.open_fund(fund, first_year=2020, opening_balance_fen=10**11)


def post_each(ledger: Ledger, postings: Sequence[Posting]) -> Latencies:
    seconds = []
    for posting in postings:
        started = time.perf_counter()
        outcome = ledger.post(posting)
        seconds.append(time.perf_counter() - started)
        assert outcome.status == "posted", outcome
    return Latencies(seconds)


def event_sizes(db: str, schema: str) -> float:
    with psycopg.connect(db) as conn:
        row = conn.execute(
            sql.SQL(
                "SELECT avg(octet_length(state)) FROM {}.{} WHERE topic <> 'fundledger:Fund.Opened'"
            ).format(sql.Identifier(schema), sql.Identifier(f"ledger_{PROVINCE}_events"))
        ).fetchone()
    return float(row[0]) if row and row[0] is not None else 0.0


# ------------------------------------------------------------------------------ raw


class RawTable:
    """A plain table with the events table's columns and primary key."""

    def __init__(self, conn: psycopg.Connection[Any], schema: str, name: str) -> None:
        self.conn = conn
        self.table = sql.Identifier(schema, name)
        conn.execute(
            sql.SQL(
                "CREATE TABLE {} (originator_id uuid NOT NULL, originator_version bigint NOT NULL, "
                "topic text, state bytea, PRIMARY KEY (originator_id, originator_version))"
            ).format(self.table)
        )
        self.insert = sql.SQL(f"INSERT INTO {{}} ({RAW_COLUMNS}) VALUES (%s, %s, %s, %s)").format(
            self.table
        )
        self.copy = sql.SQL(f"COPY {{}} ({RAW_COLUMNS}) FROM STDIN").format(self.table)

    def one_per_transaction(self, rows: Sequence[Row]) -> Latencies:
        """Autocommit: each INSERT is its own transaction (one round trip, one commit)."""
        seconds = []
        with self.conn.cursor() as cursor:
            for row in rows:
                started = time.perf_counter()
                cursor.execute(self.insert, row)
                seconds.append(time.perf_counter() - started)
        return Latencies(seconds)

    def executemany(self, rows: Sequence[Row], batch: int) -> float:
        """``executemany`` (pipelined by psycopg) of ``batch`` rows per transaction."""
        started = time.perf_counter()
        with self.conn.cursor() as cursor:
            for start in range(0, len(rows), batch):
                with self.conn.transaction():
                    cursor.executemany(self.insert, rows[start : start + batch])
        return time.perf_counter() - started

    def copy_batches(self, rows: Sequence[Row], batch: int) -> float:
        """``COPY`` of ``batch`` rows per transaction."""
        started = time.perf_counter()
        with self.conn.cursor() as cursor:
            for start in range(0, len(rows), batch):
                with self.conn.transaction(), cursor.copy(self.copy) as copy:
                    for row in rows[start : start + batch]:
                        copy.write_row(row)
        return time.perf_counter() - started


def raw_state_size(rows: Sequence[Row]) -> float:
    return statistics.fmean(len(r[3]) for r in rows)


# ------------------------------------------------------------------------------ history


@dataclass(frozen=True)
class HistoryResult:
    small_version: int
    big_version: int
    build_seconds: float
    warm: tuple[Latencies, Latencies]
    cold: tuple[Latencies, Latencies]
    cold_setup: Latencies
    late_imports: tuple[float, float]
    """Seconds to import one more chunk of postings into the small fund, then the big one."""


def build_histories(ledger: Ledger, history: int, small: int, chunk: int) -> tuple[int, float]:
    """The small fund: ``small`` events; the big one: a snapshot at ``history`` (a multiple of
    the snapshot interval) and ``small`` events after it. So a cold load of either replays the
    same number of events, and both cross their next snapshot boundary at the same posting."""
    snapshot_at = max(SNAPSHOT_INTERVAL, history // SNAPSHOT_INTERVAL * SNAPSHOT_INTERVAL)
    open_funds(ledger, [SMALL_FUND, BIG_FUND])
    started = time.perf_counter()
    ledger.import_postings(make_postings([SMALL_FUND], small - 1, "HS"), chunk=chunk)
    ledger.import_postings(make_postings([BIG_FUND], snapshot_at - 1, "HB"), chunk=chunk)
    ledger.import_postings(make_postings([BIG_FUND], small, "HT"), chunk=chunk)
    return snapshot_at, time.perf_counter() - started


def measure_histories(
    url: str, ledger: Ledger, *, history: int, small: int, warm: int, cold: int, chunk: int
) -> HistoryResult:
    snapshot_at, build_seconds = build_histories(ledger, history, small, chunk)
    funds = (SMALL_FUND, BIG_FUND)
    versions = tuple(_version_of(ledger, f) for f in funds)
    assert versions == (small, snapshot_at + small), versions
    postings = {f: make_postings([f], warm + cold, "L") for f in funds}

    # Warm: the ledger that built the histories, which holds both funds in its cache.
    warm_seconds: dict[FundId, list[float]] = {f: [] for f in funds}
    for i in range(warm):
        for fund in funds if i % 2 == 0 else funds[::-1]:
            started = time.perf_counter()
            ledger.post(postings[fund][i])
            warm_seconds[fund].append(time.perf_counter() - started)

    # Cold: each posting by a new ledger that has nothing cached, so it loads the fund from
    # its latest snapshot (the big fund) or from its first event (the small one).
    settings = Settings(database_url=url)
    cold_seconds: dict[FundId, list[float]] = {f: [] for f in funds}
    setup_seconds: list[float] = []
    for i in range(warm, warm + cold):
        for fund in funds if i % 2 == 0 else funds[::-1]:
            fresh = bootstrap(settings)
            try:
                started = time.perf_counter()
                fresh.province(PROVINCE)  # connection pool and table check: not the posting
                setup_seconds.append(time.perf_counter() - started)
                started = time.perf_counter()
                fresh.post(postings[fund][i])
                cold_seconds[fund].append(time.perf_counter() - started)
            finally:
                fresh.close()
    # The main ledger's cached funds are now behind: drop them, load them again untimed.
    ledger.province(PROVINCE).forget_cached(f.aggregate_id for f in funds)
    for fund in funds:
        ledger.find_fund(fund)
    # One more import of a chunk into each fund, by the same process (a day's file).
    late = {f: make_postings([f], chunk, "LATE") for f in funds}
    late_imports = (
        timed(functools.partial(ledger.import_postings, late[SMALL_FUND], chunk=chunk)),
        timed(functools.partial(ledger.import_postings, late[BIG_FUND], chunk=chunk)),
    )
    return HistoryResult(
        small_version=versions[0],
        big_version=versions[1],
        build_seconds=build_seconds,
        warm=(Latencies(warm_seconds[SMALL_FUND]), Latencies(warm_seconds[BIG_FUND])),
        cold=(Latencies(cold_seconds[SMALL_FUND]), Latencies(cold_seconds[BIG_FUND])),
        cold_setup=Latencies(setup_seconds),
        late_imports=late_imports,
    )


def voucher_lookup_plans(ledger: Ledger) -> list[str]:
    """How each open connection of the ledger runs its prepared voucher lookup, if prepared.

    ``EXPLAIN EXECUTE`` of psycopg's prepared statement shows the plan PostgreSQL caches for it
    (after five executions it may switch to a generic plan, kept for the connection's life).
    """
    recorder: Any = ledger.province(PROVINCE).recorder
    datastore = recorder.datastore
    size = max(int(datastore.pool.get_stats().get("pool_size", 1)), 1)
    found = []
    with contextlib.ExitStack() as stack:
        conns = [stack.enter_context(datastore.get_connection()) for _ in range(size)]
        for number, conn in enumerate(conns, 1):
            with conn.cursor(row_factory=tuple_row) as cursor:
                cursor.execute(
                    "SELECT name, generic_plans, custom_plans FROM pg_prepared_statements "
                    "WHERE statement LIKE %s",
                    ['%\\_vouchers" WHERE fund = $1 AND reference = ANY($2)%'],
                )
                for name, generic, custom in cursor.fetchall():
                    cursor.execute(
                        sql.SQL("EXPLAIN EXECUTE {}({}, '{{NONE}}')").format(
                            sql.Identifier(name), sql.Literal(str(FUNDS[0]))
                        )
                    )
                    plan = [str(r[0]).strip() for r in cursor.fetchall()]
                    shown = [plan[0].split("  (")[0]] + [
                        line for line in plan[1:] if "Cond:" in line or "Filter:" in line
                    ]
                    found.append(
                        f"connection {number}: {generic} generic / {custom} custom plans; "
                        + "; ".join(shown)
                    )
    return found


def _version_of(ledger: Ledger, fund: FundId) -> int:
    found = ledger.find_fund(fund)
    assert found is not None
    return int(found.version)


# ------------------------------------------------------------------------------ profile


class Stopwatch:
    """Wall-clock time spent in chosen methods, by wrapping them for the duration of a run.

    The wrapped methods do not call one another (but for a snapshot's encoding, once in 500
    single postings), so their times add up; what is left of the total is everything else
    (routing, the library's save bookkeeping, the cache...).
    """

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}
        self._patches: list[tuple[type, str, Any, bool]] = []

    def wrap(self, owner: type, name: str, label: str) -> None:
        original = getattr(owner, name)
        totals = self.totals
        totals.setdefault(label, 0.0)

        @functools.wraps(original)
        def timed_call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                totals[label] += time.perf_counter() - started

        self._patches.append((owner, name, original, name in vars(owner)))
        setattr(owner, name, timed_call)

    def restore(self) -> None:
        for owner, name, original, own in reversed(self._patches):
            if own:
                setattr(owner, name, original)
            else:
                delattr(owner, name)
        self._patches.clear()

    def report(self, title: str, total: float, count: int) -> None:
        print(f"\n{title}: {total:.2f} s, {total / count * 1e6:,.0f} µs a posting")
        rest = total
        for label, seconds in self.totals.items():
            rest -= seconds
            share = seconds / total * 100
            print(f"  {label:<58} {seconds / count * 1e6:8,.0f} µs  {share:5.1f} %")
        print(
            f"  {'everything else':<58} {rest / count * 1e6:8,.0f} µs  {rest / total * 100:5.1f} %"
        )


def _stopwatch(app: ProvinceLedger, *, bulk: bool) -> Stopwatch:
    watch = Stopwatch()
    if bulk:
        watch.wrap(ProvinceLedger, "check_many", "check: load, checks, digest, hash chain, events")
    else:
        watch.wrap(ProvinceLedger, "find_fund", "fund from the cache (deep copy)")
        watch.wrap(LedgerPostgresRecorder, "select_vouchers", "voucher SELECT (a round trip)")
        watch.wrap(_Batch, "stage", "checks, digest, hash chain, event")
    watch.wrap(type(app.mapper), "to_stored_event", "event to JSON bytes (JSONTranscoder)")
    label = "COPY transaction" if bulk else "INSERT transaction (pipeline)"
    watch.wrap(LedgerPostgresRecorder, "insert_events", f"{label}: vouchers, lock, events")
    if bulk:
        watch.wrap(ProvinceLedger, "_after_bulk_write", "cache and snapshots after the write")
    else:
        watch.wrap(ProvinceLedger, "_take_snapshots", "snapshot check")
    return watch


def profile_paths(
    ledger: Ledger, url: str, db: str, schema: str, *, postings: int, singles: int, chunk: int
) -> None:
    """Where the time goes: wall-clock breakdowns, cProfile, and a replay of a posting's SQL.

    Single postings are measured twice: on the ledger that imported (whose connections keep
    the plans they cached then) and on a new ledger (new connections), its funds loaded first.
    """
    app = ledger.province(PROVINCE)
    fresh = bootstrap(Settings(database_url=url))
    try:
        post_each(fresh, make_postings(FUNDS, len(FUNDS), "PW"))  # load the funds, untimed
        fresh_app = fresh.province(PROVINCE)
        bulk = make_postings(FUNDS, postings, "PI")
        runs: list[tuple[str, ProvinceLedger, bool, Callable[[], object], int]] = [
            (
                f"import_postings of {postings:,} postings",
                app,
                True,
                functools.partial(ledger.import_postings, bulk, chunk=chunk),
                postings,
            ),
            (
                f"{singles:,} single postings, the ledger that imported",
                app,
                False,
                functools.partial(post_each, ledger, make_postings(FUNDS, singles, "PS")),
                singles,
            ),
            (
                f"{singles:,} single postings, a new ledger",
                fresh_app,
                False,
                functools.partial(post_each, fresh, make_postings(FUNDS, singles, "PT")),
                singles,
            ),
        ]
        for title, province, is_bulk, action, count in runs:
            _forget_funds(app, fresh_app)  # each wrote after the other: reload from the store
            watch = _stopwatch(province, bulk=is_bulk)
            try:
                total = timed(action)
            finally:
                watch.restore()
            watch.report(f"breakdown, {title}", total, count)
        profiled: list[tuple[str, Callable[[], object]]] = [
            (
                f"import_postings of {postings:,} postings",
                functools.partial(
                    ledger.import_postings, make_postings(FUNDS, postings, "QI"), chunk=chunk
                ),
            ),
            (
                f"{singles:,} single postings, a new ledger",
                functools.partial(post_each, fresh, make_postings(FUNDS, singles, "QT")),
            ),
        ]
        for title, profiled_action in profiled:
            _forget_funds(app, fresh_app)
            profiler = cProfile.Profile()
            profiler.runcall(profiled_action)
            stream = io.StringIO()
            stats = pstats.Stats(profiler, stream=stream)
            stats.sort_stats("tottime").print_stats(15)
            print(f"\ncProfile, {title} (internal time):\n{_trim(stream.getvalue())}")
    finally:
        fresh.close()
    replay_single_sql(db, schema, singles)


def _forget_funds(*apps: ProvinceLedger) -> None:
    for app in apps:
        app.forget_cached(f.aggregate_id for f in FUNDS)


def _trim(report: str) -> str:
    lines = [line for line in report.splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    return "\n".join(_short(line) for line in lines[start:])


def _short(line: str) -> str:
    """A profile line with the file's folder left out (keeps the package and module)."""
    head, sep, where = line.rpartition(" ")
    if os.sep in where:
        parts = where.split(os.sep)
        where = os.sep.join(parts[-2:])
    return f"{head}{sep}{where}"


def replay_single_sql(db: str, schema: str, count: int) -> None:
    """The statements of one ``Ledger.post``, sent by raw psycopg without any ledger code.

    The library: a SELECT of the voucher, then, pipelined in one transaction, INSERT of the
    voucher (unnest of arrays), SET LOCAL lock_timeout, LOCK TABLE ... IN EXCLUSIVE MODE,
    NOTIFY, INSERT of the event RETURNING notification_id, a sync, then COMMIT. Each step is
    dropped in turn to show its cost; the last two variants send the same work in one round
    trip (a single pipeline sync, and one call of a PL/pgSQL function).
    """
    events = sql.Identifier(schema, f"ledger_{PROVINCE}_events")
    vouchers = sql.Identifier(schema, f"ledger_{PROVINCE}_vouchers")
    function = sql.Identifier(schema, "bench_post")
    fund = FundId.parse("resident:141100")
    with psycopg.connect(db, autocommit=True) as conn:
        top = conn.execute(
            sql.SQL("SELECT max(originator_version) FROM {} WHERE originator_id = %s").format(
                events
            ),
            [fund.aggregate_id],
        ).fetchone()
        version = int(top[0]) if top and top[0] is not None else 1
        statements = _replay_statements(events, vouchers, function)
        conn.execute(statements["create_function"])

        def voucher_params(row: Row) -> list[Any]:
            return [[str(fund)], [f"REPLAY-{row[1]}"], ["0" * 64], ["benefit"], [1], [row[1]]]

        def library(
            row: Row, *, select: bool = True, voucher: bool = True, lock: bool = True
        ) -> None:
            if select:
                conn.execute(
                    statements["select"], [str(fund), [f"REPLAY-{row[1]}"]], prepare=True
                ).fetchall()
            with conn.pipeline() as pipeline, conn.transaction():
                if voucher:
                    conn.execute(statements["voucher"], voucher_params(row), prepare=True)
                if lock:
                    conn.execute(statements["lock_timeout"], prepare=True)
                    conn.execute(statements["lock"], prepare=True)
                    conn.execute(statements["notify"])
                cursor = conn.execute(statements["event"], row, prepare=True)
                pipeline.sync()
                cursor.fetchall()

        def one_sync(row: Row) -> None:
            with conn.pipeline() as pipeline:
                conn.execute(statements["begin"])
                conn.execute(statements["voucher"], voucher_params(row), prepare=True)
                conn.execute(statements["lock_timeout"], prepare=True)
                conn.execute(statements["lock"], prepare=True)
                conn.execute(statements["notify"])
                cursor = conn.execute(statements["event"], row, prepare=True)
                conn.execute(statements["commit"])
                pipeline.sync()
                cursor.fetchall()

        def one_call(row: Row) -> None:
            params = [str(fund), f"REPLAY-{row[1]}", "0" * 64, "benefit", 1, row[1], *row]
            conn.execute(statements["call"], params, prepare=True).fetchall()

        variants: list[tuple[str, Callable[[Row], None]]] = [
            ("the library's statements (SELECT; voucher, lock, NOTIFY, event)", library),
            ("  without the voucher SELECT", functools.partial(library, select=False)),
            (
                "  without the voucher SELECT and INSERT",
                functools.partial(library, select=False, voucher=False),
            ),
            (
                "  event INSERT alone, pipelined in BEGIN/sync/COMMIT",
                functools.partial(library, select=False, voucher=False, lock=False),
            ),
            ("no SELECT, the rest in one pipeline sync (one round trip)", one_sync),
            ("no SELECT, the rest in one PL/pgSQL function call", one_call),
        ]
        rows = raw_rows(count * len(variants), [fund.aggregate_id], version + 1)
        print("\nraw psycopg replay of one posting's SQL, one transaction each:")
        for number, (title, send) in enumerate(variants):
            seconds = []
            for row in rows[number * count : (number + 1) * count]:
                started = time.perf_counter()
                send(row)
                seconds.append(time.perf_counter() - started)
            print(f"  {title:<62} {Latencies(seconds).line()}")


def _replay_statements(
    events: sql.Identifier, vouchers: sql.Identifier, function: sql.Identifier
) -> dict[str, sql.SQL | sql.Composed]:
    channel = sql.Identifier(f"ledger_{PROVINCE}_events")
    columns = "fund, reference, digest, line, amount_fen, fund_version"
    return {
        "select": sql.SQL("SELECT * FROM {} WHERE fund = %s AND reference = ANY(%s)").format(
            vouchers
        ),
        "voucher": sql.SQL(
            f"INSERT INTO {{}} ({columns}) SELECT * FROM unnest(%s::text[], %s::text[], "
            "%s::text[], %s::text[], %s::bigint[], %s::bigint[])"
        ).format(vouchers),
        "lock_timeout": sql.SQL("SET LOCAL lock_timeout = '30s'"),
        "lock": sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(events),
        "notify": sql.SQL("NOTIFY {}").format(channel),
        "event": sql.SQL(
            f"INSERT INTO {{}} ({RAW_COLUMNS}) VALUES (%s, %s, %s, %s) RETURNING notification_id"
        ).format(events),
        "begin": sql.SQL("BEGIN"),
        "commit": sql.SQL("COMMIT"),
        "create_function": sql.SQL(
            "CREATE FUNCTION {function}(v_fund text, v_reference text, v_digest text, "
            "v_line text, v_amount bigint, v_version bigint, e_id uuid, e_version bigint, "
            "e_topic text, e_state bytea) RETURNS bigint LANGUAGE plpgsql AS $$ "
            "DECLARE id bigint; BEGIN "
            "SET LOCAL lock_timeout = '30s'; LOCK TABLE {events} IN EXCLUSIVE MODE; "
            "NOTIFY {channel}; "
            f"INSERT INTO {{vouchers}} ({columns}) VALUES "
            "(v_fund, v_reference, v_digest, v_line, v_amount, v_version); "
            f"INSERT INTO {{events}} ({RAW_COLUMNS}) VALUES (e_id, e_version, e_topic, e_state) "
            "RETURNING notification_id INTO id; RETURN id; END $$"
        ).format(function=function, events=events, vouchers=vouchers, channel=channel),
        "call": sql.SQL("SELECT {}(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)").format(function),
    }


# ------------------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Write rates of the ledger on PostgreSQL, against raw psycopg."
    )
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--postings", type=int, default=100_000, help="postings imported")
    parser.add_argument("--chunk", type=int, default=2_000, help="postings per import save")
    parser.add_argument("--singles", type=int, default=3_000, help="single postings")
    parser.add_argument("--history", type=int, default=100_000, help="events of the big fund")
    parser.add_argument("--small", type=int, default=100, help="events of the small fund")
    parser.add_argument("--warm", type=int, default=300, help="warm postings per fund")
    parser.add_argument("--cold", type=int, default=40, help="cold postings per fund")
    parser.add_argument("--profile", action="store_true", help="add profiled runs")
    parser.add_argument("--keep", action="store_true", help="keep the schema")
    args = parser.parse_args()
    if not 2 <= args.small < SNAPSHOT_INTERVAL or args.history < SNAPSHOT_INTERVAL:
        parser.error(f"--small is 2 to {SNAPSHOT_INTERVAL - 1}; --history {SNAPSHOT_INTERVAL}+")
    if min(args.postings, args.singles, args.chunk, args.warm, args.cold) < 1:
        parser.error("every count is at least 1")

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    url = f"{args.db}{'&' if '?' in args.db else '?'}schema={schema}"
    for fact in machine_facts(args.db):
        print(fact)
    print(
        f"schema {schema}; postings {args.postings:,} over {len(FUNDS)} funds, chunk "
        f"{args.chunk:,}; singles {args.singles:,}; history {args.history:,}\n",
        flush=True,
    )
    raw_conn = psycopg.connect(args.db, autocommit=True)
    raw_conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    ledger = bootstrap(Settings(database_url=url))
    try:
        run(args, url, schema, ledger, raw_conn)
    finally:
        ledger.close()
        if not args.keep:
            raw_conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        raw_conn.close()


def run(
    args: argparse.Namespace,
    url: str,
    schema: str,
    ledger: Ledger,
    raw_conn: psycopg.Connection[Any],
) -> None:
    ledger.init([PROVINCE])
    open_funds(ledger, FUNDS)

    progress("1. import: a dry run (checks alone), then the import")
    bulk = make_postings(FUNDS, args.postings, "I")
    dry = timed(lambda: ledger.import_postings(bulk, chunk=args.chunk, dry_run=True))
    imported = timed(lambda: ledger.import_postings(bulk, chunk=args.chunk))
    import_rate = args.postings / imported

    progress("3. raw psycopg: batched writes of the same number of rows")
    originators = [uuid.uuid4() for _ in FUNDS]
    rows = raw_rows(args.postings + 2 * args.singles, originators, 2)
    bulk_rows = rows[: args.postings]
    single_rows, fresh_rows = (
        rows[args.postings : args.postings + args.singles],
        rows[args.postings + args.singles :],
    )
    table_b = RawTable(raw_conn, schema, "raw_b")
    table_c = RawTable(raw_conn, schema, "raw_c")
    table_d = RawTable(raw_conn, schema, "raw_d")
    raw_c = args.postings / table_c.executemany(bulk_rows, args.chunk)
    raw_b = args.postings / table_b.executemany(bulk_rows, 100)
    raw_d = args.postings / table_d.copy_batches(bulk_rows, args.chunk)

    progress("2. single postings, in blocks alternating with raw one-row transactions (3a)")
    singles, raw_single = singles_against_raw(
        ledger, make_postings(FUNDS, args.singles, "S"), table_b, single_rows
    )
    single_rate = args.singles / sum(singles.seconds)
    raw_a = args.singles / sum(raw_single.seconds)
    plans = voucher_lookup_plans(ledger)

    progress("2'. the same on a new ledger (new connections, so no plan cached during the import)")
    fresh = bootstrap(Settings(database_url=url))
    try:
        post_each(fresh, make_postings(FUNDS, len(FUNDS), "W"))  # load the funds, untimed
        fresh_singles, fresh_raw_single = singles_against_raw(
            fresh, make_postings(FUNDS, args.singles, "T"), table_b, fresh_rows
        )
        fresh_plans = voucher_lookup_plans(fresh)
    finally:
        fresh.close()
    ledger.province(PROVINCE).forget_cached(f.aggregate_id for f in FUNDS)  # now behind
    fresh_rate = args.singles / sum(fresh_singles.seconds)
    fresh_raw_a = args.singles / sum(fresh_raw_single.seconds)
    library_state = event_sizes(args.db, schema)

    print(
        f"\n1. import_postings: {args.postings:,} postings in {imported:.2f} s = "
        f"{import_rate:,.0f} postings/s (its checks alone, a dry run: {dry:.2f} s = "
        f"{args.postings / dry:,.0f} postings/s)"
    )
    print(
        f"2. post: {args.singles:,} single postings = {single_rate:,.0f} postings/s; "
        f"{singles.line()}"
    )
    print("   voucher lookup plans of the ledger's connections afterwards:")
    for plan in plans:
        print(f"     {plan}")
    print(
        f"2'. post on a new ledger: {args.singles:,} single postings = {fresh_rate:,.0f} "
        f"postings/s; {fresh_singles.line()}"
    )
    print("   its voucher lookup plans afterwards:")
    for plan in fresh_plans or ["(none prepared: custom plans)"]:
        print(f"     {plan}")
    print(
        f"3. raw psycopg, state {raw_state_size(rows):.0f} bytes a row "
        f"(the ledger's events: {library_state:.0f} bytes):"
    )
    print(
        f"   (a) one row per transaction:               {raw_a:9,.0f} rows/s; {raw_single.line()}"
    )
    print(
        f"   (a') the same, alternating with 2':        {fresh_raw_a:9,.0f} rows/s; "
        f"{fresh_raw_single.line()}"
    )
    print(f"   (b) executemany, 100 rows a transaction:   {raw_b:9,.0f} rows/s")
    print(f"   (c) executemany, {args.chunk:,} rows a transaction: {raw_c:9,.0f} rows/s")
    print(f"   (d) COPY, {args.chunk:,} rows a transaction:        {raw_d:9,.0f} rows/s")

    ratio_import = import_rate / raw_b
    ratio_single = single_rate / raw_a
    print("4. ratios:")
    print(
        f"   import / raw batched (b)      = {ratio_import:5.2f}  goal >= {IMPORT_GOAL}: "
        f"{verdict(ratio_import >= IMPORT_GOAL)}"
    )
    print(
        f"   import / raw chunk-sized (c)  = {import_rate / raw_c:5.2f}  like for like: "
        f"{verdict(import_rate / raw_c >= IMPORT_GOAL)} against {IMPORT_GOAL}"
    )
    print(f"   import / raw COPY (d)         = {import_rate / raw_d:5.2f}  (information)")
    print(
        f"   single / raw one row (a)      = {ratio_single:5.2f}  goal >= {SINGLE_GOAL}: "
        f"{verdict(ratio_single >= SINGLE_GOAL)}"
    )
    ratio_fresh = fresh_rate / fresh_raw_a
    print(
        f"   single, new ledger / raw (a') = {ratio_fresh:5.2f}  goal >= {SINGLE_GOAL}: "
        f"{verdict(ratio_fresh >= SINGLE_GOAL)} (without the cached generic plan)",
        flush=True,
    )

    progress("5. building the histories, then warm and cold postings on both funds")
    result = measure_histories(
        url,
        ledger,
        history=args.history,
        small=args.small,
        warm=args.warm,
        cold=args.cold,
        chunk=args.chunk,
    )
    plans = voucher_lookup_plans(ledger)
    print(
        f"\n5. one posting on a fund of {result.small_version:,} events against one of "
        f"{result.big_version:,} events (snapshot at {result.big_version - args.small:,}); "
        f"histories imported in {result.build_seconds:.1f} s"
    )
    first, last = args.small + args.warm, args.small + args.warm + args.cold - 1
    print(
        "   warm: the process that imported them, funds in its cache; cold: a new ledger per "
        "posting, loading the fund from its snapshot (big) or its start (small), replaying "
        f"{first:,} to {last:,} events"
    )
    if last >= SNAPSHOT_INTERVAL:
        print("   (both funds passed a snapshot boundary at the same posting during the run)")
    for name, (small, big) in (("warm", result.warm), ("cold", result.cold)):
        ratio = big.mean_ms / small.mean_ms
        ratio95 = big.p95_ms / small.p95_ms
        print(f"   {name}, {len(small.seconds)} each, small: {small.line()}")
        print(f"   {name}, {len(big.seconds)} each, big:   {big.line()}")
        print(
            f"   {name} big / small: mean {ratio:.2f}, p95 {ratio95:.2f}; goal about equal "
            f"(<= {FLAT_RATIO}): {verdict(ratio <= FLAT_RATIO)}"
        )
    print(
        f"   (cold, not timed above: a new ledger's connections and table check: "
        f"{result.cold_setup.line()})"
    )
    small_late, big_late = result.late_imports
    print(
        f"   import of {args.chunk:,} more postings by that process: small fund "
        f"{small_late:.2f} s, big fund {big_late:.2f} s (big / small {big_late / small_late:.2f})"
    )
    print("   voucher lookup plans of the warm ledger's connections afterwards:")
    for plan in plans:
        print(f"     {plan}")

    if args.profile:
        profile_paths(
            ledger,
            url,
            args.db,
            schema,
            postings=max(args.postings // 5, 1),
            singles=1_000,
            chunk=args.chunk,
        )


def progress(text: str) -> None:
    print(f"... {text}", flush=True)


def singles_against_raw(
    ledger: Ledger,
    postings: Sequence[Posting],
    table: RawTable,
    rows: Sequence[Row],
    block: int = 100,
) -> tuple[Latencies, Latencies]:
    """Single postings and raw one-row transactions in alternate blocks, so that both see the
    same disk and machine (an fsync's latency drifts on a shared machine)."""
    library: list[float] = []
    raw: list[float] = []
    for start in range(0, len(postings), block):
        library.extend(post_each(ledger, postings[start : start + block]).seconds)
        raw.extend(table.one_per_transaction(rows[start : start + block]).seconds)
    return Latencies(library), Latencies(raw)


if __name__ == "__main__":
    main()
