"""Benchmark: the year-end gap allocation (``settle draft``) for a province and for the nation.

Builds one store of 31 provinces × 15 city pools (and each province's adjustment fund), then
times, in one run:

1. a dry run (the allocation computed, nothing recorded) of one province, 140000;
2. a draft of that province (computed and recorded; a repeat computes and records nothing);
3. a draft of every province, one after another (the nation);
4. for comparison, raw psycopg 3 reading the same inputs of one province with one SQL query
   (every pool's sums per line for the year and before it, the grades and the county plans);
5. on PostgreSQL, in a second schema, the store ``fundledger demo`` builds (Shanxi's 11 city
   pools, 2022-2025): a dry run and a draft of its latest year, as the demo's officer runs them.

    python bench/settle.py [--db postgresql://postgres@127.0.0.1:5432/test] [--pools 15]
    python bench/settle.py --pools 300      # the city-and-county scale (goal: nation < 5 s)

Goals (issue 9): a province's draft within 5× the raw one-query read of its inputs; the
nation (31 × 15 pools) under 0.5 s; 31 provinces × 300 pools under 5 s.

The store is built through the public API: ``Ledger.open_fund``, ``Ledger.import_postings`` (a
province's postings in one import), the levies with ``clearing.levy``, the grades and county
plans with ``domain.clearing_inputs``. Each pool keeps books for 2023 and 2024: monthly benefits,
two counties' contributions and county subsidies, the central subsidy, the critical-illness
premium; a third of the pools spend more than they raise in 2024. The policies are the shipped
ones (Shanxi and Shaanxi proportional, Jilin and Jiangsu their own, the national order of use
elsewhere). On PostgreSQL the store is a schema of its own (dropped at the end unless --keep);
``--db sqlite:///file.db`` runs it on a new SQLite file (no raw baseline there).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

# The scripts of this folder take it off the path, so none of them shadows a package.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import psycopg  # noqa: E402

from api.bootstrap import App, bootstrap_app  # noqa: E402
from api.demo import run_demo  # noqa: E402
from api.settings import Settings  # noqa: E402
from clearing import settlement  # noqa: E402
from clearing.levy import levy_plan, post_levies  # noqa: E402
from clearing.policy import load_policy  # noqa: E402
from domain.clearing_inputs import record_assessment, set_county_plans  # noqa: E402
from domain.funds import FundId, Scheme  # noqa: E402
from domain.lines import Level, Line  # noqa: E402
from domain.pooling import pooling_of  # noqa: E402
from domain.postings import Posting  # noqa: E402
from domain.regions import PROVINCES  # noqa: E402

YEARS = (2023, 2024)
YEAR = 2024
"""The settled year."""
ONE = "140000"
"""The province timed alone."""
GRADES = "ABCD"


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


COUNTIES_PER_CITY = 15
"""At the city-and-county scale (more than 99 pools), each city keeps 15 county pools."""


def pools_of(province: str, count: int) -> list[FundId]:
    """``count`` pools of a province: city pools (``PP0100``...), or, beyond 99, cities with
    their county pools (``PP0101``...), less the county funds a city-pooled region keeps none
    of (Guizhou, Nantong: :mod:`domain.pooling`)."""
    if count <= 99:
        return [FundId(Scheme.RESIDENT, f"{province[:2]}{n:02d}00") for n in range(1, count + 1)]
    per_city = COUNTIES_PER_CITY + 1
    cities = -(-count // per_city)
    pools = []
    for n in range(1, cities + 1):
        for c in range(per_city):
            fund = FundId(Scheme.RESIDENT, f"{province[:2]}{n:02d}{c:02d}")
            if len(pools) < count and pooling_of(fund) is None:
                pools.append(fund)
    return pools


def counties_of(pool: FundId) -> list[str]:
    """The counties a city pool plans for; a county pool has none."""
    if not pool.region.endswith("00"):
        return []
    return [pool.region[:4] + "01", pool.region[:4] + "02"]


def pool_postings(pool: FundId, index: int) -> list[Posting]:
    """Two years of one pool's books; every third pool spends more than it raises in 2024."""
    postings: list[Posting] = []
    size = 100_000_000_00 + index * 7_000_000_00  # funds raised a year, fen
    for year in YEARS:
        deficit = index % 3 == 0 and year == YEAR
        spent = size * (106 if deficit else 92) // 100
        for c, county in enumerate(counties_of(pool) or [None, None]):
            postings.append(Posting(
                fund=pool, line=Line.CONTRIBUTION, sub_line="individual",
                amount_fen=size * 3 // 10 // 2, value_date=date(year, 11, 10 + c),
                reference=f"C{year}-{county or c}", county=county,
            ))  # fmt: skip
            postings.append(Posting(
                fund=pool, line=Line.SUBSIDY, sub_line="standard", level=Level.COUNTY,
                amount_fen=size // 10 // 2, value_date=date(year, 6, 20 + c),
                reference=f"SC{year}-{county or c}", county=county,
            ))  # fmt: skip
        postings.append(Posting(
            fund=pool, line=Line.SUBSIDY, sub_line="standard", level=Level.CENTRAL,
            amount_fen=size - size * 3 // 10 - size // 10, value_date=date(year, 6, 30),
            reference=f"S{year}",
        ))  # fmt: skip
        postings.append(Posting(
            fund=pool, line=Line.CRITICAL_ILLNESS, amount_fen=spent // 20,
            value_date=date(year, 4, 15), reference=f"CI{year}",
        ))  # fmt: skip
        for month in range(1, 13):
            postings.append(Posting(
                fund=pool, line=Line.BENEFIT, sub_line="inpatient",
                amount_fen=(spent - spent // 20) // 12, value_date=date(year, month, 25),
                reference=f"B{year}-{month:02d}",
            ))  # fmt: skip
    return postings


def build(app: App, provinces: list[str], count: int) -> int:
    """Open every fund, post the books, the levies, the grades and the county plans."""
    posted = 0
    for province in provinces:
        adjustment = FundId(Scheme.ADJUSTMENT, province)
        app.ledger.open_fund(adjustment, first_year=YEARS[0], opening_balance_fen=50_000_000_00)
        postings: list[Posting] = []
        for index, pool in enumerate(pools_of(province, count)):
            app.ledger.open_fund(pool, first_year=YEARS[0], opening_balance_fen=40_000_000_00)
            postings += pool_postings(pool, index)
        posted += app.ledger.import_postings(postings, chunk=5_000).posted
        app.read_models.catch_up()
        policy = load_policy(province, YEAR)
        levies = post_levies(
            app.ledger, app.read_models, levy_plan(app.read_models, province, YEAR, policy)
        )
        posted += sum(1 for levy in levies if levy.status == "posted")
        grades = policy.sharing.grades
        for index, pool in enumerate(pools_of(province, count)):
            grade = grades[index % len(grades)]
            record_assessment(app.ledger, pool, YEAR, grade=grade, score=None, principal="bench")
            size = 100_000_000_00 + index * 7_000_000_00
            plan = (size * 3 // 10 // 2, size // 10 // 2, size * 46 // 100)
            plans = dict.fromkeys(counties_of(pool), plan)
            if plans:
                set_county_plans(app.ledger, pool, YEAR, plans=plans, principal="bench")
    app.read_models.catch_up()
    return posted


def count_queries(app: App, action: Callable[[], object]) -> int:
    """How many queries ``action`` asks of the province's read-model database."""
    db = app.read_models.for_province(ONE).db
    original = db.query
    asked = 0

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal asked
        asked += 1
        return original(*args, **kwargs)

    db.query = counting  # type: ignore[method-assign]
    try:
        action()
    finally:
        del db.query  # type: ignore[method-assign]
    return asked


def timed(action: Callable[[], object], runs: int) -> list[float]:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - started)
    return seconds


def figures(seconds: list[float]) -> str:
    runs = ", ".join(f"{s * 1000:.1f}" for s in seconds)
    return f"median {statistics.median(seconds) * 1000:.1f} ms (runs: {runs} ms)"


RAW_INPUTS = """
WITH pools AS (SELECT fund FROM {s}.fl_funds WHERE province = %(p)s)
SELECT 'postings', p.fund, p.fiscal_year, p.line, NULL::bigint, sum(p.amount_fen)::bigint,
       NULL::bigint
  FROM {s}.fl_postings p JOIN pools USING (fund)
 WHERE p.fiscal_year IN (%(y)s - 1, %(y)s)
 GROUP BY p.fund, p.fiscal_year, p.line
UNION ALL
SELECT 'grade', a.fund, a.year, a.grade, NULL, NULL, a.notification_id
  FROM {s}.fl_assessments a JOIN pools USING (fund) WHERE a.year = %(y)s
UNION ALL
SELECT 'plan', c.fund, c.year, c.county, c.contributions_fen, c.subsidies_fen, c.spending_fen
  FROM {s}.fl_county_plans c JOIN pools USING (fund) WHERE c.year = %(y)s
"""


def raw_read(conn: psycopg.Connection[tuple[object, ...]], schema: str, province: str) -> int:
    """Every input figure of one province's allocation in one query; answer the row count."""
    rows = conn.execute(RAW_INPUTS.format(s=schema), {"p": province, "y": YEAR}).fetchall()
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--pools", type=int, default=15, help="city pools per province")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each step")
    parser.add_argument("--keep", action="store_true", help="keep the schema")
    parser.add_argument("--profile", action="store_true", help="cProfile one dry run")
    args = parser.parse_args()
    provinces = sorted(PROVINCES)
    postgres = args.db.startswith("postgresql")
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    url = f"{args.db}?schema={schema}" if postgres else args.db
    server = "SQLite"
    if postgres:
        with psycopg.connect(args.db, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
            found = conn.execute("SHOW server_version").fetchone()
            server = f"PostgreSQL {found[0] if found else '?'}"
    print(f"machine: {machine()}; {server}")
    app = bootstrap_app(Settings(database_url=url))
    try:
        app.init()
        started = time.perf_counter()
        posted = build(app, provinces, args.pools)
        print(
            f"store: {len(provinces)} provinces × {args.pools} pools, {posted:,} postings, "
            f"grades and county plans, built in {time.perf_counter() - started:.1f} s"
        )
        one = settlement.dry_run(app, ONE, YEAR)
        gaps = sum(1 for p in one.result["pools"] if p["gap_fen"])
        print(f"{ONE} {YEAR}: {len(one.result['pools'])} pools, {gaps} with a gap, draws "
              f"{one.to_json()['adjustment_fund']['draws_total']}")  # fmt: skip
        dry = timed(lambda: settlement.dry_run(app, ONE, YEAR), args.runs)
        print(f"dry run, one province: {figures(dry)}")
        first = timed(lambda: settlement.draft(app, ONE, YEAR, "bench"), 1)
        again = timed(lambda: settlement.draft(app, ONE, YEAR, "bench"), args.runs)
        print(f"draft, one province: first (recorded) {first[0] * 1000:.0f} ms; "
              f"repeat (unchanged) {figures(again)}")  # fmt: skip

        def nation() -> None:
            for province in provinces:
                settlement.draft(app, province, YEAR, "bench")

        nation_first = timed(nation, 1)
        nation_again = timed(nation, max(1, args.runs // 2))
        print(f"draft, {len(provinces)} provinces: first (recorded) {nation_first[0]:.2f} s; "
              f"repeat {figures(nation_again)}")  # fmt: skip
        queries = count_queries(app, lambda: settlement.draft(app, ONE, YEAR, "bench"))
        print(f"queries of one province's unchanged draft: {queries}")
        limit = 0.5 if args.pools <= 15 else 5.0
        goal_all = statistics.median(nation_again) < limit
        print(f"goal: the nation ({len(provinces)} provinces × {args.pools} pools) under "
              f"{limit} s: {'PASS' if goal_all else 'FAIL'}")  # fmt: skip
        if args.profile:
            profile = cProfile.Profile()
            profile.runcall(settlement.dry_run, app, ONE, YEAR)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
        if postgres:
            with psycopg.connect(args.db) as conn:
                rows = raw_read(conn, schema, ONE)
                raw = timed(lambda: raw_read(conn, schema, ONE), args.runs)
            ratio = statistics.median(again) / statistics.median(raw)
            print(f"raw psycopg, one query for {ONE}'s inputs ({rows} rows): {figures(raw)}; "
                  f"draft / raw = {ratio:.1f}")  # fmt: skip
            print(f"goal: a province's draft within 5x the raw read: "
                  f"{'PASS' if ratio <= 5 else 'FAIL'}")  # fmt: skip
    finally:
        app.close()
        if postgres and not args.keep:
            with psycopg.connect(args.db, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
    if postgres:
        demo_province(args.db, args.runs, keep=args.keep)


def demo_province(db: str, runs: int, *, keep: bool) -> None:
    """Part 5: the demo's own province, built by ``run_demo``, settled for its latest year."""
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    app = bootstrap_app(Settings(database_url=f"{db}?schema={schema}"))
    try:
        app.init()
        summary = run_demo(app.ledger)
        year = summary.latest_year
        app.read_models.catch_up()
        dry = timed(lambda: settlement.dry_run(app, ONE, year), runs)
        first = timed(lambda: settlement.draft(app, ONE, year, "bench"), 1)
        again = timed(lambda: settlement.draft(app, ONE, year, "bench"), runs)
        print(f"demo store ({summary.posted:,} postings), {ONE} {year}: dry run {figures(dry)}")
        print(f"demo store, draft: first (recorded) {first[0] * 1000:.0f} ms; "
              f"repeat (unchanged) {figures(again)}")  # fmt: skip
    finally:
        app.close()
        if not keep:
            with psycopg.connect(db, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()
