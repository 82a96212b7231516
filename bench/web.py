"""Benchmark: every workbench page against the JSON route that answers the same figures.

In one run, on one ``fundledger serve`` over a ``fundledger demo --scale N`` store on
PostgreSQL (Shanxi, 2022-2025; ``--scale 60``, the default, is a million postings), each page
and its JSON route are requested in turn by one client, and their latencies compared:

- ``GET /overview?year=2025`` against ``GET /v1/ratios?year=2025``;
- ``GET /funds/resident:140100?year=2025`` against
  ``GET /v1/funds/resident:140100/statement?year=2025``;
- ``GET /yearend?province=140000&year=2025`` against ``POST /v1/settlements/dry-run``;
- ``GET /auditor?province=140000`` (the seals) against ``GET /v1/audit/anchors?province=140000``.

The goal (issue 11): every page under 300 ms at p95. The pages are read as a signed-in
provincial officer (the role that sees the most). ``/auditor/verify`` replays every event of
the province; it is timed once beside ``POST /v1/audit/verify``, not held to the goal.

    python bench/web.py [--db postgresql://postgres@127.0.0.1:5432/test] [--scale 60]
                        [--requests 40] [--schema NAME] [--keep]

``--schema`` uses (and keeps) a schema, building the store there when it is empty: a second
run on the same store skips the build. ``--no-verify`` skips the replay (minutes at scale 60).
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

# bench/http.py shares its name with the standard library's ``http`` package: run as a file,
# this folder is first on the path and would shadow it, so the folder is taken off the path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import httpx  # noqa: E402
import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/test"
GOAL_MS = 300.0
YEAR = 2025
PROVINCE = "140000"
FUND = "resident:140100"


def progress(text: str) -> None:
    print(f"... {text}", file=sys.stderr, flush=True)


def fundledger(*args: str, url: str, timeout: float = 7200) -> str:
    done = subprocess.run(
        [sys.executable, "-c", "from api.cli import main; main()", *args, "--db", url],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"fundledger {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def has_events(db: str, schema: str) -> bool:
    with psycopg.connect(db) as conn:
        found = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s",
            (schema,),
        ).fetchone()
    return bool(found and found[0])


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
    return ordered[index]


@dataclass(frozen=True)
class Pair:
    name: str
    page: str
    json: Callable[[httpx.Client], httpx.Response] | None
    json_label: str


def pairs() -> list[Pair]:
    dry_run = {"province": PROVINCE, "year": YEAR}
    return [
        Pair(
            "overview",
            f"/overview?year={YEAR}",
            lambda c: c.get(f"/v1/ratios?year={YEAR}"),
            f"GET /v1/ratios?year={YEAR}",
        ),
        Pair(
            "fund",
            f"/funds/{FUND}?year={YEAR}",
            lambda c: c.get(f"/v1/funds/{FUND}/statement?year={YEAR}"),
            f"GET /v1/funds/{FUND}/statement?year={YEAR}",
        ),
        Pair(
            "yearend",
            f"/yearend?province={PROVINCE}&year={YEAR}",
            lambda c: c.post("/v1/settlements/dry-run", json=dry_run),
            "POST /v1/settlements/dry-run",
        ),
        Pair(
            "auditor",
            f"/auditor?province={PROVINCE}",
            lambda c: c.get(f"/v1/audit/anchors?province={PROVINCE}"),
            f"GET /v1/audit/anchors?province={PROVINCE}",
        ),
    ]


def timed(send: Callable[[], httpx.Response]) -> float:
    """Milliseconds of one request (a refused one stops the run)."""
    start = time.perf_counter()
    answer = send()
    elapsed = (time.perf_counter() - start) * 1000
    if answer.status_code >= 400:
        raise SystemExit(f"{answer.request.method} {answer.request.url}: {answer.status_code}")
    return elapsed


def sign_in(base: str, token: str) -> httpx.Client:
    browser = httpx.Client(base_url=base, timeout=600)
    for _ in range(10):  # 503: the store was busy (retryable)
        form = browser.get("/signin")
        found = re.search(r'name="csrf" value="([^"]+)"', form.text)
        if found is None:
            raise SystemExit("the sign-in page has no CSRF field")
        data = {"token": token, "csrf": found.group(1), "next": "/me"}
        answer = browser.post("/signin", data=data)
        if answer.status_code == 303:
            return browser
        if answer.status_code != 503:
            break
        time.sleep(1)
    raise SystemExit(f"sign-in answered {answer.status_code}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=DEFAULT_DB, help="PostgreSQL server (a schema is made)")
    parser.add_argument("--scale", type=int, default=60, help="demo --scale of the store")
    parser.add_argument("--requests", type=int, default=40, help="requests per page and route")
    parser.add_argument("--schema", help="use and keep this schema; build the store if empty")
    parser.add_argument("--keep", action="store_true", help="keep the schema")
    parser.add_argument(
        "--no-verify", action="store_true", help="skip the one /auditor/verify replay"
    )
    args = parser.parse_args()

    schema = args.schema or f"bench_web_{uuid.uuid4().hex[:8]}"
    keep = args.keep or args.schema is not None
    url = f"{args.db}{'&' if '?' in args.db else '?'}schema={schema}"
    with psycopg.connect(args.db, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    server: subprocess.Popen[bytes] | None = None
    try:
        if has_events(args.db, schema):
            print(f"store: kept ({schema})")
        else:
            progress(f"fundledger demo --scale {args.scale} (a few minutes at scale 60)")
            start = time.perf_counter()
            fundledger("demo", "--scale", str(args.scale), url=url)
            seconds = time.perf_counter() - start
            print(f"store: fundledger demo --scale {args.scale} in {seconds:.0f} s")
        tag = uuid.uuid4().hex[:6]
        token = (
            fundledger(
                "tokens",
                "add",
                f"bench-{tag}",
                "--role",
                "provincial",
                "--region",
                PROVINCE,
                url=url,
            )
            .strip()
            .splitlines()[-1]
        )
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, "-c", "from api.cli import main; main()", "serve",
             "--host", "127.0.0.1", "--port", str(port), "--db", url],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_up(base)
        browser = sign_in(base, token)
        api = httpx.Client(base_url=base, timeout=600, headers={"Authorization": f"Bearer {token}"})
        rows = []
        for pair in pairs():
            for _ in range(3):  # warm-up: the first reads catch the read models up
                timed(lambda p=pair: browser.get(p.page))
                if pair.json is not None:
                    timed(lambda j=pair.json: j(api))
            page_ms: list[float] = []
            json_ms: list[float] = []
            for _ in range(args.requests):  # interleaved: both see the same machine
                page_ms.append(timed(lambda p=pair: browser.get(p.page)))
                if pair.json is not None:
                    json_ms.append(timed(lambda j=pair.json: j(api)))
            rows.append((pair, page_ms, json_ms))
            progress(f"{pair.name}: page p95 {percentile(page_ms, 95):.0f} ms")
        verify: tuple[float, float] | None = None
        if not args.no_verify:
            verify = (
                timed(lambda: browser.get(f"/auditor/verify?province={PROVINCE}")),
                timed(lambda: api.get(f"/v1/audit/verify?province={PROVINCE}")),
            )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if not keep:
            with psycopg.connect(args.db, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                )

    print(f"\n{args.requests} requests each, one client, `fundledger serve` (1 worker)\n")
    print("| page | p50 ms | p95 ms | JSON route | p50 ms | p95 ms | page p95 < 300 ms |")
    print("| --- | ---: | ---: | --- | ---: | ---: | --- |")
    for pair, page_ms, json_ms in rows:
        p95 = percentile(page_ms, 95)
        json_cells = (
            f"{statistics.median(json_ms):.0f} | {percentile(json_ms, 95):.0f}"
            if json_ms
            else " | "
        )
        print(
            f"| `{pair.page}` | {statistics.median(page_ms):.0f} | {p95:.0f} "
            f"| `{pair.json_label}` | {json_cells} | {'met' if p95 < GOAL_MS else '**missed**'} |"
        )
    if verify is not None:
        print(
            f"| `/auditor/verify?province={PROVINCE}` (once) | {verify[0]:.0f} | | "
            f"`GET /v1/audit/verify?province={PROVINCE}` (once) | {verify[1]:.0f} | "
            "| not held to the goal |"
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_up(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not answer /healthz within 60 s")


if __name__ == "__main__":
    main()
