"""The auditor's verify, for the CLI and the HTTP API alike (docs/contract.md, "Auditors").

Every fund's hash chain, and every statement, close and enrolment record of the read models
against a replay of the raw events. Verifying reads the event histories (``READ_HISTORY``):
auditors and the provincial office, each within its region. Without a province or fund the
check covers the caller's whole region: every province for the operator and an auditor of
``000000``, the caller's own province otherwise.
"""

from __future__ import annotations

from typing import Any

from api.bootstrap import App
from clearing.pool_inputs import check_province
from domain.access import EVERY_PROVINCE, Action, Principal, authorize
from domain.errors import InvalidInput
from domain.funds import FundId
from domain.regions import province_of
from projections.audit import AuditReport, audit


def verify(
    app: App,
    who: Principal,
    *,
    province: str | None = None,
    fund: FundId | None = None,
    year: int | None = None,
) -> AuditReport:
    """Every check of every fund in scope; the report says ``ok`` and lists each finding."""
    provinces = _provinces(who, province, fund)
    return audit(app.ledger, app.read_models, provinces=provinces, fund=fund, year=year)


def _provinces(who: Principal, province: str | None, fund: FundId | None) -> list[str] | None:
    """The provinces to check (None: every one), once the caller is allowed to check them."""
    if fund is not None:
        if province is not None and fund.province != province:
            raise InvalidInput(f"{fund} is not a fund of province {province}", field="fund")
        authorize(who, Action.READ_HISTORY, fund.region)
        return [fund.province]
    if province is not None:
        check_province(province)
        authorize(who, Action.READ_HISTORY, province)
        return [province]
    if who.is_operator or who.region == EVERY_PROVINCE:
        authorize(who, Action.READ_HISTORY, EVERY_PROVINCE)
        return None
    authorize(who, Action.READ_HISTORY, who.region)
    return [province_of(who.region)]


def report_json(report: AuditReport) -> dict[str, Any]:
    """The contract's ``{ok, checked, findings}`` document."""
    return {
        "ok": report.ok,
        "checked": {
            "funds": report.funds,
            "events": report.events,
            "statements": report.statements,
        },
        "findings": [f.to_json() for f in report.findings],
    }
