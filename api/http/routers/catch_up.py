"""Nantong's financing-standard catch-up (统一筹资标准补缴, docs/clearing.md §1 step 9)."""

from __future__ import annotations

from fastapi import APIRouter

from api.http.clearing_schemas import CatchUpOut
from api.http.clearing_schemas import FundPath as Fund
from api.http.deps import AppDep, Caller
from api.usecases import clearing
from domain.funds import FundId

router = APIRouter(prefix="/v1", tags=["clearing"])


@router.get("/funds/{fund}/catch-up", operation_id="get_catch_up", response_model=list[CatchUpOut])
def catch_up(fund: Fund, app: AppDep, who: Caller) -> list[dict[str, str]]:
    """Per county and instalment year: owed, due, paid, unpaid."""
    return clearing.catch_up(app, who, FundId.parse(fund))
