"""``POST /v1/funds/{fund}/years/{year}/close``: approve a year's final accounts (决算)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from api.http.deps import AppDep, Caller
from api.schemas_out import ClosedOut
from api.usecases import ledger
from domain.funds import FundId

router = APIRouter(prefix="/v1", tags=["closes"])


@router.post(
    "/funds/{fund}/years/{year}/close",
    operation_id="close_year",
    response_model=ClosedOut,
    summary="Close a year: later postings to it are restatements (restate=true)",
)
def close_year(
    fund: str, year: Annotated[int, Path(ge=1990, le=2100)], app: AppDep, who: Caller
) -> dict[str, Any]:
    """200 with the fund's version after the close; a year already closed is a 422."""
    return ledger.close_year(app, who, FundId.parse(fund), year)
