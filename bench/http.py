"""Benchmark: the HTTP API under concurrent writers, against raw psycopg writes, in one run.

Prints, in one run on PostgreSQL:

1. postings/s over HTTP with 1, 8 and 32 concurrent clients sending single postings
   (``POST /v1/postings``), which the server's group commit saves together;
2. postings/s of batch uploads (``POST /v1/postings/batch``, JSON arrays);
3. the latency (p50, p99) of a statement and of the ratios while 8 clients write;
4. raw psycopg 3 baselines in the same run, on the same server: one-row transactions and
   ``executemany`` in transactions of 100 rows, of rows shaped like the ledger's events;
5. each goal of docs/operations.md against its figure.

    python bench/http.py [--db postgresql://postgres@127.0.0.1:5432/test] [--scale 60]
                         [--workers 2] [--keep]

The store is the one ``fundledger demo --scale N`` builds (Shanxi, 2022-2025; ``--scale 60``,
the default, writes a million postings and more events), in a schema of its own that is
dropped at the end unless ``--keep``. The server is ``fundledger serve`` in a process of its
own, with a provincial token made by ``fundledger tokens add``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

# This script shares its name with the standard library's ``http`` package: run as a file, its
# folder is first on the path and would shadow it, so the folder is taken off the path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import httpx  # noqa: E402
import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from api.bootstrap import bootstrap_app  # noqa: E402
from api.demo import run_demo  # noqa: E402
from api.settings import Settings  # noqa: E402

POOLS = [f"resident:14{city:02d}00" for city in range(1, 12)]
"""The demo's eleven city pools, written round robin."""

VALUE_DATE = "2026-06-30"
"""A day of a year the demo leaves open."""

MAX_SECONDS_PER_STEP = 600
"""No step of the benchmark runs longer than this."""


def _ingest() -> ModuleType:
    """bench/ingest.py, for its raw psycopg baseline and machine facts (one copy of each)."""
    spec = importlib.util.spec_from_file_location("bench_ingest", Path(_HERE) / "ingest.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_ingest"] = module
    spec.loader.exec_module(module)
    return module


def progress(text: str) -> None:
    print(f"... {text}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def posting(prefix: str, i: int) -> dict[str, str]:
    """One small interest posting, unique by its reference."""
    return {
        "fund": POOLS[i % len(POOLS)],
        "line": "interest",
        "amount": f"{1 + i % 97}.{i % 100:02d}",
        "value_date": VALUE_DATE,
        "reference": f"{prefix}-{i:08d}",
    }


def percentile(seconds: Sequence[float], p: float) -> float:
    ordered = sorted(seconds)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
    return ordered[index] * 1000


# ------------------------------------------------------------------------------ the server


class Server:
    """``fundledger serve`` in a process of its own."""

    def __init__(self, url: str, workers: int) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "FUNDLEDGER_DATABASE_URL": url}
        self.token = (
            subprocess.run(
                [
                    "fundledger",
                    "tokens",
                    "add",
                    f"bench-{uuid.uuid4().hex[:6]}",
                    "--role",
                    "provincial",
                    "--region",
                    "140000",
                ],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        self.process = subprocess.Popen(
            [
                "fundledger",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit("the server did not answer /healthz within 60 s")

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


# ------------------------------------------------------------------------------ load
#
# Each client is a thread with its own keep-alive connection (a synchronous httpx client):
# asyncio clients send a request's head and body in two writes, which Nagle's algorithm and
# the server's delayed ACK turn into a 40 ms wait per request, a figure of the client alone.


def _client(server: Server) -> httpx.Client:
    return httpx.Client(base_url=server.base, headers=server.headers, timeout=60)


def _write_all(server: Server, rows: Sequence[dict[str, str]], latencies: list[float]) -> None:
    with _client(server) as client:
        for row in rows:
            started = time.perf_counter()
            answer = client.post("/v1/postings", json=row)
            latencies.append(time.perf_counter() - started)
            if answer.status_code != 201:
                raise SystemExit(f"posting refused: {answer.status_code} {answer.text[:300]}")


def _run_threads(jobs: Sequence[Callable[[], None]]) -> float:
    """Run every job on a thread of its own, all at once; answer the wall seconds."""
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        started = time.perf_counter()
        futures = [pool.submit(job) for job in jobs]
        for future in futures:
            future.result(timeout=MAX_SECONDS_PER_STEP)
        return time.perf_counter() - started


def singles(server: Server, clients: int, count: int, prefix: str) -> tuple[float, float]:
    """``count`` single postings from ``clients`` concurrent clients: postings/s, p50 ms."""
    rows = [posting(prefix, i) for i in range(count)]
    latencies: list[float] = []
    jobs = [
        lambda share=rows[c::clients]: _write_all(server, share, latencies) for c in range(clients)
    ]
    elapsed = _run_threads(jobs)
    return count / elapsed, statistics.median(latencies) * 1000


def batches(server: Server, clients: int, count: int, size: int, prefix: str) -> float:
    """``count`` postings as batch uploads of ``size`` rows from ``clients`` clients."""
    rows = [posting(prefix, i) for i in range(count)]
    chunks = [rows[start : start + size] for start in range(0, count, size)]

    def upload(mine: Sequence[list[dict[str, str]]]) -> None:
        with _client(server) as client:
            for chunk in mine:
                answer = client.post("/v1/postings/batch", json=chunk, timeout=600)
                if answer.status_code != 201:
                    raise SystemExit(f"batch refused: {answer.status_code} {answer.text[:300]}")

    elapsed = _run_threads([lambda mine=chunks[c::clients]: upload(mine) for c in range(clients)])
    return count / elapsed


def reads_under_load(
    server: Server, writers: int, count: int, prefix: str, reads: int
) -> dict[str, list[float]]:
    """Statement and ratios latencies while ``writers`` clients post ``count`` postings."""
    found: dict[str, list[float]] = {"statement": [], "ratios": []}
    paths = {
        "statement": f"/v1/funds/{POOLS[0]}/statement?year=2025",
        "ratios": "/v1/ratios?year=2025",
    }
    writing = threading.Event()
    writing.set()

    def reader(name: str) -> None:
        with _client(server) as client:
            while writing.is_set() and len(found[name]) < reads:
                started = time.perf_counter()
                answer = client.get(paths[name])
                found[name].append(time.perf_counter() - started)
                if answer.status_code != 200:
                    raise SystemExit(f"{name} refused: {answer.status_code} {answer.text[:300]}")

    def load() -> None:
        rows = [posting(prefix, i) for i in range(count)]
        latencies: list[float] = []
        try:
            _run_threads(
                [
                    lambda share=rows[c::writers]: _write_all(server, share, latencies)
                    for c in range(writers)
                ]
            )
        finally:
            writing.clear()

    _run_threads([load, lambda: reader("statement"), lambda: reader("ratios")])
    return found


# ------------------------------------------------------------------------------ the run


def build(url: str, scale: int) -> int:
    """The store of ``fundledger demo --scale SCALE``, read models caught up."""
    app = bootstrap_app(Settings(database_url=url))
    try:
        app.init()
        summary = run_demo(app.ledger, scale=scale)
        app.read_models.catch_up()
        return int(summary.posted)
    finally:
        app.close()


def event_count(db: str, schema: str) -> int:
    with psycopg.connect(db) as conn:
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(
                sql.Identifier(schema, "ledger_140000_events")
            )
        ).fetchone()
    return int(row[0]) if row else 0


def raw_baselines(ingest: ModuleType, db: str, schema: str, rows: int) -> tuple[float, float]:
    """Raw psycopg rows/s: one-row transactions, ``executemany`` of 100 per transaction."""
    data = ingest.raw_rows(2 * rows, [uuid.uuid4() for _ in POOLS], 2)
    with psycopg.connect(db, autocommit=True) as conn:
        one = ingest.RawTable(conn, schema, "raw_one").one_per_transaction(data[:rows])
        many = ingest.RawTable(conn, schema, "raw_many").executemany(data[rows:], 100)
    return rows / sum(one.seconds), rows / many


def report(figures: dict[str, Any]) -> None:
    one, eight, many = figures["singles"][1], figures["singles"][8], figures["singles"][32]
    raw_one, raw_many = figures["raw_one"], figures["raw_many"]
    print("\n| measure | figure | against raw psycopg | goal |")
    print("| --- | --- | --- | --- |")
    for clients, (rate, p50) in figures["singles"].items():
        print(
            f"| single postings, {clients} client(s) | {rate:,.0f} postings/s (p50 {p50:.1f} ms) "
            f"| {rate / raw_one:.2f} of one-row transactions | |"
        )
    print(
        f"| batch uploads of {figures['batch_size']} | {figures['batch']:,.0f} postings/s "
        f"| {figures['batch'] / raw_many:.2f} of executemany-100 | ≥ 0.25 |"
    )
    for name, seconds in figures["reads"].items():
        print(
            f"| {name} under 8 writers | p50 {percentile(seconds, 50):.1f} ms, "
            f"p99 {percentile(seconds, 99):.1f} ms ({len(seconds)} reads) | | "
            + ("p99 < 50 ms |" if name == "statement" else "|")
        )
    print(f"| raw one-row transactions | {raw_one:,.0f} rows/s | 1 | |")
    print(f"| raw executemany-100 | {raw_many:,.0f} rows/s | 1 | |")
    goals = [
        ("32 clients ≥ half the raw one-row rate", many[0] >= raw_one / 2),
        ("32 clients ≥ 3× the 1-client rate", many[0] >= 3 * one[0]),
        ("batch uploads ≥ 25% of raw executemany-100", figures["batch"] >= raw_many / 4),
        ("statement p99 under 50 ms", percentile(figures["reads"]["statement"], 99) < 50),
    ]
    print()
    for goal, ok in goals:
        print(f"{'MET ' if ok else 'MISSED'}  {goal}")
    print(f"(8 clients: {eight[0]:,.0f} postings/s = {eight[0] / one[0]:.1f}× one client)")


def main() -> None:
    parser = argparse.ArgumentParser(description="The HTTP API under load, against raw psycopg.")
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--scale", type=int, default=60, help="demo --scale of the store")
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--singles", type=int, default=2_000, help="postings per client count")
    parser.add_argument("--batch-postings", type=int, default=40_000, help="postings uploaded")
    parser.add_argument("--batch-size", type=int, default=1_000, help="rows per upload")
    parser.add_argument("--reads", type=int, default=500, help="reads of each kind at most")
    parser.add_argument("--raw", type=int, default=3_000, help="raw rows per baseline")
    parser.add_argument("--keep", action="store_true", help="keep the schema")
    args = parser.parse_args()
    ingest = _ingest()
    schema = f"bench_http_{uuid.uuid4().hex[:8]}"
    url = f"{args.db}{'&' if '?' in args.db else '?'}schema={schema}"
    for fact in ingest.machine_facts(args.db):
        print(fact)
    with psycopg.connect(args.db, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    server: Server | None = None
    try:
        progress(f"building the store of demo --scale {args.scale}")
        posted = build(url, args.scale)
        print(f"store: {posted:,} postings, {event_count(args.db, schema):,} events ({schema})")
        print(f"server: fundledger serve --workers {args.workers}\n", flush=True)
        server = Server(url, args.workers)
        figures: dict[str, Any] = {"singles": {}, "batch_size": args.batch_size}
        for clients in (1, 8, 32):
            progress(f"single postings, {clients} client(s)")
            figures["singles"][clients] = singles(server, clients, args.singles, f"S{clients}")
        progress("batch uploads")
        figures["batch"] = batches(server, 2, args.batch_postings, args.batch_size, "B")
        progress("statement and ratios under 8 writers")
        figures["reads"] = reads_under_load(server, 8, args.singles, "R", args.reads)
        progress("raw psycopg baselines")
        figures["raw_one"], figures["raw_many"] = raw_baselines(ingest, args.db, schema, args.raw)
        report(figures)
    finally:
        if server is not None:
            server.stop()
        if not args.keep:
            with psycopg.connect(args.db, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


if __name__ == "__main__":
    main()
