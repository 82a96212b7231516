"""The checks of ``audit verify`` kept in modules of their own, registered with the walk.

:func:`extra_findings` is what :func:`projections.audit.audit` calls once per run, after its
own checks: what each aggregate is built as (:mod:`projections.audit_origins`) and the budgets
against their replay (:mod:`projections.audit_budgets`). The settlements' re-run needs the
clearing engine, which this layer may not import: ``api.usecases.audit`` adds it
(:mod:`clearing.audit_checks`).
"""

from __future__ import annotations

from collections.abc import Sequence

from domain.funds import FundId
from domain.ledger_service import Ledger
from projections.audit import Finding
from projections.audit_budgets import budget_findings
from projections.audit_origins import origin_findings
from projections.service import ReadModels


def extra_findings(
    ledger: Ledger,
    read_models: ReadModels,
    provinces: Sequence[str],
    fund: FundId | None,
    year: int | None,
) -> list[Finding]:
    """The findings of every registered check on these provinces, narrowed alike."""
    return [
        *origin_findings(ledger, provinces, fund),
        *budget_findings(ledger, read_models, provinces, fund, year),
    ]
