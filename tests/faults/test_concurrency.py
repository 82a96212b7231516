"""Writers at once and connections cut: exactly one reversal wins; no posting lost or doubled."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import psycopg
import pytest

from api.bootstrap import bootstrap
from api.settings import Settings
from api.storage import StoreUnreachable, store_failure
from domain.errors import DomainError
from domain.ledger_service import Ledger
from tests.conftest import POSTGRES_URL
from tests.faults.common import postings_text
from tests.scenario import CITY, CITY2, PROVINCE_ADJUSTMENT, posting


@pytest.mark.parametrize(
    ("original", "reversal"),
    [
        ("P-0", "resident:140100 benefit/inpatient 1.25 2025-01-01 {ref} reverses=P-0"),
        ("P-9", "resident:140200 to_upper 1.09 2025-10-10 {ref} reverses=P-9"),
    ],
    ids=["benefit", "inter-level-pair"],
)
def test_two_reversals_of_one_posting_at_once_one_succeeds(
    url: str, original: str, reversal: str
) -> None:
    ledgers = [bootstrap(Settings(database_url=url)) for _ in range(2)]
    fund = CITY if reversal.startswith(str(CITY)) else CITY2
    before = [ledger.find_fund(fund) for ledger in ledgers]  # both warm: both see no reversal
    assert all(f is not None for f in before)
    barrier = threading.Barrier(2)
    outcomes: dict[str, Any] = {}

    def reverse(ledger: Ledger, reference: str) -> None:
        barrier.wait(timeout=30)
        try:
            outcomes[reference] = ledger.post(posting(reversal.format(ref=reference))).status
        except DomainError as error:
            outcomes[reference] = error

    threads = [
        threading.Thread(target=reverse, args=(ledger, ref))
        for ledger, ref in zip(ledgers, ("R-A", "R-B"), strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for ledger in ledgers:
        ledger.close()
    posted = [ref for ref, outcome in outcomes.items() if outcome == "posted"]
    refused = [outcome for outcome in outcomes.values() if isinstance(outcome, DomainError)]
    assert len(posted) == 1, outcomes
    assert len(refused) == 1, outcomes
    assert f"{original!r} was already reversed by {posted[0]!r}" in str(refused[0])
    fresh = bootstrap(Settings(database_url=url))
    try:
        stored = [getattr(e, "reference", None) for e in fresh.fund_events(fund)]
        assert stored.count(posted[0]) == 1
        assert {"R-A", "R-B"} - set(stored) != set()  # the loser wrote nothing
        if "counterparty" in reversal or "to_upper" in reversal:
            mirror = [getattr(e, "reference", None) for e in fresh.fund_events(PROVINCE_ADJUSTMENT)]
            assert sum(1 for r in mirror if r is not None and r.endswith(f"#{posted[0]}")) == 1
    finally:
        fresh.close()


@pytest.fixture
def app_name(monkeypatch: pytest.MonkeyPatch) -> str:
    """A libpq application name of this test's own: only its connections get terminated."""
    name = f"fl-fault-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("PGAPPNAME", name)
    return name


def terminate(name: str) -> int:
    with psycopg.connect(POSTGRES_URL, autocommit=True, application_name="fl-fault-killer") as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchall()
    return len(rows)


@pytest.mark.postgres
def test_connections_terminated_during_writes_lose_and_double_nothing(
    postgres_url: str, app_name: str
) -> None:
    ledger = bootstrap(Settings(database_url=postgres_url))
    ledger.init(["140000"])
    ledger.open_fund(CITY, first_year=2024, opening_balance_fen=0)
    ledger.open_fund(CITY2, first_year=2024, opening_balance_fen=0)
    ledger.open_fund(PROVINCE_ADJUSTMENT, first_year=2024)
    texts = postings_text(120, prefix="T")
    outcomes: dict[str, str] = {}
    errors: list[Exception] = []
    done = threading.Event()

    def write() -> None:
        try:
            for text in texts:
                reference = text.split()[4]
                try:
                    outcomes[reference] = ledger.post(posting(text)).status
                except Exception as error:  # what the caller sees is the point
                    errors.append(error)
                    outcomes[reference] = f"{type(error).__name__}: {error}"
        finally:
            done.set()

    writer = threading.Thread(target=write)
    writer.start()
    killed = 0
    while not done.wait(0.03) and killed < 40:
        killed += terminate(app_name)
    writer.join()
    assert killed > 0
    for error in errors:  # what the CLI answers with exit 75 and the API with 503
        assert isinstance(store_failure(error), StoreUnreachable), repr(error)
    failed = {ref: outcome for ref, outcome in outcomes.items() if outcome != "posted"}
    for text in texts:  # the caller posts again what failed: a retry is safe
        reference = text.split()[4]
        if reference in failed:
            status = ledger.post(posting(text)).status
            assert status in ("posted", "duplicate")
    ledger.close()
    fresh = bootstrap(Settings(database_url=postgres_url))
    try:
        stored = [
            getattr(e, "reference", None) for fund in (CITY, CITY2) for e in fresh.fund_events(fund)
        ]
        expected = [text.split()[4] for text in texts]
        assert sorted(r for r in stored if r is not None) == sorted(expected)
        total = sum(
            p.amount_fen * (1 if p.line.value.startswith("contribution") else -1)
            for p in map(posting, texts)
        )
        city = fresh.find_fund(CITY)
        city2 = fresh.find_fund(CITY2)
        assert city is not None
        assert city2 is not None
        assert city.balance_fen + city2.balance_fen == total
    finally:
        fresh.close()
