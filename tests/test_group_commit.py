"""Group commit (domain/group_commit.py, domain/shared_save.py): shared saves, answers alone.

Real threads and real processes on real SQLite and PostgreSQL. Every test checks exact figures:
each posting answered once, the fund's version and balance, the vouchers, the hash chain.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from api.bootstrap import bootstrap
from api.settings import Settings
from domain import group_commit
from domain.errors import ConcurrentWrites, FundNotRegistered, PostingRefused, ReferenceConflict
from domain.funds import FundId
from domain.ledger import PostingOutcome
from domain.ledger_service import Ledger, RowErrors
from domain.lines import Line
from domain.postings import Posting
from domain.shared_save import MAX_BATCH, write_group
from tests.scenario import CITY, CITY2

OPENING_FEN = 1_000_000
THREADS = 8
PER_THREAD = 200
JOIN_SECONDS = 120.0
"""The longest a test waits for its threads or processes (they take a few seconds)."""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest) -> str:
    """A store of this test's own on SQLite, then on PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def ledger(url: str) -> Iterator[Ledger]:
    """An initialised ledger of Shanxi with its capital's pool and a second city's open."""
    built = bootstrap(Settings(database_url=url))
    built.init(("140000",))
    built.open_fund(CITY, first_year=2023, opening_balance_fen=OPENING_FEN)
    built.open_fund(CITY2, first_year=2023)
    try:
        yield built
    finally:
        built.close()


def contribution(reference: str, amount_fen: int, fund: FundId = CITY) -> Posting:
    """A contribution received (adds its amount to the fund's balance)."""
    return Posting(
        fund=fund,
        line=Line.CONTRIBUTION,
        amount_fen=amount_fen,
        value_date=date(2024, 1, 1) + timedelta(days=amount_fen % 366),
        reference=reference,
        sub_line="individual",
    )


def batch_sizes(ledger: Ledger) -> list[int]:
    """Every batch size the ledger's committers report from now on (appended, thread-safe)."""
    sizes: list[int] = []
    ledger.observe_batches(sizes.append)
    return sizes


def run_threads(count: int, work: Callable[[int], list[Any]]) -> list[list[Any]]:
    """Run ``work(i)`` on ``count`` threads released together; answer each one's results."""
    start = threading.Barrier(count, timeout=JOIN_SECONDS)
    results: list[list[Any]] = [[] for _ in range(count)]
    failures: list[BaseException] = []

    def body(i: int) -> None:
        try:
            start.wait()
            results[i] = work(i)
        except BaseException as error:
            failures.append(error)
            raise

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_SECONDS)
    assert not any(t.is_alive() for t in threads), "a thread did not finish"
    assert not failures, failures
    return results


def answer(ledger: Ledger, posting: Posting) -> PostingOutcome | Exception:
    """The ledger's answer to one posting: its outcome or its refusal."""
    try:
        return ledger.post(posting)
    except (FundNotRegistered, PostingRefused, ReferenceConflict) as error:
        return error


def cached_version(ledger: Ledger, fund: FundId) -> int:
    """The version of the fund as this ledger has it (from its cache)."""
    found = ledger.find_fund(fund)
    assert found is not None
    return int(found.version)


def assert_fund(ledger: Ledger, fund: FundId, *, version: int, balance_fen: int) -> None:
    """The fund's exact version and balance, and a hash chain without a finding."""
    found = ledger.find_fund(fund)
    assert found is not None
    assert (found.version, found.balance_fen) == (version, balance_fen)
    links = ledger.chain(fund)
    assert [link.version for link in links] == list(range(1, version + 1))
    assert [link.findings for link in links if not link.ok] == []


def test_threads_posting_to_one_fund_are_each_posted_once(ledger: Ledger, url: str) -> None:
    sizes = batch_sizes(ledger)
    postings = [
        [contribution(f"T{t}-{i:03d}", 100 + t * 1_000 + i) for i in range(PER_THREAD)]
        for t in range(THREADS)
    ]
    results = run_threads(THREADS, lambda t: [ledger.post(p) for p in postings[t]])

    total = THREADS * PER_THREAD
    outcomes = [o for per_thread in results for o in per_thread]
    assert Counter(o.status for o in outcomes) == {"posted": total}
    for per_thread, mine in zip(results, postings, strict=True):
        assert [o.voucher.reference for o in per_thread] == [p.reference for p in mine]
    assert sorted(o.voucher.fund_version for o in outcomes) == list(range(2, total + 2))
    amounts = sum(p.amount_fen for mine in postings for p in mine)
    assert_fund(ledger, CITY, version=1 + total, balance_fen=OPENING_FEN + amounts)
    stored = ledger.province("140000").vouchers.select_vouchers(
        str(CITY), [p.reference for mine in postings for p in mine]
    )
    assert {ref: v.fund_version for ref, v in stored.items()} == {
        o.voucher.reference: o.voucher.fund_version for o in outcomes
    }
    assert sum(sizes) == total
    assert max(sizes) <= MAX_BATCH
    if url.startswith("postgresql"):  # a save waits for its fsync: callers pile up meanwhile
        assert max(sizes) > 1, sizes
        assert len(sizes) < total


def mixed_group() -> list[Posting]:
    """Postings of which two are refused and one repeats another (after ``FIRST``, 500)."""
    return [
        contribution("G-1", 10),
        contribution("U-1", 20, fund=FundId.parse("resident:140300")),  # never opened
        contribution("G-2", 30),
        contribution("FIRST", 501),  # the reference was posted with other content
        contribution("G-3", 40, fund=CITY2),
        contribution("G-1", 10),  # the same as the first of this batch
    ]


def assert_each_answered_alone(ledger: Ledger, answers: list[Any]) -> None:
    """The answers to :func:`mixed_group`, in its order, and the funds they leave."""
    assert [type(a).__name__ for a in answers] == [
        "PostingOutcome",
        "FundNotRegistered",
        "PostingOutcome",
        "ReferenceConflict",
        "PostingOutcome",
        "PostingOutcome",
    ]
    posted = [a for a in answers if isinstance(a, PostingOutcome)]
    assert [(a.status, a.voucher.reference) for a in posted] == [
        ("posted", "G-1"),
        ("posted", "G-2"),
        ("posted", "G-3"),
        ("duplicate", "G-1"),
    ]
    assert posted[3].voucher == posted[0].voucher
    assert_fund(ledger, CITY, version=4, balance_fen=OPENING_FEN + 500 + 10 + 30)
    assert_fund(ledger, CITY2, version=2, balance_fen=40)


def test_a_refused_posting_fails_only_itself_in_a_shared_save(ledger: Ledger) -> None:
    ledger.post(contribution("FIRST", 500))
    with ledger.writing("140000") as app:  # as a committer's leader holds it
        answers = write_group(app, mixed_group())
    assert_each_answered_alone(ledger, answers)


def test_a_bad_reversal_fails_only_itself_in_a_shared_save(ledger: Ledger) -> None:
    ledger.post(contribution("ORIG", 700))
    undo = contribution("UNDO", 700)
    group = [
        contribution("R-1", 11),
        replace(undo, reverses="NO-SUCH"),
        replace(undo, reference="UNDO-2", reverses="ORIG"),
        replace(undo, reference="UNDO-3", reverses="ORIG"),  # twice
        replace(undo, reference="UNDO-4", amount_fen=701, reverses="R-1"),
    ]
    with ledger.writing("140000") as app:  # as a committer's leader holds it
        answers = write_group(app, group)
    assert isinstance(answers[0], PostingOutcome)
    assert isinstance(answers[1], PostingRefused)
    assert answers[1].field == "reverses"
    assert isinstance(answers[2], PostingOutcome)
    assert answers[2].status == "posted"
    assert isinstance(answers[3], PostingRefused)
    assert "already reversed by 'UNDO-2'" in answers[3].message
    assert isinstance(answers[4], PostingRefused)
    assert answers[4].field == "amount"
    assert_fund(ledger, CITY, version=4, balance_fen=OPENING_FEN + 700 + 11 - 700)


def test_refusals_among_concurrent_postings_fail_only_themselves(ledger: Ledger, url: str) -> None:
    ledger.post(contribution("TAKEN", 999))
    sizes = batch_sizes(ledger)
    unknown = FundId.parse("resident:140300")

    def mine(t: int) -> list[Posting]:
        rows = []
        for i in range(100):
            if i % 10 == 3:
                rows.append(contribution(f"X{t}-{i}", 5, fund=unknown))
            elif i % 10 == 6:
                rows.append(contribution("TAKEN", 1_000 + t * 100 + i))
            elif i % 10 == 9:
                rows.append(replace(contribution(f"V{t}-{i}", 7), reverses="NONE"))
            else:
                rows.append(contribution(f"K{t}-{i}", 1 + t * 100 + i))
        return rows

    postings = [mine(t) for t in range(THREADS)]
    results = run_threads(THREADS, lambda t: [answer(ledger, p) for p in postings[t]])

    good = 0
    for rows, answers in zip(postings, results, strict=True):
        for i, (p, a) in enumerate(zip(rows, answers, strict=True)):
            expected = {3: FundNotRegistered, 6: ReferenceConflict, 9: PostingRefused}
            kind = expected.get(i % 10, PostingOutcome)
            assert type(a) is kind, (p.reference, a)
            if kind is PostingOutcome:
                assert isinstance(a, PostingOutcome)
                assert (a.status, a.voucher.reference) == ("posted", p.reference)
                good += p.amount_fen
    posted = THREADS * 70
    assert_fund(ledger, CITY, version=2 + posted, balance_fen=OPENING_FEN + 999 + good)
    assert sum(sizes) == THREADS * 100
    if url.startswith("postgresql"):
        assert max(sizes) > 1, sizes


def test_a_batch_behind_another_writer_is_checked_again_and_written(
    ledger: Ledger, url: str
) -> None:
    other = bootstrap(Settings(database_url=url))  # another process: a cache of its own
    try:
        ledger.post(contribution("A-0", 1))  # both have the fund cached at version 2
        other.post(contribution("A-1", 2))
        other.post(contribution("B-0", 3))
        other.post(contribution("B-1", 4))
        other.post(contribution("A-0", 1))  # a duplicate: writes nothing
        assert cached_version(ledger, CITY) == 2  # behind the other writer
        group = [
            contribution("B-0", 3),  # posted by the other writer meanwhile
            contribution("B-1", 5),  # the other writer's reference, with other content
            contribution("B-2", 6),
            contribution("B-3", 7, fund=CITY2),
        ]
        with ledger.writing("140000") as app:
            answers = write_group(app, group)
        assert isinstance(answers[1], ReferenceConflict)
        outcomes = [a for a in answers if isinstance(a, PostingOutcome)]
        assert [(a.status, a.voucher.reference, a.voucher.fund_version) for a in outcomes] == [
            ("duplicate", "B-0", 4),
            ("posted", "B-2", 6),
            ("posted", "B-3", 2),
        ]
        assert_fund(ledger, CITY, version=6, balance_fen=OPENING_FEN + 1 + 2 + 3 + 4 + 6)
        assert cached_version(ledger, CITY) == 6  # brought up to date
        assert_fund(other, CITY2, version=2, balance_fen=7)
    finally:
        other.close()


def test_an_import_behind_another_writer_replays_only_what_it_wrote(
    ledger: Ledger, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = bootstrap(Settings(database_url=url))  # another process: a cache of its own
    province = ledger.province("140000")
    reloads: list[Any] = []
    reload = province.repository._reconstruct_aggregate
    try:
        ledger.post(contribution("A-0", 1))  # cached here at version 2
        other.post(contribution("A-1", 2))  # the store moves on to version 4
        other.post(contribution("B-0", 3))
        assert cached_version(ledger, CITY) == 2
        monkeypatch.setattr(
            province.repository,
            "_reconstruct_aggregate",
            lambda *args: reloads.append(args[0]) or reload(*args),
        )
        report = ledger.import_postings(
            [contribution("B-0", 3), contribution("B-1", 4), contribution("B-2", 5)]
        )
        assert (report.posted, report.duplicates) == (2, 1)
        assert reloads == []  # moved on by the two events it lacked, not reloaded
        assert cached_version(ledger, CITY) == 6
        assert_fund(ledger, CITY, version=6, balance_fen=OPENING_FEN + 1 + 2 + 3 + 4 + 5)
    finally:
        other.close()


def test_after_a_collision_saves_are_staged_under_the_lock_until_nothing_moved(
    ledger: Ledger, url: str
) -> None:
    other = bootstrap(Settings(database_url=url))  # another process: a cache of its own
    province = ledger.province("140000")
    try:
        first = ledger.post(contribution("A-0", 1))  # cached here at version 2
        other.post(contribution("A-1", 2))  # the store moves on to version 3
        assert not province.saves_collide
        assert ledger.post(contribution("A-2", 3)).voucher.fund_version == 4
        assert province.saves_collide  # the optimistic save met the other writer's
        other.post(contribution("A-3", 4))  # version 5
        assert ledger.post(contribution("A-4", 5)).voucher.fund_version == 6
        assert province.saves_collide  # staged under the lock, and the fund had moved
        again = ledger.post(contribution("A-0", 1))  # a repeat, under the lock too
        assert (again.status, again.voucher) == ("duplicate", first.voucher)
        assert ledger.post(contribution("A-5", 6)).voucher.fund_version == 7
        assert not province.saves_collide  # nothing had moved: optimistic again
        assert ledger.post(contribution("A-6", 7)).voucher.fund_version == 8
        assert_fund(ledger, CITY, version=8, balance_fen=OPENING_FEN + 1 + 2 + 3 + 4 + 5 + 6 + 7)
    finally:
        other.close()


def test_an_import_after_a_collision_is_checked_once_under_the_lock(
    ledger: Ledger, url: str
) -> None:
    other = bootstrap(Settings(database_url=url))
    province = ledger.province("140000")
    try:
        ledger.post(contribution("A-0", 1))
        other.post(contribution("A-1", 2))
        ledger.post(contribution("A-2", 3))  # collides: the province's saves now collide
        assert province.saves_collide
        other.post(contribution("A-3", 4))
        bad = replace(contribution("X-1", 5), value_date=date(2022, 1, 1))  # before the fund
        with pytest.raises(RowErrors) as refused:
            ledger.import_postings([contribution("B-0", 6), bad])
        assert [e.index for e in refused.value.errors] == [1]
        assert_fund(ledger, CITY, version=5, balance_fen=OPENING_FEN + 1 + 2 + 3 + 4)
        report = ledger.import_postings([contribution("A-1", 2), contribution("B-0", 6)])
        assert (report.posted, report.duplicates) == (1, 1)
        assert_fund(ledger, CITY, version=6, balance_fen=OPENING_FEN + 1 + 2 + 3 + 4 + 6)
    finally:
        other.close()


def test_imports_of_one_process_at_once_do_not_collide(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    province = ledger.province("140000")
    rechecks: list[int] = []
    bring = province.bring_up_to_date
    monkeypatch.setattr(province, "bring_up_to_date", lambda ids: rechecks.append(1) or bring(ids))
    files = [[contribution(f"F{t}-{i:03d}", 100 * t + i + 1) for i in range(80)] for t in range(4)]
    reports = run_threads(4, lambda t: [ledger.import_postings(files[t], chunk=20)])
    assert [(r.posted, r.duplicates) for (r,) in reports] == [(80, 0)] * 4
    assert rechecks == []  # each checked and written under the province's writes
    total = sum(p.amount_fen for f in files for p in f)
    assert_fund(ledger, CITY, version=1 + 4 * 80, balance_fen=OPENING_FEN + total)


def test_the_same_posting_sent_at_once_is_posted_once(ledger: Ledger) -> None:
    sizes = batch_sizes(ledger)
    postings = [contribution(f"D-{i:03d}", 1_000 + i) for i in range(100)]
    results = run_threads(THREADS, lambda t: [ledger.post(p) for p in postings])

    for i, posting in enumerate(postings):
        answers = [per_thread[i] for per_thread in results]
        assert Counter(a.status for a in answers) == {"posted": 1, "duplicate": THREADS - 1}
        first = next(a.voucher for a in answers if a.status == "posted")
        assert all(a.voucher == first for a in answers)
        assert first.reference == posting.reference
    total = sum(p.amount_fen for p in postings)
    assert_fund(ledger, CITY, version=1 + len(postings), balance_fen=OPENING_FEN + total)
    assert sum(sizes) == THREADS * len(postings)


def test_an_import_and_other_writes_share_the_province_with_concurrent_postings(
    ledger: Ledger,
) -> None:
    imported = [contribution(f"I-{i:03d}", 20_000 + i) for i in range(300)]
    singles = [
        [contribution(f"C{t}-{i:03d}", 30_000 + t * 1_000 + i) for i in range(60)] for t in range(4)
    ]

    def work(t: int) -> list[Any]:
        if t == 4:  # an import and a write held by Ledger.writing, among the postings
            report = ledger.import_postings(imported, chunk=50)
            with ledger.writing("140000"):
                inside = ledger.post(contribution("INSIDE", 1))  # written at once, no deadlock
            return [report, inside]
        return [ledger.post(p) for p in singles[t]]

    results = run_threads(5, work)
    report, inside = results[4]
    assert (report.posted, report.duplicates, inside.status) == (300, 0, "posted")
    assert all(o.status == "posted" for per_thread in results[:4] for o in per_thread)
    amounts = sum(p.amount_fen for p in imported) + sum(p.amount_fen for ps in singles for p in ps)
    assert_fund(ledger, CITY, version=1 + 300 + 240 + 1, balance_fen=OPENING_FEN + amounts + 1)


def test_a_posting_kept_waiting_by_another_write_is_told_to_retry(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(group_commit, "WRITE_LOCK_SECONDS", 0.2)
    posting = contribution("LATE", 5)
    answers: list[Any] = []
    with ledger.writing("140000"):  # another write holds the province for longer than that
        waiting = threading.Thread(target=lambda: answers.append(answer_or_retry(ledger, posting)))
        waiting.start()
        waiting.join(JOIN_SECONDS)
    assert [type(a) for a in answers] == [ConcurrentWrites]
    assert_fund(ledger, CITY, version=1, balance_fen=OPENING_FEN)  # nothing written
    assert ledger.post(posting).status == "posted"  # sent again, it is posted


def answer_or_retry(ledger: Ledger, posting: Posting) -> PostingOutcome | ConcurrentWrites:
    try:
        return ledger.post(posting)
    except ConcurrentWrites as error:
        return error


# ------------------------------------------------------------------ two processes

PROCESSES = 2
PROCESS_THREADS = 4
PROCESS_POSTINGS = 150
"""Per thread; the first SHARED of every thread's list are the same in both processes."""
SHARED = 30


def process_postings(process: int, thread: int) -> list[Posting]:
    """A thread's postings: SHARED sent by both processes, the rest its own."""
    shared = [contribution(f"S{thread}-{i:03d}", 10 + thread * 1_000 + i) for i in range(SHARED)]
    own = [
        contribution(f"P{process}-{thread}-{i:03d}", 50_000 + process * 10_000 + thread * 1_000 + i)
        for i in range(PROCESS_POSTINGS - SHARED)
    ]
    return [p for pair in zip(shared, own[:SHARED], strict=True) for p in pair] + own[SHARED:]


def writer_process(url: str, process: int, start: Any, results: Any) -> None:
    """A process of its own: its own Ledger and threads, posting to the same fund as the other."""
    ledger = bootstrap(Settings(database_url=url))
    sizes = batch_sizes(ledger)
    ledger.province("140000")

    def post(posting: Posting) -> tuple[str, str, int]:
        # No ConcurrentWrites: a batch that collided is checked again under the table lock.
        outcome = ledger.post(posting)
        return (posting.reference, outcome.status, outcome.voucher.fund_version)

    try:
        start.wait(JOIN_SECONDS)
        answers = run_threads(
            PROCESS_THREADS, lambda t: [post(p) for p in process_postings(process, t)]
        )
        results.put((process, answers, sizes))
    except BaseException as error:
        results.put((process, repr(error), []))  # the test fails at once, not at a timeout
        raise
    finally:
        ledger.close()


@pytest.mark.postgres
def test_two_processes_write_one_fund_each_posting_once(postgres_url: str) -> None:
    setup = bootstrap(Settings(database_url=postgres_url))
    setup.init(("140000",))
    setup.open_fund(CITY, first_year=2023, opening_balance_fen=OPENING_FEN)
    setup.close()
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(PROCESSES)
    results = context.Queue()
    workers = [
        context.Process(target=writer_process, args=(postgres_url, n, start, results))
        for n in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    received = [results.get(timeout=JOIN_SECONDS) for _ in workers]
    for worker in workers:
        worker.join(JOIN_SECONDS)
        assert worker.exitcode == 0

    assert [r[1] for r in received if isinstance(r[1], str)] == []
    by_reference: dict[str, list[tuple[str, int]]] = {}
    for _, answers, sizes in received:
        assert sum(sizes) == PROCESS_THREADS * PROCESS_POSTINGS
        for per_thread in answers:
            for reference, status, version in per_thread:
                by_reference.setdefault(reference, []).append((status, version))
    shared = {f"S{t}-{i:03d}" for t in range(PROCESS_THREADS) for i in range(SHARED)}
    own = PROCESSES * PROCESS_THREADS * (PROCESS_POSTINGS - SHARED)
    assert len(by_reference) == len(shared) + own
    for reference, answers in by_reference.items():
        statuses = Counter(status for status, _ in answers)
        if reference in shared:
            assert statuses == {"posted": 1, "duplicate": 1}, reference
            assert answers[0][1] == answers[1][1]  # the same voucher, the same version
        else:
            assert statuses == {"posted": 1}, reference
    versions = sorted(v for a in by_reference.values() for s, v in a if s == "posted")
    assert versions == list(range(2, len(by_reference) + 2))
    mine = [
        [v for ref, a in by_reference.items() if ref.startswith(f"P{n}-") for _, v in a]
        for n in range(PROCESSES)
    ]
    assert min(mine[1]) < max(mine[0])  # the two processes wrote at once
    assert min(mine[0]) < max(mine[1])
    amounts = sum(
        p.amount_fen
        for n in range(PROCESSES)
        for t in range(PROCESS_THREADS)
        for p in process_postings(n, t)
        if n == 0 or p.reference not in shared
    )
    check = bootstrap(Settings(database_url=postgres_url))
    try:
        assert_fund(check, CITY, version=1 + len(by_reference), balance_fen=OPENING_FEN + amounts)
    finally:
        check.close()


@pytest.mark.postgres
def test_imports_of_two_processes_to_the_same_funds_are_never_starved(postgres_url: str) -> None:
    """Two ledgers (each a process's own cache) import into one fund at once, 6 files each.

    A file whose first write collides with the other's is checked again under the table lock
    and written at its second attempt: no ``ConcurrentWrites``, every posting once.
    """
    ledgers = [bootstrap(Settings(database_url=postgres_url)) for _ in range(2)]
    ledgers[0].init(("140000",))
    ledgers[0].open_fund(CITY, first_year=2023, opening_balance_fen=OPENING_FEN)
    files, rows = 6, 150
    try:

        def work(i: int) -> list[Any]:
            reports = []
            for f in range(files):
                postings = [contribution(f"IMP-{i}-{f}-{r}", 100 + r, CITY) for r in range(rows)]
                reports.append(ledgers[i].import_postings(postings, chunk=50))
            return reports

        reports = run_threads(2, work)
        assert [r.posted for side in reports for r in side] == [rows] * (2 * files)
        total = 2 * files * sum(100 + r for r in range(rows))
        fresh = bootstrap(Settings(database_url=postgres_url))
        try:
            assert_fund(fresh, CITY, version=1 + 2 * files * rows, balance_fen=OPENING_FEN + total)
        finally:
            fresh.close()
    finally:
        for built in ledgers:
            built.close()


# ---------------------------------------------------------------- callers on an event loop
#
# The HTTP route submits from the event loop (GroupCommitter.submit_async): a waiting caller
# holds no thread, and only a batch's leader hands the save to one.

COROUTINES = 8
PER_COROUTINE = 100


async def answer_async(ledger: Ledger, posting: Posting) -> PostingOutcome | Exception:
    """:func:`answer` from a coroutine."""
    try:
        return await ledger.post_async(posting)
    except (FundNotRegistered, PostingRefused, ReferenceConflict, ConcurrentWrites) as error:
        return error


def test_coroutines_and_threads_posting_to_one_fund_are_each_posted_once(
    ledger: Ledger,
) -> None:
    sizes = batch_sizes(ledger)
    on_loop = [
        [contribution(f"C{c}-{i:03d}", 7 + c * 1_000 + i) for i in range(PER_COROUTINE)]
        for c in range(COROUTINES)
    ]
    on_threads = [[contribution(f"T{t}-{i:03d}", 50_000 + i) for i in range(50)] for t in range(2)]

    async def one_caller(postings: list[Posting]) -> list[PostingOutcome]:
        return [await ledger.post_async(p) for p in postings]

    async def every_caller() -> list[list[PostingOutcome]]:
        return list(await asyncio.gather(*(one_caller(mine) for mine in on_loop)))

    threads = run_threads(
        3,
        lambda t: (
            asyncio.run(every_caller()) if t == 2 else [ledger.post(p) for p in on_threads[t]]
        ),
    )
    loop_results = threads[2]
    total = COROUTINES * PER_COROUTINE + 100
    outcomes = [o for per in [*loop_results, *threads[:2]] for o in per]
    assert Counter(o.status for o in outcomes) == {"posted": total}
    for per_caller, mine in zip(
        [*loop_results, *threads[:2]], [*on_loop, *on_threads], strict=True
    ):
        assert [o.voucher.reference for o in per_caller] == [p.reference for p in mine]
    assert sorted(o.voucher.fund_version for o in outcomes) == list(range(2, total + 2))
    amounts = sum(p.amount_fen for mine in [*on_loop, *on_threads] for p in mine)
    assert_fund(ledger, CITY, version=1 + total, balance_fen=OPENING_FEN + amounts)
    assert sum(sizes) == total
    assert max(sizes) > 1, sizes  # the coroutines queue while a leader's thread saves
    assert len(sizes) < total


def test_refusals_among_coroutines_fail_only_themselves(ledger: Ledger) -> None:
    ledger.post(contribution("FIRST", 500))

    async def all_at_once() -> list[PostingOutcome | Exception]:
        return list(await asyncio.gather(*(answer_async(ledger, p) for p in mixed_group())))

    assert_each_answered_alone(ledger, asyncio.run(all_at_once()))


def test_a_cancelled_coroutine_still_takes_the_lead_it_is_handed(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A caller that went away (its request cancelled) while waiting is still handed the
    next save: its posting is written once and the callers behind it are not stranded."""
    monkeypatch.setattr(group_commit, "MAX_QUEUED_SECONDS", 5.0)
    first, gone = contribution("LEADS", 5), contribution("GONE", 9)
    committer = ledger.committer("140000")
    answers: list[Any] = []
    with ledger.writing("140000"):  # another write: the first save waits for it
        leader = threading.Thread(target=lambda: answers.append(answer(ledger, first)))
        leader.start()
        while committer._queue or not committer._leading:  # its own batch is taken
            time.sleep(0.01)

        async def cancel_while_waiting() -> asyncio.Future[PostingOutcome]:
            caller = asyncio.ensure_future(ledger.post_async(gone))
            await asyncio.sleep(0.1)  # queued behind the leader's batch
            caller.cancel()
            with suppress(asyncio.CancelledError):
                await caller
            return caller

        async def then_release_and_post_again() -> tuple[bool, str]:
            caller = await cancel_while_waiting()
            leaving.set()
            again = await ledger.post_async(gone)  # behind the cancelled caller's own save
            return caller.cancelled(), again.status

        leaving = threading.Event()
        on_loop_answers: list[tuple[bool, str]] = []
        on_loop = threading.Thread(
            target=lambda: on_loop_answers.append(asyncio.run(then_release_and_post_again()))
        )
        on_loop.start()
        leaving.wait(JOIN_SECONDS)
    on_loop.join(JOIN_SECONDS)
    leader.join(JOIN_SECONDS)
    assert on_loop_answers == [(True, "duplicate")]  # cancelled, yet written once
    assert [a.status for a in answers] == ["posted"]
    assert_fund(ledger, CITY, version=3, balance_fen=OPENING_FEN + 5 + 9)


def test_a_coroutine_kept_waiting_is_told_to_retry_and_writes_nothing(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(group_commit, "MAX_QUEUED_SECONDS", 0.3)
    monkeypatch.setattr(group_commit, "WAIT_SLICE_SECONDS", 0.05)
    first, late = contribution("LEADS", 5), contribution("WAITS", 6)
    answers: list[Any] = []
    with ledger.writing("140000"):  # the leader's save waits; the coroutine behind it too
        leader = threading.Thread(target=lambda: answers.append(answer(ledger, first)))
        leader.start()
        while not ledger.committer("140000")._leading:  # the leader has queued its posting
            time.sleep(0.01)
        answers.append(asyncio.run(answer_async(ledger, late)))
    leader.join(JOIN_SECONDS)
    assert [type(a).__name__ for a in answers] == ["ConcurrentWrites", "PostingOutcome"]
    assert_fund(ledger, CITY, version=2, balance_fen=OPENING_FEN + 5)  # the late one: nothing
    assert ledger.post(late).status == "posted"  # sent again, it is posted
