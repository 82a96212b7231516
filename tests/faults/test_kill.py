"""Processes killed with SIGKILL while they write: an import or a batch is whole or absent.

The kill lands while the write transaction is open (SQLite: another connection cannot take the
write lock; PostgreSQL: the writer's transaction holds an id, i.e. it has written). Afterwards
nothing of it is stored, the read models equal a rebuild, and the same import run again
completes with the exact balance.
"""

from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg
import pytest

from api.bootstrap import bootstrap
from api.schemas import POSTING_COLUMNS
from api.settings import Settings
from tests.conftest import POSTGRES_URL
from tests.faults.common import ROOT, caught_up, postings_text, rebuilt, wait_for
from tests.http.conftest import ServerFactory
from tests.scenario import CITY, CITY2, posting

ROWS = 1_000


def rows_of(texts: list[str]) -> list[dict[str, str]]:
    """The postings as rows of the postings file (and of a JSON batch)."""
    rows = []
    for text in texts:
        p = posting(text)
        row = {
            "fund": str(p.fund),
            "line": p.line.value,
            "sub_line": p.sub_line or "",
            "level": p.level.value if p.level else "",
            "amount": f"{p.amount_fen // 100}.{p.amount_fen % 100:02d}",
            "value_date": p.value_date.isoformat(),
            "reference": p.reference,
            "counterparty": str(p.counterparty) if p.counterparty else "",
            "purpose": p.purpose.value if p.purpose else "",
        }
        rows.append({k: v for k, v in row.items() if k in POSTING_COLUMNS})
    return rows


def balances(url: str) -> tuple[int, int, int]:
    """The two city funds' balances and the number of stored events of the province."""
    ledger = bootstrap(Settings(database_url=url))
    try:
        city, city2 = ledger.find_fund(CITY), ledger.find_fund(CITY2)
        assert city is not None
        assert city2 is not None
        events = sum(1 for _ in ledger.fund_events(CITY)) + sum(
            1 for _ in ledger.fund_events(CITY2)
        )
        return city.balance_fen, city2.balance_fen, events
    finally:
        ledger.close()


def effect(texts: list[str]) -> int:
    """What the postings add to the two city funds' balances together."""
    return sum(
        p.amount_fen * (1 if p.line.value == "contribution" else -1) for p in map(posting, texts)
    )


def writing(url: str, app_name: str) -> bool:
    """True while a write transaction of the store is open (on PostgreSQL: has written and
    waits for the test's held voucher)."""
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return True
        else:
            conn.execute("ROLLBACK")
        finally:
            conn.close()
        return False
    # The ledger's save: a transaction that holds a ledger events table in EXCLUSIVE mode, has
    # written (an id) and waits for the voucher the test holds (held_voucher). Another
    # transaction of the process (the read models' catch-up after the save) must not count: a
    # kill then lands after the import's commit.
    with psycopg.connect(POSTGRES_URL, autocommit=True) as pg:
        found = pg.execute(
            "SELECT count(*) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid "
            "JOIN pg_class c ON c.oid = l.relation WHERE a.application_name = %s "
            "AND a.backend_xid IS NOT NULL AND a.wait_event_type = 'Lock' "
            "AND l.granted AND l.mode = 'ExclusiveLock' "
            "AND c.relname LIKE 'ledger\\_%%\\_events'",
            (app_name,),
        ).fetchone()
    return bool(found and found[0])


@contextmanager
def held_voucher(url: str, text: str) -> Iterator[None]:
    """On PostgreSQL, hold the voucher of the file's last posting in a transaction of the
    test's own (inserted, not committed) until the block ends.

    The writer's save then waits on that key's unique check after it has written the rows
    before it, with its transaction open: the kill lands inside it, however fast the machine
    (without the hold, 1,000 rows can be committed between the test seeing the write and the
    kill). On SQLite the writer holds the file's lock throughout, and nothing is held."""
    if url.startswith("sqlite:///"):
        yield
        return
    p = posting(text)
    schema = parse_qs(urlsplit(url).query)["schema"][0]
    table = f'"{schema}"."ledger_{p.fund.province}_vouchers"'
    with psycopg.connect(POSTGRES_URL) as holder:
        holder.execute(
            f"INSERT INTO {table} (fund, reference, digest, line, amount_fen, fund_version) "
            "VALUES (%s, %s, 'held by the test', %s, 0, 0)",
            (str(p.fund), p.reference, p.line.value),
        )
        try:
            yield
        finally:
            holder.rollback()


def check_after_kill(url: str, before: tuple[int, int, int]) -> None:
    assert balances(url) == before  # nothing of the killed write is stored
    assert caught_up(url) == rebuilt(url)


@pytest.fixture
def app_name(monkeypatch: pytest.MonkeyPatch) -> str:
    name = f"fl-kill-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("PGAPPNAME", name)
    return name


def test_an_import_killed_midway_writes_nothing_and_completes_on_a_rerun(
    url: str, tmp_path: Path, app_name: str
) -> None:
    texts = postings_text(ROWS, prefix="K")
    file = tmp_path / "postings.csv"
    with file.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(
            out, fieldnames=[c for c in POSTING_COLUMNS if c in rows_of(texts[:1])[0]]
        )
        writer.writeheader()
        writer.writerows(rows_of(texts))
    before = balances(url)
    command = [
        sys.executable,
        "-c",
        "from api.cli import main; main()",
        "import",
        str(file),
        "--db",
        url,
    ]
    with held_voucher(url, texts[-1]):
        process = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        wait_for(lambda: writing(url, app_name) or process.poll() is not None)
        assert process.poll() is None, "the import ended before the kill"
        process.kill()
        process.wait(timeout=10)
    check_after_kill(url, before)
    again = subprocess.run(command, cwd=ROOT, capture_output=True, timeout=120, check=False)
    assert again.returncode == 0, again.stderr
    city, city2, events = balances(url)
    assert city + city2 == before[0] + before[1] + effect(texts)
    assert events == before[2] + ROWS
    assert caught_up(url) == rebuilt(url)


def test_a_server_killed_during_a_batch_upload_writes_nothing(
    url: str, server_factory: ServerFactory, app_name: str
) -> None:
    texts = postings_text(ROWS, prefix="H")
    body = rows_of(texts)
    before = balances(url)
    server = server_factory(url)
    token = server.token(role="provincial", region="140000")
    answers: list[object] = []

    def upload() -> None:
        try:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                answers.append(
                    client.post(
                        "/v1/postings/batch",
                        json=body,
                        headers={"Authorization": f"Bearer {token}"},
                    )
                )
        except httpx.TransportError as error:
            answers.append(error)

    with held_voucher(url, texts[-1]):
        sender = threading.Thread(target=upload)
        sender.start()
        wait_for(lambda: writing(url, app_name) or not sender.is_alive())
        assert sender.is_alive(), answers
        server.process.kill()
        server.process.wait(timeout=10)
    sender.join(timeout=30)
    assert isinstance(answers[0], httpx.TransportError)  # the caller knows it did not finish
    check_after_kill(url, before)
    restarted = server_factory(url)
    with restarted.client(restarted.token(role="provincial", region="140000")) as client:
        done = client.post("/v1/postings/batch", json=body)
    assert (done.status_code, done.json()) == (201, {"accepted": ROWS, "duplicates": 0})
    city, city2, events = balances(url)
    assert city + city2 == before[0] + before[1] + effect(texts)
    assert events == before[2] + ROWS
