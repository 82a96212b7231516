"""``GET /v1/subsidies``: subsidy due, received and outstanding per fund and level."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.http.deps import AppDep, Caller
from api.usecases import read_models
from domain.funds import FundId

router = APIRouter(prefix="/v1", tags=["subsidies"])


@router.get(
    "/subsidies",
    operation_id="get_subsidies",
    summary="Due (enrolled × standard × share), received and outstanding, per level",
)
def subsidies(
    app: AppDep,
    who: Caller,
    year: Annotated[int, Query(ge=1990, le=2100, description="the fiscal year")],
    fund: Annotated[str | None, Query(description="only this fund (scheme:region)")] = None,
    region: Annotated[str | None, Query(description="only funds inside this region")] = None,
) -> list[dict[str, Any]]:
    """One object per fund, its levels inside, as ``fundledger subsidies --format json``."""
    fund_id = None if fund is None else FundId.parse(fund)
    return read_models.subsidies(app, who, year, fund=fund_id, region=region)
