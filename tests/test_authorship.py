"""Every event records who made it; events stored before keep loading and verifying.

On memory, SQLite and PostgreSQL: the author of every kind of write is on its events after a
reload and a replay from a snapshot; a store written by the code before authors were recorded
(a fixture of its stored rows, written back through the recorder) loads, replays, projects and
verifies; changing or stripping a recorded author breaks the event's hash; the hash of a known
event of each class version is pinned, so the algorithm cannot drift.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import resolve_topic

from api.bootstrap import App, bootstrap_app
from api.settings import Settings
from clearing import settlement
from clearing.levy import levy_plan, post_levies
from clearing.policy import load_policy
from clearing.pool_inputs import assess
from domain.audit import verify_chain
from domain.authored import AUTHORED_CLASS_VERSION
from domain.authorship import Author
from domain.budget import Budget, DrafterMayNotApprove, budget_id
from domain.budgets import adjust_budget, approve_budget, draft_budget, find_budget
from domain.chain import GENESIS_HASH, canonical_bytes, chain_hash
from domain.clearing_inputs import PoolYear, find_pool_year, pool_year_id, record_assessment
from domain.clearing_inputs import set_county_plan as set_plan
from domain.errors import InvalidInput
from domain.fund import Fund
from domain.ledger import ProvinceLedger
from domain.ledger_service import Ledger
from domain.lines import Line
from domain.settlement import DrafterMayNotApprove as SettlementDrafterMayNotApprove
from domain.settlement import Settlement, settlement_id
from domain.vouchers import Voucher
from projections.statement import fold_statement
from tests.conftest import TEST_PROVINCES
from tests.scenario import CITY, CITY2, PROVINCE_ADJUSTMENT, posting

FIXTURE = Path(__file__).parent / "fixtures" / "v1_store.json"
"""Stored rows (events, a fund snapshot, vouchers) written by the code before authors were
recorded: two funds with postings, a pair, a reversal, an enrolment and a close, a budget
drafted, approved and adjusted, a pool's assessment and plan, a settlement from draft to post."""

WANG = Author("cli:wang")
LI = Author("li", request_id="req-li-1")
ZHAO = Author("zhao", request_id="req-zhao-7")


def province_of(ledger: Ledger) -> ProvinceLedger:
    return ledger.province(CITY.province)


def stored_events(ledger: Ledger, aggregate_id: UUID) -> list[Any]:
    """The aggregate's events as read from the store now (not from the cache)."""
    app = province_of(ledger)
    app.forget_cached([aggregate_id])
    return list(app.events.get(aggregate_id))


def authors(events: list[Any]) -> list[tuple[str | None, str | None]]:
    return [(e.recorded_by, e.request_id) for e in events]


# ------------------------------------------------------------------------ every event class


def _event_classes() -> set[type[Any]]:
    """Every event class an aggregate of the domain triggers or reads back from its topic."""
    found: set[type[Any]] = set()
    for aggregate in (Fund, Budget, PoolYear, Settlement):
        for name in dir(aggregate):
            value = getattr(aggregate, name)
            if isinstance(value, type) and issubclass(value, aggregate.Event):
                found.add(value)
    return found


def test_every_event_class_of_every_aggregate_records_its_author() -> None:
    classes = _event_classes()
    names = {c.__qualname__ for c in classes}
    assert {"Fund.Opened", "Fund.BenefitPaid", "Budget.Approved", "PoolYear.CountyPlanSet"} <= names
    assert {"Settlement.Drafted", "Settlement.Posted", "Fund.PostingReversed"} <= names
    for cls in classes:
        fields = {f.name for f in dataclasses.fields(cls)}
        assert {"recorded_by", "request_id"} <= fields, cls.__qualname__
        assert cls.class_version == AUTHORED_CLASS_VERSION, cls.__qualname__
        if hasattr(cls, "TOPIC"):  # every class but the aggregates' base event classes
            assert resolve_topic(cls.TOPIC) is cls, cls.__qualname__
        state: dict[str, Any] = {"amount_fen": 1}
        cls.upcast_v1_v2(state)
        assert state == {"amount_fen": 1, "recorded_by": None, "request_id": None}


def test_the_aggregates_state_is_unchanged_so_their_snapshots_are() -> None:
    """The author is on the events only: an aggregate's class version (that of its snapshots)
    stays 1, so the snapshots stored before load without an upcaster."""
    for aggregate in (Fund, Budget, PoolYear, Settlement):
        assert getattr(aggregate, "class_version", 1) == 1


# ------------------------------------------------------------------------ pinned test vectors

VECTOR_ID = UUID("976065b6-f681-5a9e-a899-b7a0be750321")  # resident:140100
VECTOR_TIME = datetime(2024, 11, 2, 8, 30, tzinfo=UTC)
VECTOR_PAYLOAD: dict[str, Any] = {
    "reference": "C-1",
    "amount_fen": 120_000,
    "value_date": "2024-11-02",
    "sub_line": "individual",
    "level": None,
    "county": None,
    "counterparty": None,
    "purpose": None,
    "memo": None,
    "restatement": False,
    "prev_hash": "11bc67d4d792d1b29e38e6656031fc25d2528c67b434010e5e97d6d020b5989b",
}
V1_HASH = "0fa50ad37033c49527bcc355da1163cd8bd7d038b7d65e740d2a75c84caf9423"
"""Computed by the code before authors were recorded, from the same topic, id, version, time
and payload."""


def vector(**author: str | None) -> str:
    return chain_hash(
        topic=Fund.ContributionReceived.TOPIC,
        originator_id=VECTOR_ID,
        originator_version=2,
        timestamp=VECTOR_TIME,
        payload={**VECTOR_PAYLOAD, **author},
    )


def test_pinned_hash_of_a_v1_event() -> None:
    assert vector() == V1_HASH
    # the upcast event (both fields None) hashes as it did when it was written
    assert vector(recorded_by=None, request_id=None) == V1_HASH


def test_pinned_hash_of_a_v2_event() -> None:
    with_request = vector(recorded_by="太原市医保局-王", request_id="req-0001")
    assert with_request == "d50402df214e55a20bfaa91575985cf3aaabc57330d12c04407a756a64b7d649"
    on_the_cli = vector(recorded_by="cli:wang", request_id=None)
    assert on_the_cli == "3c31a744e8243cc14de93ac22bc73a1ef1a6bb4cc74fe138de1e6d3bb0005c9a"
    assert len({V1_HASH, with_request, on_the_cli}) == 3


def test_what_a_v2_event_hashes_is_its_payload_with_the_author() -> None:
    content = {
        "topic": "fundledger:Fund.YearClosed",
        "originator_id": VECTOR_ID,
        "originator_version": 9,
        "timestamp": VECTOR_TIME,
        "payload": {"year": 2023, "prev_hash": GENESIS_HASH, "recorded_by": "li"},
    }
    assert canonical_bytes(content) == (
        b'{"originator_id":"976065b6-f681-5a9e-a899-b7a0be750321","originator_version":9,'
        b'"payload":{"prev_hash":"' + GENESIS_HASH.encode() + b'","recorded_by":"li",'
        b'"year":2023},"timestamp":"2024-11-02T08:30:00+00:00",'
        b'"topic":"fundledger:Fund.YearClosed"}'
    )


# ------------------------------------------------------------------------ writes and reloads


def open_funds(ledger: Ledger) -> None:
    ledger.open_fund(CITY, first_year=2023, opening_balance_fen=3_522_600, author=ZHAO)
    ledger.open_fund(CITY2, first_year=2023, author=ZHAO)
    ledger.open_fund(PROVINCE_ADJUSTMENT, first_year=2023, author=LI)


def test_every_fund_write_records_its_author_after_a_reload(ledger: Ledger) -> None:
    open_funds(ledger)
    single = dataclasses.replace(
        posting("resident:140100 benefit/inpatient 3000.50 2024-03-31 B-1"), author=WANG
    )
    assert ledger.post(single).status == "posted"
    pair = posting(
        "resident:140100 to_upper 100.00 2024-12-20 L-1 "
        "counterparty=adjustment:140000 purpose=adjustment_levy"
    )
    ledger.post(dataclasses.replace(pair, author=LI))
    reversal = posting("resident:140100 to_upper 100.00 2024-12-21 R-1 reverses=L-1")
    ledger.post(dataclasses.replace(reversal, author=ZHAO))
    ledger.record_enrolment(CITY, 2023, "140105", 1_000, author=WANG)
    ledger.close_year(CITY, 2023, today=date(2024, 1, 15), author=LI)
    city = stored_events(ledger, CITY.aggregate_id)
    assert [type(e).__name__ for e in city] == [
        "Opened", "BenefitPaid", "RemittedToUpper", "PostingReversed", "EnrolmentRecorded",
        "YearClosed",
    ]  # fmt: skip
    assert authors(city) == [
        ("zhao", "req-zhao-7"),
        ("cli:wang", None),
        ("li", "req-li-1"),
        ("zhao", "req-zhao-7"),
        ("cli:wang", None),
        ("li", "req-li-1"),
    ]
    adjustment = stored_events(ledger, PROVINCE_ADJUSTMENT.aggregate_id)
    assert [(type(e).__name__, e.recorded_by) for e in adjustment] == [
        ("Opened", "li"),
        ("ReceivedFromLower", "li"),  # the mirror records the paying side's author
        ("PostingReversed", "zhao"),  # and so does the mirror of its reversal
    ]
    links = ledger.chain(CITY)
    assert all(link.ok for link in links)
    assert [link.recorded_by for link in links] == [a for a, _ in authors(city)]
    assert [link.request_id for link in links][:3] == ["req-zhao-7", None, "req-li-1"]


def test_the_author_survives_a_replay_from_a_snapshot(ledger: Ledger) -> None:
    open_funds(ledger)
    ledger.post(
        dataclasses.replace(posting("resident:140100 interest 1.00 2024-01-31 I-1"), author=LI)
    )
    app = province_of(ledger)
    app.take_snapshot(CITY.aggregate_id)
    snapshot = next(iter(app.snapshots.get(CITY.aggregate_id, desc=True, limit=1)))
    assert snapshot.originator_version == 2
    assert "class_version" not in snapshot.state  # the fund's own state did not change
    ledger.post(
        dataclasses.replace(posting("resident:140100 interest 2.00 2024-02-29 I-2"), author=WANG)
    )
    app.forget_cached([CITY.aggregate_id])
    found = ledger.find_fund(CITY)  # the snapshot, then version 3
    assert found is not None
    assert (found.version, found.balance_fen) == (3, 3_522_600 + 300)
    assert found.last_hash == ledger.chain(CITY)[-1].event.chain_hash
    assert authors(stored_events(ledger, CITY.aggregate_id)) == [
        ("zhao", "req-zhao-7"),
        ("li", "req-li-1"),
        ("cli:wang", None),
    ]


def test_one_import_of_several_callers_records_each_posting_s_own_author(ledger: Ledger) -> None:
    """The group-commit writer saves the postings of several requests in one batch."""
    open_funds(ledger)
    ledger.post(posting("resident:140100 benefit 5.00 2024-03-01 B-0"))  # no author: v1-like
    rows = [
        dataclasses.replace(posting("resident:140100 benefit 1.00 2024-03-02 B-1"), author=WANG),
        dataclasses.replace(
            posting(
                "resident:140100 to_upper 2.00 2024-03-03 L-1 "
                "counterparty=adjustment:140000 purpose=adjustment_levy"
            ),
            author=LI,
        ),
        dataclasses.replace(
            posting("resident:140100 benefit 5.00 2024-03-04 R-0 reverses=B-0"), author=ZHAO
        ),
        posting("resident:140200 contribution 3.00 2024-03-05 C-1"),  # takes the import's author
    ]
    report = ledger.import_postings(rows, author=Author("import-job", request_id="req-batch"))
    assert report.posted == 4
    city = stored_events(ledger, CITY.aggregate_id)
    assert authors(city)[1:] == [
        (None, None),
        ("cli:wang", None),
        ("li", "req-li-1"),
        ("zhao", "req-zhao-7"),
    ]
    assert authors(stored_events(ledger, PROVINCE_ADJUSTMENT.aggregate_id))[1:] == [
        ("li", "req-li-1")
    ]
    assert authors(stored_events(ledger, CITY2.aggregate_id))[1:] == [("import-job", "req-batch")]
    assert all(
        link.ok for fund in (CITY, CITY2, PROVINCE_ADJUSTMENT) for link in ledger.chain(fund)
    )


def test_a_retry_by_another_caller_is_a_duplicate_and_keeps_the_first_author(
    ledger: Ledger,
) -> None:
    open_funds(ledger)
    first = dataclasses.replace(posting("resident:140100 benefit 1.00 2024-03-02 B-1"), author=LI)
    retry = dataclasses.replace(first, author=ZHAO)
    assert retry == first
    assert retry.digest() == first.digest()
    assert ledger.post(first).status == "posted"
    assert ledger.post(retry).status == "duplicate"
    assert ledger.import_postings([retry]).duplicates == 1
    assert authors(stored_events(ledger, CITY.aggregate_id))[1:] == [("li", "req-li-1")]


def test_budget_pool_and_settlement_events_record_their_authors(ledger: Ledger) -> None:
    open_funds(ledger)
    lines = {Line.CONTRIBUTION: 100_000, Line.BENEFIT: 50_000}
    draft_budget(ledger, CITY, 2024, lines, opening_balance_fen=0, permitted=None, author=WANG)
    with pytest.raises(DrafterMayNotApprove, match="cli:wang drafted"):
        approve_budget(ledger, CITY, 2024, "晋医保函〔2024〕1号", author=WANG)
    approve_budget(ledger, CITY, 2024, "晋医保函〔2024〕1号", author=LI)
    adjust_budget(
        ledger,
        CITY,
        2024,
        {**lines, Line.BENEFIT: 60_000},
        approval_ref="晋医保函〔2024〕2号",
        opening_balance_fen=0,
        permitted=None,
        author=ZHAO,
    )
    budget = find_budget(ledger, CITY, 2024)
    assert budget is not None
    assert (budget.status, budget.approved_by, budget.drafters) == ("adjusted", "li", ["cli:wang"])
    assert authors(stored_events(ledger, budget_id(CITY, 2024))) == [
        ("cli:wang", None),
        ("cli:wang", None),
        ("li", "req-li-1"),
        ("zhao", "req-zhao-7"),
    ]
    record_assessment(ledger, CITY, 2024, grade="A", score="91.5", author=LI)
    set_plan(ledger, CITY, 2024, county="140105", plan=(1, 2, 3), author=ZHAO)
    with pytest.raises(InvalidInput, match="who records it"):
        record_assessment(ledger, CITY, 2024, grade="B", score=None)
    assert find_pool_year(ledger, CITY, 2024) is not None
    pool = stored_events(ledger, pool_year_id(CITY, 2024))
    assert authors(pool) == [("li", "req-li-1"), ("li", "req-li-1"), ("zhao", "req-zhao-7")]
    assert [getattr(e, "principal", None) for e in pool] == [None, "li", "zhao"]
    app = province_of(ledger)
    settlement = Settlement.draft(
        "140000", 2024, policy={}, inputs_hash="a" * 64, result={}, author=LI
    )
    app.save(settlement)
    events = stored_events(ledger, settlement_id("140000", 2024))
    assert authors(events) == [("li", "req-li-1")]
    assert events[0].drafted_by == "li"


def test_maker_checker_compares_the_recorded_principals() -> None:
    settlement = Settlement.draft(
        "140000", 2024, policy={}, inputs_hash="a" * 64, result={}, author=LI
    )
    settlement.redraft(policy={}, inputs_hash="b" * 64, result={}, author=Author("liu"))
    for drafter in (Author("li", request_id="another request"), Author("  liu ")):
        with pytest.raises(SettlementDrafterMayNotApprove, match="drafted this settlement"):
            settlement.approve(drafter)
    with pytest.raises(InvalidInput, match="who does it"):
        settlement.approve(Author("   "))
    assert settlement.approve(ZHAO)
    assert not settlement.approve(Author("zhao"))  # the same officer again: nothing recorded
    settlement.post(Author("sun"), [], 0)
    events = settlement.collect_events()
    assert [(type(e).__name__, e.recorded_by) for e in events] == [
        ("Drafted", "li"),
        ("Redrafted", "liu"),
        ("Approved", "zhao"),
        ("Posted", "sun"),
    ]
    assert (settlement.approved_by, settlement.posted_by) == ("zhao", "sun")


def test_a_budget_drafted_before_authors_were_recorded_binds_nobody() -> None:
    budget = Budget.begin(CITY, 2024, author=None)
    budget.draft({Line.CONTRIBUTION: 1}, 0, None, author=None)
    assert budget.drafters == []
    assert budget.approve("晋医保函〔2024〕1号", author=Author("cli:wang"))


# ------------------------------------------------------------------------ tampering


def test_a_changed_or_stripped_author_breaks_the_event_s_hash(ledger: Ledger) -> None:
    """On every backend: the stored state of a v2 event, edited, no longer matches its hash."""
    open_funds(ledger)
    ledger.post(
        dataclasses.replace(posting("resident:140100 benefit 1.00 2024-03-02 B-1"), author=LI)
    )
    app = province_of(ledger)
    rows = list(app.recorder.select_events(CITY.aggregate_id))
    assert verify_chain(rows, app.mapper.to_domain_event)[-1].ok

    def edited(change: Any) -> list[str]:
        state = json.loads(rows[1].state)
        assert (state["class_version"], state["recorded_by"]) == (2, "li")
        change(state)
        changed = dataclasses.replace(rows[1], state=json.dumps(state).encode())
        links = verify_chain([rows[0], changed], app.mapper.to_domain_event)
        return list(links[1].findings)

    def strip_as_v1(state: dict[str, Any]) -> None:
        for key in ("class_version", "recorded_by", "request_id"):
            del state[key]

    mismatch = ["chain_hash does not match the event's content: the event was changed"]
    assert edited(lambda s: s.update(recorded_by="mallory")) == mismatch
    assert edited(lambda s: s.update(recorded_by=None)) == mismatch
    assert edited(lambda s: s.update(request_id=None)) == mismatch
    assert edited(lambda s: s.update(request_id="req-other")) == mismatch
    assert edited(strip_as_v1) == mismatch
    assert edited(lambda s: s.pop("class_version")) == mismatch  # upcast again: author erased
    assert edited(lambda s: None) == []


# ------------------------------------------------------------------------ a store written by v1


def load_fixture() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return rows


def write_v1_rows(app: ProvinceLedger) -> None:
    """The fixture's rows, written through the recorders as the code before wrote them."""
    events, snapshots, vouchers = [], [], []
    for row in load_fixture():
        table = row.pop("table")
        if table == "vouchers":
            vouchers.append(Voucher(**row))
            continue
        stored = StoredEvent(
            originator_id=UUID(row["originator_id"]),
            originator_version=row["originator_version"],
            topic=row["topic"],
            state=json.dumps(row["state"], ensure_ascii=False, separators=(",", ":")).encode(),
        )
        (events if table == "events" else snapshots).append(stored)
    app.vouchers.insert_batches([(events, vouchers)], lambda _: None)
    assert app.snapshots is not None
    app.snapshots.recorder.insert_events(snapshots)


@pytest.fixture
def v1_app(store_url: str) -> Iterator[App]:
    """A store on each backend holding only rows written by the code before authors."""
    app = bootstrap_app(Settings(database_url=store_url))
    app.ledger.init(TEST_PROVINCES)
    app.read_models.create_tables()
    write_v1_rows(app.ledger.province("140000"))
    try:
        yield app
    finally:
        app.close()


def test_the_fixture_is_what_the_code_before_wrote() -> None:
    rows = load_fixture()
    states = [r["state"] for r in rows if r["table"] != "vouchers"]
    assert len(states) == 25
    assert not any("class_version" in s or "recorded_by" in s for s in states)


def test_a_v1_store_loads_replays_and_verifies(v1_app: App) -> None:
    ledger = v1_app.ledger
    for fund, count in ((CITY, 10), (PROVINCE_ADJUSTMENT, 3)):
        links = ledger.chain(fund)
        assert [link.findings for link in links] == [()] * count
        assert {link.recorded_by for link in links} == {None}
    opened = ledger.chain(CITY)[0].event
    assert opened.chain_hash == "11bc67d4d792d1b29e38e6656031fc25d2528c67b434010e5e97d6d020b5989b"
    # loaded from the v1 snapshot (version 9) and one event; and replayed from the start
    snapshots = province_of(ledger).snapshots
    assert snapshots is not None
    assert [s.originator_version for s in snapshots.get(CITY.aggregate_id)] == [9]
    found = ledger.find_fund(CITY)
    assert found is not None
    replayed = None
    for event in stored_events(ledger, CITY.aggregate_id):
        replayed = event.mutate(replayed)
    assert isinstance(replayed, Fund)
    for fund in (found, replayed):
        assert (fund.version, fund.balance_fen, fund.closed_years) == (10, 3_843_684, [2023])
        assert fund.enrolled_in(2023, "140105") == 123_456
        assert fund.last_hash == ledger.chain(CITY)[-1].event.chain_hash
    budget = find_budget(ledger, CITY, 2024)
    assert budget is not None
    assert (budget.status, budget.approved_by, budget.drafters) == ("adjusted", "太原市财政局", [])
    pool = find_pool_year(ledger, CITY, 2024)
    assert pool is not None
    assert (pool.grade, pool.plans) == ("A", {"140105": (1, 2, 3)})
    settlement = province_of(ledger).repository.get(settlement_id("140000", 2024))
    assert (settlement.status, settlement.drafters) == ("posted", ["li", "liu"])


def test_a_v1_store_takes_v2_events_and_its_projection_agrees(v1_app: App) -> None:
    ledger = v1_app.ledger
    assert ledger.post(posting("resident:140100 interest 12.34 2024-01-31 I-1")).status == (
        "duplicate"
    )  # the v1 vouchers still answer a retry
    later = dataclasses.replace(posting("resident:140100 benefit 2.00 2024-02-02 B-3"), author=LI)
    ledger.post(later)
    ledger.close_year(PROVINCE_ADJUSTMENT, 2023, today=date(2024, 3, 1), author=ZHAO)
    links = ledger.chain(CITY)
    assert [link.version for link in links if not link.ok] == []
    assert [link.recorded_by for link in links][-2:] == [None, "li"]
    assert links[-1].event.prev_hash == links[-2].event.chain_hash  # v2 follows v1 in the chain
    assert all(link.ok for link in ledger.chain(PROVINCE_ADJUSTMENT))
    for year in (2023, 2024):
        folded = fold_statement(str(CITY), year, ledger.fund_events(CITY)).to_json()
        projected = v1_app.read_models.statement(CITY, year).to_json()
        for key in ("opening_balance", "income", "expense", "closing_balance"):
            assert projected[key] == folded[key], (year, key)
    assert folded["closing_balance"] == "38434.84"
    approve_budget(ledger, CITY, 2024, "晋医保函〔2024〕1号", author=LI)  # the same: no-op
    record_assessment(ledger, CITY, 2024, grade="B", score=None, author=LI)
    pool = stored_events(ledger, pool_year_id(CITY, 2024))
    assert authors(pool) == [(None, None)] * 3 + [("li", "req-li-1")]


def test_a_v2_draft_on_a_v1_store_binds_its_author(v1_app: App) -> None:
    """A v2 draft on a fund whose first budget was v1: its author may not approve it."""
    ledger = v1_app.ledger
    lines = {Line.CONTRIBUTION: 10_000}
    draft_budget(ledger, CITY, 2025, lines, opening_balance_fen=0, permitted=None, author=LI)
    with pytest.raises(DrafterMayNotApprove):
        approve_budget(ledger, CITY, 2025, "晋医保函〔2025〕1号", author=LI)
    assert approve_budget(ledger, CITY, 2025, "晋医保函〔2025〕1号", author=WANG).changed


# ------------------------------------------------------------------------ the clearing house

CLEARING_POSTINGS = (
    "resident:140100 contribution/individual 4000000.00 2023-11-02 C23 county=140105",
    "resident:140100 subsidy/standard@central 6000000.00 2023-06-30 S23",
    "resident:140100 benefit/inpatient 9000000.00 2023-03-31 B23",
    "resident:140200 contribution/individual 2000000.00 2023-11-02 C23",
    "resident:140200 benefit/inpatient 1900000.00 2023-03-31 B23",
    "resident:140100 contribution/individual 4000000.00 2024-11-02 C24 county=140105",
    "resident:140100 benefit/inpatient 11500000.00 2024-03-31 B24",
    "resident:140200 contribution/individual 2000000.00 2024-11-02 C24",
    "resident:140200 benefit/inpatient 2300000.00 2024-03-31 B24",
)


@pytest.fixture
def clearing_app(store_url: str) -> Iterator[App]:
    app = bootstrap_app(Settings(database_url=store_url))
    app.ledger.init(TEST_PROVINCES)
    app.read_models.create_tables()
    for fund, balance in ((CITY, 1_000_000_00), (CITY2, 500_000_00), (PROVINCE_ADJUSTMENT, 0)):
        app.ledger.open_fund(fund, first_year=2023, opening_balance_fen=balance, author=ZHAO)
    app.ledger.import_postings([posting(p) for p in CLEARING_POSTINGS], author=WANG)
    try:
        yield app
    finally:
        app.close()


def test_levies_settlement_steps_and_draws_record_their_authors(clearing_app: App) -> None:
    app, ledger = clearing_app, clearing_app.ledger
    plan = levy_plan(app.read_models, "140000", 2024, load_policy("140000", 2024))
    posted = post_levies(ledger, app.read_models, plan, author=Author("province-office", "req-L"))
    assert [p.status for p in posted] == ["posted", "posted"]
    assess(ledger, CITY, 2024, grade="C", score=None, author=LI)
    assess(ledger, CITY2, 2024, grade="C", score=None, author=LI)
    settlement.draft(app, "140000", 2024, author=LI)
    with pytest.raises(SettlementDrafterMayNotApprove):
        settlement.approve(app, "140000", 2024, author=Author("li", request_id="req-other"))
    settlement.approve(app, "140000", 2024, author=ZHAO)
    view = settlement.post(app, "140000", 2024, author=Author("sun", request_id="req-P"))
    assert (view.drafted_by, view.approved_by, view.posted_by) == ("li", "zhao", "sun")
    city = stored_events(ledger, CITY.aggregate_id)
    by_reference = {e.reference: (e.recorded_by, e.request_id) for e in city[1:]}
    assert by_reference == {
        "C23": ("cli:wang", None),
        "B23": ("cli:wang", None),
        "S23": ("cli:wang", None),
        "C24": ("cli:wang", None),
        "B24": ("cli:wang", None),
        "LEVY-2024": ("province-office", "req-L"),
        "adjustment:140000#DRAW-2024-140100": ("sun", "req-P"),
    }
    adjustment = stored_events(ledger, PROVINCE_ADJUSTMENT.aggregate_id)
    assert {(e.reference, e.recorded_by) for e in adjustment[1:]} == {
        ("resident:140100#LEVY-2024", "province-office"),
        ("resident:140200#LEVY-2024", "province-office"),
        ("DRAW-2024-140100", "sun"),
        ("DRAW-2024-140200", "sun"),
    }
    steps = stored_events(ledger, settlement_id("140000", 2024))
    assert authors(steps) == [("li", "req-li-1"), ("zhao", "req-zhao-7"), ("sun", "req-P")]
    assert all(
        link.ok for fund in (CITY, CITY2, PROVINCE_ADJUSTMENT) for link in ledger.chain(fund)
    )
