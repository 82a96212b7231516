"""``GET /v1/audit/verify``: every chain and projection against a replay (docs/contract.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.http.clearing_schemas import AuditOut
from api.http.deps import AppDep, Caller
from api.usecases import audit
from domain.funds import FundId

router = APIRouter(prefix="/v1", tags=["audit"])


@router.get("/audit/verify", operation_id="audit_verify", response_model=AuditOut)
def verify(
    app: AppDep,
    who: Caller,
    province: Annotated[str | None, Query(pattern=r"^[0-9]{2}0000$")] = None,
    fund: Annotated[str | None, Query(description="scheme:region")] = None,
    year: Annotated[int | None, Query(ge=1998, le=2100)] = None,
) -> dict[str, Any]:
    """``{ok, checked, findings}``: 200 either way; ``ok`` says whether anything differs."""
    fund_id = None if fund is None else FundId.parse(fund)
    report = audit.verify(app, who, province=province, fund=fund_id, year=year)
    return audit.report_json(report)
