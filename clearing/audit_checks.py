"""The auditor's checks of the clearing house: every settlement reproduces from its inputs.

A settlement records the policy it ran on (its whole content), the SHA-256 of its inputs and
the full result, not the inputs themselves. The check rebuilds the inputs from the read models
(which the statement checks of ``audit verify`` compare with the raw events) with the recorded
policy, compares their hash with the recorded one, and, when it matches, re-runs the allocation
engine and compares the result (every pool's figures, draws and counties, so the report made
from it) and the receivables the settlement makes owed (make-good, residual, legacy gap).

A draft whose inputs no longer hash as recorded is stale, not tampered (the ledger moved since;
approving it is refused until it is redrafted): it is not a finding. An approved or posted
settlement must reproduce: the approval checked the hash against the books, and the draws are
added back before the hash, so a hash that differs now means the settled year's books or the
settlement were changed afterwards. Catch-up receivables are not recorded anywhere: they are
read from the enrolment and postings read models each time, which the other checks compare
with the events.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from clearing.allocation import allocate
from clearing.inputs import build_inputs, inputs_hash
from clearing.owed import settlement_receivables
from clearing.policy import ClearingPolicy
from clearing.report import result_document
from clearing.settlement import draw_postings, find_settlement
from domain.ledger_service import Ledger
from domain.settlement import Settlement, settlement_id
from projections.audit import MAX_FUNDS, Finding
from projections.service import ReadModels

CHECK = "settlement"


def recorded_settlements(ledger: Ledger, province: str) -> list[tuple[str, int]]:
    """``(province, year)`` of every settlement drafted in the province's ledger."""
    recorder = ledger.province(province).recorder
    drafted = recorder.select_notifications(1, MAX_FUNDS, topics=[Settlement.Drafted.TOPIC])
    found = {(str(s["province"]), int(s["year"])) for s in (orjson.loads(n.state) for n in drafted)}
    return sorted(found)


def settlement_findings(
    ledger: Ledger, read_models: ReadModels, provinces: Iterable[str], year: int | None = None
) -> list[Finding]:
    """Every settlement of these provinces (of ``year`` only, when given), re-run."""
    found: list[Finding] = []
    for province in provinces:
        for each_province, each_year in recorded_settlements(ledger, province):
            if year is None or each_year == year:
                found.extend(check_settlement(ledger, read_models, each_province, each_year))
    return found


def check_settlement(
    ledger: Ledger, read_models: ReadModels, province: str, year: int
) -> list[Finding]:
    """One settlement's findings: its inputs' hash, its result and its receivables."""
    name = f"settlement:{province}:{year}"
    found: list[Finding] = []
    version: int | None = None

    def add(detail: str, check: str = CHECK) -> None:
        where = name if version is None else f"{name} version {version}"
        found.append(Finding(check, name, version, detail, f"{where}: {detail}"))

    try:
        settlement = find_settlement(ledger, province, year)
        assert settlement is not None
        version = settlement.version
        policy = ClearingPolicy.model_validate(settlement.policy)
    except Exception as error:  # noqa: BLE001 - an unreadable settlement is a finding
        add(f"the settlement does not load ({type(error).__name__}: {error})")
        return found
    if settlement.id != settlement_id(province, year):
        add("the settlement's id is not the one of its province and year")
    inputs = build_inputs(read_models, province, year, policy)
    digest = inputs_hash(inputs, policy)
    if digest != settlement.inputs_hash:
        if settlement.status != "draft":
            add(
                f"its inputs rebuilt from the books with its policy hash to {digest}, "
                f"it records {settlement.inputs_hash}"
            )
        return found
    result = result_document(allocate(inputs, policy))
    differ = result_differences(settlement.result, result)
    if differ:
        add(
            "re-running the engine on its inputs and policy gives another result: "
            + ", ".join(differ)
            + f" (report digest {_digest(settlement.result)}, re-run {_digest(result)})"
        )
    if settlement.status == "posted":
        for detail in posted_differences(ledger, settlement):
            add(detail)
        db = read_models.for_province(province).db
        recorded = {
            (r.fund, r.reference): r.owed_fen
            for r in settlement_receivables(db, year, settlement.result)
        }
        rerun = {
            (r.fund, r.reference): r.owed_fen for r in settlement_receivables(db, year, result)
        }
        for fund, reference in sorted(set(recorded) | set(rerun)):
            seen, expected = recorded.get((fund, reference)), rerun.get((fund, reference))
            if seen != expected:
                add(
                    f"the receivable {reference} of {fund} is {seen} fen as recorded but "
                    f"{expected} fen on re-run",
                    "receivable",
                )
    return found


def posted_differences(ledger: Ledger, settlement: Settlement) -> list[str]:
    """What the ``Posted`` event records against the approved result: the draws' total and
    references."""
    app = ledger.province(settlement.province)
    posted: Any = None
    for stored in app.recorder.select_events(settlement.id):
        event: Any = app.mapper.to_domain_event(stored)
        if isinstance(event, Settlement.Posted):
            posted = event
    if posted is None:
        return ["it is posted but has no Posted event"]
    found: list[str] = []
    total = settlement.result["adjustment_fund"]["draws_total_fen"]
    if posted.draws_total_fen != total:
        found.append(f"it posted draws of {posted.draws_total_fen} fen, its result {total} fen")
    references = [p.reference for p in draw_postings(settlement)]
    if list(posted.draw_references) != references:
        found.append(f"it posted the draws {posted.draw_references}, its result {references}")
    return found


def result_differences(recorded: Mapping[str, Any], rerun: Mapping[str, Any]) -> list[str]:
    """Each figure (``adjustment_fund.draws_total_fen``, ``<pool>.draw_fen``) that differs."""
    differ = [
        f"adjustment_fund.{key}"
        for key in sorted(set(recorded.get("adjustment_fund", {})) | set(rerun["adjustment_fund"]))
        if recorded.get("adjustment_fund", {}).get(key) != rerun["adjustment_fund"].get(key)
    ]
    pools_seen = {p.get("fund"): p for p in recorded.get("pools", [])}
    pools_rerun = {p["fund"]: p for p in rerun["pools"]}
    for fund in sorted(set(pools_seen) | set(pools_rerun), key=str):
        seen, expected = pools_seen.get(fund), pools_rerun.get(fund)
        if seen is None or expected is None:
            differ.append(f"{fund} is {'missing' if seen is None else 'not a pool on re-run'}")
            continue
        differ.extend(
            f"{fund}.{key}"
            for key in sorted(set(seen) | set(expected))
            if seen.get(key) != expected.get(key)
        )
    return differ


def _digest(result: Mapping[str, Any]) -> str:
    canonical = orjson.dumps(result, option=orjson.OPT_SORT_KEYS)
    return "sha256:" + hashlib.sha256(canonical).hexdigest()[:16]
