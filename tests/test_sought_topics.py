"""The events looked up by topic: the same answers on every backend, and on PostgreSQL from
their own index (docs/audit.md, "Figures")."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg import sql

from domain.budget import Budget
from domain.clearing_inputs import PoolYear
from domain.fund import Fund
from domain.ledger_service import Ledger
from domain.persistence import SOUGHT_TOPICS
from domain.seal import Checkpoint, Seal
from domain.settlement import Settlement
from projections.audit_origins import CREATIONS
from tests.conftest import POSTGRES_URL
from tests.scenario import CITY, CITY2, PROVINCE_ADJUSTMENT, posting


def test_the_sought_topics_are_those_of_the_events_looked_up_by_topic() -> None:
    looked_up = {
        Fund.Opened.TOPIC,
        Budget.Created.TOPIC,
        PoolYear.Created.TOPIC,
        Settlement.Drafted.TOPIC,
        Seal.Created.TOPIC,
        Seal.Recorded.TOPIC,
        Checkpoint.Created.TOPIC,
        Checkpoint.Recorded.TOPIC,
    }
    assert set(SOUGHT_TOPICS) == looked_up
    assert set(CREATIONS) <= set(SOUGHT_TOPICS)


def _filled(ledger: Ledger) -> None:
    ledger.open_fund(CITY, first_year=2023, opening_balance_fen=100_000)
    for day in range(1, 6):
        ledger.post(posting(f"resident:140100 benefit 1.00 2024-01-{day:02} B-{day}"))
    ledger.open_fund(CITY2, first_year=2023)
    ledger.post(posting("resident:140200 benefit 2.00 2024-02-01 B-1"))
    ledger.open_fund(PROVINCE_ADJUSTMENT, first_year=2023)


def test_a_read_by_topic_answers_as_a_filter_of_every_event(ledger: Ledger) -> None:
    _filled(ledger)
    recorder = ledger.province("140000").recorder
    every = list(recorder.select_notifications(1, 1000))
    assert len(every) == 9
    opened = [n.id for n in every if n.topic == Fund.Opened.TOPIC]
    assert len(opened) == 3
    topics = [Fund.Opened.TOPIC, Seal.Recorded.TOPIC]
    for start, stop, inclusive, limit in [
        (1, None, True, 1000),
        (opened[1], None, True, 1000),
        (opened[1], None, False, 1000),
        (None, None, True, 2),
        (1, opened[1], True, 1000),
        (opened[0], opened[2], False, 1),
    ]:
        wanted = [
            n
            for n in every
            if n.topic in topics
            and (start is None or n.id > start or (inclusive and n.id == start))
            and (stop is None or n.id <= stop)
        ][:limit]
        found = recorder.select_notifications(
            start, limit, stop, topics, inclusive_of_start=inclusive
        )
        assert [(n.id, n.topic, n.originator_id, n.state) for n in found] == [
            (n.id, n.topic, n.originator_id, n.state) for n in wanted
        ], (start, stop, inclusive, limit)


@pytest.mark.postgres
def test_postgres_finds_the_sought_events_by_their_own_index(postgres_url: str) -> None:
    from api.bootstrap import bootstrap
    from api.settings import Settings

    ledger = bootstrap(Settings(database_url=postgres_url))
    ledger.init(["140000"])
    try:
        _filled(ledger)
    finally:
        ledger.close()
    schema = postgres_url.rpartition("schema=")[2]
    table = sql.Identifier(schema, "ledger_140000_events")
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute("SET enable_seqscan = off")
        plan = conn.execute(
            sql.SQL(
                "EXPLAIN (FORMAT JSON) SELECT * FROM {} WHERE topic = ANY(%s) "
                "AND notification_id >= 1 ORDER BY notification_id LIMIT 1000"
            ).format(table),
            [[Seal.Recorded.TOPIC, Checkpoint.Recorded.TOPIC]],
        ).fetchone()
    assert plan is not None
    assert _indexes(plan[0][0]["Plan"]) == {"ledger_140000_events_sought"}


def _indexes(node: dict[str, Any]) -> set[str]:
    """The names of the indexes a plan's nodes read."""
    found = {node["Index Name"]} if "Index Name" in node else set()
    for child in node.get("Plans", []):
        found |= _indexes(child)
    return found


def test_the_aggregate_ids_are_those_of_every_event(ledger: Ledger) -> None:
    """``aggregate_ids``: every aggregate with an event, in order, once (on PostgreSQL a skip
    over the primary key's index), on every backend."""
    assert ledger.province("140000").vouchers.aggregate_ids() == []
    _filled(ledger)
    every = ledger.province("140000").recorder.select_notifications(1, 1000)
    expected = sorted({n.originator_id for n in every}, key=str)
    found = ledger.province("140000").vouchers.aggregate_ids()
    assert [str(i) for i in found] == sorted(str(i) for i in expected)
    assert {CITY.aggregate_id, CITY2.aggregate_id, PROVINCE_ADJUSTMENT.aggregate_id} == set(found)


def test_the_voucher_funds_are_those_of_every_voucher(ledger: Ledger) -> None:
    """``voucher_funds``: every fund with a voucher, in order, once (on PostgreSQL a skip over
    the vouchers' primary key), on every backend: the auditor's list of funds that does not
    rest on their openings."""
    vouchers = ledger.province("140000").vouchers
    assert vouchers.voucher_funds() == []
    _filled(ledger)
    expected = sorted(vouchers.voucher_versions())
    assert vouchers.voucher_funds() == expected
    assert expected == [str(CITY), str(CITY2)]  # the adjustment fund has no posting
