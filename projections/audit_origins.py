"""The auditor's check of what each aggregate is built as: its first event's ``originator_topic``.

The library stores on an aggregate's first event the topic of the class it builds the
aggregate as (``originator_topic``). The fund chain does not hash it (changing the hash would
orphan every stored one), so this check covers it: every aggregate's id is the uuid5 of a
business key that its first event records (``fund:<fund>``, ``budget:<fund>:<year>``,
``pool-year:<fund>:<year>``, ``settlement:<province>:<year>``, ``seal:<province>:<year>``,
``checkpoint:<province>``). The first event's topic says which kind of aggregate it creates;
its recorded key must give the aggregate's id, and its ``originator_topic`` must be that kind's
class topic. A finding names the aggregate (the fund, else its key) and version 1.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson

from domain.budget import Budget, budget_id
from domain.clearing_inputs import PoolYear, pool_year_id
from domain.fund import Fund
from domain.funds import FundId
from domain.ledger_service import Ledger
from domain.seal import Checkpoint, Seal, checkpoint_id, seal_id
from domain.settlement import Settlement, settlement_id
from projections.audit import Finding, voucher_funds

CHECK = "origin"
PAGE = 5000

Key = Callable[[Mapping[str, Any]], tuple[str, uuid.UUID]]
"""The recorded business key of a first event: a name for findings and the id it gives."""


def _fund_key(state: Mapping[str, Any]) -> tuple[str, uuid.UUID]:
    fund = FundId.parse(str(state["fund"]))
    return str(fund), fund.aggregate_id


def _fund_year_key(
    make: Callable[[FundId, int], uuid.UUID],
) -> Key:
    def key(state: Mapping[str, Any]) -> tuple[str, uuid.UUID]:
        fund = FundId.parse(str(state["fund"]))
        return str(fund), make(fund, int(state["year"]))

    return key


def _settlement_key(state: Mapping[str, Any]) -> tuple[str, uuid.UUID]:
    province, year = str(state["province"]), int(state["year"])
    return f"settlement:{province}:{year}", settlement_id(province, year)


def _seal_key(state: Mapping[str, Any]) -> tuple[str, uuid.UUID]:
    province, year = str(state["province"]), int(state["year"])
    return f"seal:{province}:{year}", seal_id(province, year)


def _checkpoint_key(state: Mapping[str, Any]) -> tuple[str, uuid.UUID]:
    province = str(state["province"])
    return f"checkpoint:{province}", checkpoint_id(province)


CREATIONS: Mapping[str, tuple[str, Key]] = {
    Fund.Opened.TOPIC: (Fund.TOPIC, _fund_key),
    Budget.Created.TOPIC: (Budget.TOPIC, _fund_year_key(budget_id)),
    PoolYear.Created.TOPIC: (PoolYear.TOPIC, _fund_year_key(pool_year_id)),
    Settlement.Drafted.TOPIC: (Settlement.TOPIC, _settlement_key),
    Seal.Created.TOPIC: (Seal.TOPIC, _seal_key),
    Checkpoint.Created.TOPIC: (Checkpoint.TOPIC, _checkpoint_key),
}
"""Each first event's topic: the class topic of what it creates, and its business key."""


def origin_findings(
    ledger: Ledger, provinces: Iterable[str], fund: FundId | None = None
) -> list[Finding]:
    """Every aggregate's first event of these provinces (of ``fund``'s aggregates only, when
    given): built as the class its id belongs to, under the id its business key gives."""
    found: list[Finding] = []
    for province in provinces:
        recorder = ledger.province(province).recorder
        created: set[uuid.UUID] = set()
        start = 1
        while True:
            page = recorder.select_notifications(start, PAGE, topics=list(CREATIONS))
            for stored in page:
                originator_id = uuid.UUID(str(stored.originator_id))
                created.add(originator_id)
                found.extend(_check_first(stored.topic, originator_id, stored.state, fund))
            if len(page) < PAGE:
                break
            start = page[-1].id + 1
        if fund is None:
            aggregates = ledger.province(province).vouchers.aggregate_ids()
            named = {f.aggregate_id: str(f) for f in voucher_funds(ledger, province)}
            found.extend(_uncreated(province, aggregates, created, named))
    return found


def _uncreated(
    province: str,
    aggregates: Iterable[uuid.UUID],
    created: set[uuid.UUID],
    named: Mapping[uuid.UUID, str],
) -> list[Finding]:
    """Every aggregate of the province's event log with no event that creates it: its first
    event was removed, or its topic edited. The read models leave its events out
    (:mod:`projections.decode`). A fund's aggregate is named by its fund where a voucher names
    that fund (``named``: the funds the other checks walk include those, so its chain's own
    findings are there too); any other by its id alone."""
    found: list[Finding] = []
    for aggregate in aggregates:
        if aggregate in created:
            continue
        fund = named.get(aggregate)
        what = f"aggregate {aggregate}" if fund is None else f"fund {fund} (aggregate {aggregate})"
        detail = (
            f"{what} of {province} has events but none that creates it: "
            "its first event was removed or its topic edited"
        )
        found.append(Finding(CHECK, fund or str(aggregate), None, detail, detail))
    return found


def _check_first(
    topic: str, originator_id: uuid.UUID, state: bytes, fund: FundId | None
) -> list[Finding]:
    """The findings of one stored first event."""
    expected, key = CREATIONS[topic]
    try:
        data = orjson.loads(state)
        name, derived = key(data)
    except (orjson.JSONDecodeError, KeyError, ValueError, TypeError):
        return []  # an undecodable event is the chain's finding (or the replay's)
    if fund is not None and data.get("fund") != str(fund):
        return []
    found: list[Finding] = []

    def add(detail: str) -> None:
        found.append(Finding(CHECK, name, 1, detail, f"{name} version 1: {detail}"))

    if derived != originator_id:
        add(f"its first event ({topic}) is stored under {originator_id}, not its id {derived}")
    built_as = data.get("originator_topic")
    if built_as != expected:
        add(f"its first event builds it as {built_as}, not {expected}")
    return found
