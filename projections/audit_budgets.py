"""The auditor's check of the budgets read model: every budget replays to its recorded versions.

Each budget aggregate's events (``Budget.Created``, then its drafts, approval and adjustments)
are replayed from the raw events, the aggregate built by each event in turn; at each recorded
version (``revision``) the replayed budget's lines and opening balance, and the event's status,
adjustment number, approval reference, principal, memo and time, are compared with what the
budgets read model (``fl_budget_lines``) holds for that version. A later draft of the same
version replaces the earlier one, as in the read model. A version the read model has and the
events do not (or the reverse) is a finding too; each names the budget's fund, year and version.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from domain.budget import Budget, BudgetNotFound, budget_id
from domain.funds import FundId
from domain.ledger_service import Ledger
from projections.audit import MAX_FUNDS, Finding
from projections.budgets import STATUS_OF_TOPIC, BudgetVersion, read_budget
from projections.decode import utc_text
from projections.service import ReadModels

CHECK = "budget"


def budget_findings(
    ledger: Ledger,
    read_models: ReadModels,
    provinces: Iterable[str],
    fund: FundId | None = None,
    year: int | None = None,
) -> list[Finding]:
    """Every budget of these provinces (narrowed to ``fund`` and ``year`` when given)."""
    found: list[Finding] = []
    for province in provinces:
        recorder = ledger.province(province).recorder
        begun = recorder.select_notifications(1, MAX_FUNDS, topics=[Budget.Created.TOPIC])
        keys = {(str(s["fund"]), int(s["year"])) for s in (orjson.loads(n.state) for n in begun)}
        db = read_models.for_province(province).db
        keys.update(
            (str(f), int(y)) for f, y in db.query("SELECT DISTINCT fund, year FROM fl_budget_lines")
        )
        for each_fund, each_year in sorted(keys):
            if fund not in (None, FundId.parse(each_fund)) or year not in (None, each_year):
                continue
            try:
                projected = {v.version: v for v in read_budget(db, each_fund, each_year).versions}
            except BudgetNotFound:
                projected = {}
            try:
                replayed = replayed_versions(ledger, each_fund, each_year)
            except Exception as error:  # noqa: BLE001 - a budget that does not replay is a finding
                detail = f"{each_year} budget does not replay ({type(error).__name__}: {error})"
                found.append(Finding(CHECK, each_fund, None, detail, f"{each_fund} {detail}"))
                continue
            found.extend(compare_versions(each_fund, each_year, projected, replayed))
    return found


def replayed_versions(ledger: Ledger, fund: str, year: int) -> dict[int, BudgetVersion]:
    """The budget's versions as its raw events give them, each from the replayed aggregate."""
    parsed = FundId.parse(fund)
    app = ledger.province(parsed.province)
    versions: dict[int, BudgetVersion] = {}
    aggregate: Any = None
    for stored in app.recorder.select_events(budget_id(parsed, year)):
        event: Any = app.mapper.to_domain_event(stored)
        aggregate = event.mutate(aggregate)
        if isinstance(event, Budget.Versioned):
            versions[aggregate.revision] = BudgetVersion(
                version=aggregate.revision,
                status=STATUS_OF_TOPIC[event.TOPIC],
                adjustment=getattr(event, "adjustment", 0),
                lines_fen=dict(aggregate.lines),
                opening_balance_fen=aggregate.opening_balance_fen,
                approval_ref=getattr(event, "approval_ref", None),
                principal=getattr(event, "principal", None),
                memo=getattr(event, "memo", None),
                recorded_at=utc_text(event.timestamp),
            )
    return versions


def compare_versions(
    fund: str,
    year: int,
    projected: dict[int, BudgetVersion],
    replayed: dict[int, BudgetVersion],
) -> list[Finding]:
    """A finding per version that the read model and the replay do not hold alike."""
    found: list[Finding] = []
    for version in sorted(set(projected) | set(replayed)):
        seen, expected = projected.get(version), replayed.get(version)
        if seen is None:
            detail = f"{year} budget version {version} is in the events but not the read model"
        elif expected is None:
            detail = f"{year} budget version {version} is in the read model but no event"
        elif seen != expected:
            differ = [key for key in vars(expected) if getattr(seen, key) != getattr(expected, key)]
            detail = f"{year} budget version {version} differs from the replay in " + ", ".join(
                differ
            )
        else:
            continue
        found.append(Finding(CHECK, fund, version, detail, f"{fund} {detail}"))
    return found
