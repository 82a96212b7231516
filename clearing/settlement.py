"""The settlement service: draft, what-if, dry run, approve, post; the recorded settlement.

A draft runs the pure allocation engine on inputs built from the read models and records the
result with the policy's full content and the inputs' hash. Approving first rebuilds the inputs
with the recorded policy: if the ledger moved since the draft (another hash), the approval is
refused until the settlement is redrafted, so an approver signs off figures that are current.
Posting writes exactly what was approved (the approval is the authority: a posting recorded
after it is the next year's business, and the report keeps the approved inputs' hash). Posting
writes every draw as a ``to_lower`` pair from ``adjustment:<province>`` to the pool (purpose
``adjustment_draw``, reference ``DRAW-<year>-<region>``, dated 31 December of the settled year)
and the ``Posted`` event, in one atomic save. Every step records its author (the draws too);
maker ≠ checker compares the authors' names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from clearing.allocation import allocate
from clearing.inputs import build_inputs, draw_prefix, inputs_hash
from clearing.policy import ClearingPolicy, PolicyChoice, choose_policy, load_policy
from clearing.queries import ProvinceBooks
from clearing.report import SettlementView, result_document
from domain.authored import author_named
from domain.authorship import Author
from domain.funds import FundId, Scheme
from domain.ledger import SAVE_RETRIES, ProvinceLedger
from domain.ledger_service import Ledger
from domain.lines import Line, Purpose
from domain.postings import Posting
from domain.settlement import (
    Settlement,
    SettlementNotFound,
    SettlementStateConflict,
    settlement_id,
)
from projections.service import ReadModels


class ClearingApp(Protocol):
    """What the clearing house needs of the application: the ledger and its read models."""

    ledger: Ledger
    read_models: ReadModels


@dataclass(frozen=True)
class WhatIf:
    """The same year under two policies, side by side; nothing was recorded."""

    current: SettlementView
    alternative: SettlementView


def compute(
    read_models: ReadModels,
    province: str,
    year: int,
    policy: ClearingPolicy,
    books: ProvinceBooks | None = None,
) -> tuple[str, dict[str, Any]]:
    """The inputs' hash and the allocation's result (writes nothing), from ``books`` when
    given (:func:`~clearing.inputs.read_books`)."""
    inputs = build_inputs(read_models, province, year, policy, books)
    return inputs_hash(inputs, policy), result_document(allocate(inputs, policy))


def dry_run(
    app: ClearingApp,
    province: str,
    year: int,
    policy_path: PolicyChoice = None,
    books: ProvinceBooks | None = None,
) -> SettlementView:
    """The draft as it would be recorded now, recording nothing."""
    policy = choose_policy(province, year, policy_path)
    digest, result = compute(app.read_models, province, year, policy, books)
    return _view(province, year, policy, digest, result)


def what_if(
    app: ClearingApp, province: str, year: int, policy_path: Path | ClearingPolicy
) -> WhatIf:
    """The year under its current policy (the draft's, else the province's) and under another."""
    recorded = find_settlement(app.ledger, province, year)
    if recorded is not None:
        current_policy = ClearingPolicy.model_validate(recorded.policy)
    else:
        current_policy = load_policy(province, year)
    current = compute(app.read_models, province, year, current_policy)
    other_policy = choose_policy(province, year, policy_path)
    other = compute(app.read_models, province, year, other_policy)
    return WhatIf(
        _view(province, year, current_policy, *current),
        _view(province, year, other_policy, *other),
    )


def draft(
    app: ClearingApp,
    province: str,
    year: int,
    principal: str | None = None,
    policy_path: PolicyChoice = None,
    *,
    author: Author | None = None,
) -> tuple[SettlementView, bool]:
    """Record a draft (or redraft) made by ``author``; False when it repeats the current draft.

    ``principal`` (a name as text) stays accepted until every caller passes an author.
    """
    maker = _author(author, principal)
    policy = choose_policy(province, year, policy_path)
    policy_data = policy.model_dump(mode="json")
    ledger = app.ledger.province(province)
    for attempt in range(SAVE_RETRIES):
        digest, result = compute(app.read_models, province, year, policy)
        settlement = _find(ledger, province, year)
        if settlement is None:
            settlement = Settlement.draft(
                province,
                year,
                policy=policy_data,
                inputs_hash=digest,
                result=result,
                author=maker,
            )
            changed = True
        else:
            changed = settlement.redraft(
                policy=policy_data, inputs_hash=digest, result=result, author=maker
            )
        if _saved(ledger, settlement, changed, attempt):
            return view_of(settlement), changed
    raise AssertionError("unreachable")


def approve(
    app: ClearingApp,
    province: str,
    year: int,
    principal: str | None = None,
    *,
    author: Author | None = None,
) -> tuple[SettlementView, bool]:
    """Approve the draft (by an author who drafted none of it); False when already approved."""
    checker = _author(author, principal)
    ledger = app.ledger.province(province)
    for attempt in range(SAVE_RETRIES):
        settlement = _existing(ledger, province, year)
        changed = settlement.approve(checker)
        if changed:  # the rules on who may approve first, then whether the draft still holds
            _check_inputs_unchanged(app, settlement)
        if _saved(ledger, settlement, changed, attempt):
            return view_of(settlement), changed
    raise AssertionError("unreachable")


def post(
    app: ClearingApp,
    province: str,
    year: int,
    principal: str | None = None,
    *,
    author: Author | None = None,
) -> SettlementView:
    """Write every draw and the ``Posted`` event in one atomic save; a second post is refused.

    The draws' events and the ``Posted`` event record the same author.
    """
    poster = _author(author, principal)
    for attempt in range(SAVE_RETRIES):
        # The draws move funds: hold the province's writes, as every write but a posting does
        # (docs/architecture.md, "Group commit").
        with app.ledger.writing(province) as ledger:
            settlement = _existing(ledger, province, year)
            postings = draw_postings(settlement, author=poster)
            settlement.post(
                poster,
                [p.reference for p in postings],
                settlement.result["adjustment_fund"]["draws_total_fen"],
            )
            try:
                ledger.post_atomically(postings, [settlement])
            except IntegrityError:
                if attempt == SAVE_RETRIES - 1:
                    raise
                continue
        app.read_models.catch_up()
        return view_of(settlement)
    raise AssertionError("unreachable")


def settlement_view(app: ClearingApp, province: str, year: int) -> SettlementView:
    """The recorded settlement of the province and year."""
    return view_of(_existing(app.ledger.province(province), province, year))


def find_settlement(ledger: Ledger, province: str, year: int) -> Settlement | None:
    """The province's settlement for the year, or None before the first draft."""
    return _find(ledger.province(province), province, year)


def draw_reference(year: int, pool: FundId) -> str:
    """A draw's voucher reference on the adjustment fund (unique per pool and year)."""
    if pool.scheme is Scheme.RESIDENT:
        return f"{draw_prefix(year)}{pool.region}"
    return f"{draw_prefix(year)}{pool.scheme.value}-{pool.region}"


def draw_postings(settlement: Settlement, *, author: Author | None = None) -> list[Posting]:
    """A ``to_lower`` pair from the adjustment fund to each pool with a draw, by ``author``."""
    result = settlement.result
    adjustment = FundId.parse(result["adjustment_fund"]["fund"])
    postings = []
    for pool in result["pools"]:
        if pool["draw_fen"] <= 0:
            continue
        fund = FundId.parse(pool["fund"])
        postings.append(
            Posting(
                fund=adjustment,
                line=Line.TO_LOWER,
                amount_fen=pool["draw_fen"],
                value_date=date(settlement.year, 12, 31),
                reference=draw_reference(settlement.year, fund),
                counterparty=fund,
                purpose=Purpose.ADJUSTMENT_DRAW,
                memo=f"调剂金拨付 {settlement.year}",
                author=author,
            )
        )
    return postings


def view_of(settlement: Settlement) -> SettlementView:
    return SettlementView(
        id=str(settlement.id),
        province=settlement.province,
        year=settlement.year,
        status=settlement.status,
        policy=settlement.policy,
        inputs_hash=settlement.inputs_hash,
        result=settlement.result,
        drafted_by=settlement.drafted_by,
        approved_by=settlement.approved_by,
        posted_by=settlement.posted_by,
    )


def _view(
    province: str,
    year: int,
    policy: ClearingPolicy,
    digest: str,
    result: dict[str, Any],
) -> SettlementView:
    return SettlementView(
        id=str(settlement_id(province, year)),
        province=province,
        year=year,
        status="draft",
        policy=policy.model_dump(mode="json"),
        inputs_hash=digest,
        result=result,
    )


def _author(author: Author | None, principal: str | None) -> Author:
    """Who takes a step: an author, or (until every caller passes one) a name as text.

    Naming nobody is refused by the settlement's own rule (every step names who took it).
    """
    return author_named(author, principal) or Author(recorded_by="")


def _check_inputs_unchanged(app: ClearingApp, settlement: Settlement) -> None:
    """Refuse to approve a draft whose inputs have moved since it was drafted."""
    policy = ClearingPolicy.model_validate(settlement.policy)
    inputs = build_inputs(app.read_models, settlement.province, settlement.year, policy)
    now = inputs_hash(inputs, policy)
    if now != settlement.inputs_hash:
        raise SettlementStateConflict(
            f"the ledger changed since the draft (inputs {settlement.inputs_hash[:19]}… are now "
            f"{now[:19]}…): redraft the settlement, then approve it",
            field="inputs_hash",
        )


def _saved(ledger: ProvinceLedger, settlement: Settlement, changed: bool, attempt: int) -> bool:
    """Save a changed settlement; False when another writer got there first (try again)."""
    if not changed:
        return True
    try:
        ledger.save(settlement)
    except IntegrityError:
        ledger.forget_cached([settlement.id])
        if attempt == SAVE_RETRIES - 1:
            raise
        return False
    return True


def _find(ledger: ProvinceLedger, province: str, year: int) -> Settlement | None:
    aggregate_id = settlement_id(province, year)
    ledger.forget_cached([aggregate_id])
    try:
        found: object = ledger.repository.get(aggregate_id)
    except AggregateNotFoundError:
        return None
    assert isinstance(found, Settlement), type(found)
    return found


def _existing(ledger: ProvinceLedger, province: str, year: int) -> Settlement:
    found = _find(ledger, province, year)
    if found is None:
        raise SettlementNotFound(
            f"there is no {province} {year} settlement: draft one first (settle draft)",
            field="year",
        )
    return found
