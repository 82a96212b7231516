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
                         [--workers 2] [--keep] [--schema NAME] [--build-only]
                         [--only reads]

The store is the one ``fundledger demo --scale N`` builds (Shanxi, 2022-2025; ``--scale 60``,
the default, writes a million postings and more events), in a schema of its own that is
dropped at the end unless ``--keep``; ``--schema NAME`` uses (and keeps) that schema, building
the store there only when it has no events yet, so one slow build serves many runs
(``--build-only`` stops after building; ``--only reads`` runs only step 3, and prints where the
reads' time went, from the server's metrics). The server is ``fundledger serve`` in a process of its
own, with a provincial token made by ``fundledger tokens add``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
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
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

# This script shares its name with the standard library's ``http`` package: run as a file, its
# folder is first on the path and would shadow it, so the folder is taken off the path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import urllib.request  # noqa: E402 - imports http.client

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

    def __init__(self, url: str, workers: int, log: str | None = None) -> None:
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
            stderr=open(log, "ab") if log else subprocess.DEVNULL,  # noqa: SIM115 - the server's
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
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
# Each client is a thread with its own keep-alive connection: a plain socket (TCP_NODELAY)
# that sends each request whole, head and body in one write, and reads the answer's head and
# its Content-Length bytes. No HTTP library per request: the client must not eat the CPU the
# server needs (the machine's two cores run both). A request's JSON is encoded before its
# clock starts.


class Client:
    """One keep-alive HTTP/1.1 connection to the server, for one thread."""

    def __init__(self, server: Server) -> None:
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=600)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.auth = f"Authorization: Bearer {server.token}\r\nHost: 127.0.0.1\r\n".encode()
        self.pending = b""

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.sock.close()

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        """Send one request, answer (status, body)."""
        head = f"{method} {path} HTTP/1.1\r\n".encode() + self.auth
        if body is not None:
            head += b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
        self.sock.sendall(head + b"\r\n" + (body or b""))
        return self._answer()

    def _answer(self) -> tuple[int, bytes]:
        data = self.pending
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise SystemExit("the server closed the connection")
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
            elif name.strip().lower() == b"transfer-encoding":
                raise SystemExit("a chunked answer: the bench client reads Content-Length only")
        while len(rest) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise SystemExit("the server closed the connection")
            rest += chunk
        self.pending = rest[length:]
        return status, rest[:length]


def _write_all(server: Server, rows: Sequence[dict[str, str]], latencies: list[float]) -> None:
    bodies = [json.dumps(row).encode() for row in rows]
    with Client(server) as client:
        for body in bodies:
            started = time.perf_counter()
            status, answer = client.request("POST", "/v1/postings", body)
            latencies.append(time.perf_counter() - started)
            if status != 201:
                raise SystemExit(f"posting refused: {status} {answer[:300]!r}")


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
    jobs = [partial(_write_all, server, rows[c::clients], latencies) for c in range(clients)]
    elapsed = _run_threads(jobs)
    return count / elapsed, statistics.median(latencies) * 1000


def batches(server: Server, clients: int, count: int, size: int, prefix: str) -> float:
    """``count`` postings as batch uploads of ``size`` rows from ``clients`` clients."""
    rows = [posting(prefix, i) for i in range(count)]
    chunks = [rows[start : start + size] for start in range(0, count, size)]

    def upload(mine: Sequence[list[dict[str, str]]]) -> None:
        bodies = [json.dumps(chunk).encode() for chunk in mine]
        with Client(server) as client:
            for body in bodies:
                status, answer = client.request("POST", "/v1/postings/batch", body)
                if status != 201:
                    raise SystemExit(f"batch refused: {status} {answer[:300]!r}")

    elapsed = _run_threads([partial(upload, chunks[c::clients]) for c in range(clients)])
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
        with Client(server) as client:
            while writing.is_set() and len(found[name]) < reads:
                started = time.perf_counter()
                status, answer = client.request("GET", paths[name])
                found[name].append(time.perf_counter() - started)
                if status != 200:
                    raise SystemExit(f"{name} refused: {status} {answer[:300]!r}")

    def load() -> None:
        rows = [posting(prefix, i) for i in range(count)]
        latencies: list[float] = []
        try:
            _run_threads(
                [partial(_write_all, server, rows[c::writers], latencies) for c in range(writers)]
            )
        finally:
            writing.clear()

    _run_threads([load, lambda: reader("statement"), lambda: reader("ratios")])
    return found


def read_phases(server: Server) -> list[str]:
    """Where the reads' time went, from the server's metrics (every worker's): per phase of
    a read (waiting for the background projector, catching up itself, the query) the count,
    the mean and the shares within 10, 25, 50 and 100 ms; the projector's passes and the
    batches it lost to another worker's projector."""
    with urllib.request.urlopen(f"{server.base}/metrics", timeout=30) as answer:
        text = answer.read().decode()
    found: dict[str, dict[str, float]] = {}
    lines = []
    for line in text.splitlines():
        if line.startswith("fundledger_read_phase_seconds"):
            name, _, value = line.rpartition(" ")
            phase = name.split('phase="')[1].split('"')[0]
            kind = name.split("{")[0].rsplit("_", 1)[1]
            bound = name.split('le="')[1].split('"')[0] if kind == "bucket" else ""
            if bound in ("0.01", "0.025", "0.05", "0.1"):
                found.setdefault(phase, {})[bound] = float(value)
            elif kind in ("count", "sum"):
                found.setdefault(phase, {})[kind] = float(value)
        elif (
            line.startswith(("fundledger_projector_passes", "fundledger_projector_batches"))
            and "_created" not in line
        ):
            lines.append(line)
    for phase, figures in found.items():
        count = figures.get("count", 0)
        if count:
            lines.insert(
                0,
                f"{phase}: {count:.0f} reads, mean {figures['sum'] / count * 1000:.1f} ms; "
                + ", ".join(
                    f"{figures.get(bound, 0) / count:.0%} ≤ {float(bound) * 1000:.0f} ms"
                    for bound in ("0.01", "0.025", "0.05", "0.1")
                ),
            )
    return lines


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


def schema_exists(db: str, schema: str) -> bool:
    with psycopg.connect(db) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_namespace WHERE nspname = %s", (schema,)
        ).fetchone()
    return bool(row and row[0])


def has_events(db: str, schema: str) -> bool:
    with psycopg.connect(db) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = %s AND tablename = %s",
            (schema, "ledger_140000_events"),
        ).fetchone()
    return bool(row and row[0]) and event_count(db, schema) > 0


def raw_baselines(
    ingest: ModuleType, db: str, schema: str, rows: int, run: str
) -> tuple[float, float]:
    """Raw psycopg rows/s: one-row transactions, ``executemany`` of 100 per transaction."""
    data = ingest.raw_rows(2 * rows, [uuid.uuid4() for _ in POOLS], 2)
    with psycopg.connect(db, autocommit=True) as conn:
        tables = [ingest.RawTable(conn, schema, f"raw_{kind}_{run}") for kind in ("one", "many")]
        try:
            one = tables[0].one_per_transaction(data[:rows])
            many = tables[1].executemany(data[rows:], 100)
        finally:
            for table in tables:
                conn.execute(sql.SQL("DROP TABLE {}").format(table.table))
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
    parser.add_argument("--schema", help="use and keep this schema; build the store if empty")
    parser.add_argument("--build-only", action="store_true", help="stop after the build")
    parser.add_argument("--server-log", help="append the server's log (stderr) to this file")
    parser.add_argument(
        "--only",
        choices=["reads", "singles"],
        help="run only the reads under 8 writers, or only the single postings",
    )
    args = parser.parse_args()
    ingest = _ingest()
    run = uuid.uuid4().hex[:8]
    schema = args.schema or f"bench_http_{run}"
    keep = args.keep or args.schema is not None
    url = f"{args.db}{'&' if '?' in args.db else '?'}schema={schema}"
    for fact in ingest.machine_facts(args.db):
        print(fact)
    if not schema_exists(args.db, schema):
        with psycopg.connect(args.db, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    server: Server | None = None
    try:
        if has_events(args.db, schema):
            print(f"store: kept, {event_count(args.db, schema):,} events ({schema})")
        else:
            progress(f"building the store of demo --scale {args.scale}")
            posted = build(url, args.scale)
            print(f"store: {posted:,} postings, {event_count(args.db, schema):,} events ({schema})")
        if args.build_only:
            return
        print(f"server: fundledger serve --workers {args.workers}\n", flush=True)
        server = Server(url, args.workers, args.server_log)
        if args.only == "reads":
            print(f"uptime: {os.getloadavg()}")
            found = reads_under_load(server, 8, args.singles, f"{run}-R", args.reads)
            for name, seconds in found.items():
                print(
                    f"{name} under 8 writers: p50 {percentile(seconds, 50):.1f} ms, "
                    f"p99 {percentile(seconds, 99):.1f} ms, max {max(seconds) * 1000:.1f} ms "
                    f"({len(seconds)} reads)"
                )
            print("\n".join(read_phases(server)))
            print(f"uptime: {os.getloadavg()}")
            return
        figures: dict[str, Any] = {"singles": {}, "batch_size": args.batch_size}
        for clients in (1, 8, 32):
            progress(f"single postings, {clients} client(s)")
            figures["singles"][clients] = singles(
                server, clients, args.singles, f"{run}-S{clients}"
            )
            if args.only == "singles":
                rate, p50 = figures["singles"][clients]
                print(f"{clients} client(s): {rate:,.0f} postings/s (p50 {p50:.1f} ms)")
        if args.only == "singles":
            return
        progress("batch uploads")
        figures["batch"] = batches(server, 2, args.batch_postings, args.batch_size, f"{run}-B")
        progress("statement and ratios under 8 writers")
        figures["reads"] = reads_under_load(server, 8, args.singles, f"{run}-R", args.reads)
        progress("raw psycopg baselines")
        figures["raw_one"], figures["raw_many"] = raw_baselines(
            ingest, args.db, schema, args.raw, run
        )
        report(figures)
    finally:
        if server is not None:
            server.stop()
        if not keep:
            with psycopg.connect(args.db, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


if __name__ == "__main__":
    main()
