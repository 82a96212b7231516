"""``GET /v1/ratios`` and ``GET /v1/warnings``: one object per fund (docs/projections.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.http.deps import AppDep, Caller
from api.usecases import read_models

router = APIRouter(prefix="/v1", tags=["ratios"])

Year = Annotated[int, Query(ge=1990, le=2100, description="the fiscal year")]
Region = Annotated[
    str | None,
    Query(description="only funds inside this region code (default: the caller's region)"),
]


@router.get(
    "/ratios",
    operation_id="get_ratios",
    summary="Rates, months of coverage and warning level of every fund, as ratios --format json",
)
def ratios(app: AppDep, who: Caller, year: Year, region: Region = None) -> list[dict[str, Any]]:
    """One object per fund keeping books in ``year``, inside the caller's region."""
    return read_models.ratios(app, who, year, region=region)


@router.get(
    "/warnings",
    operation_id="get_warnings",
    summary="Only the funds with a warning, most severe first",
)
def warnings(app: AppDep, who: Caller, year: Year, region: Region = None) -> list[dict[str, Any]]:
    """The rows of ``/v1/ratios`` whose warning level is not green."""
    return read_models.warnings(app, who, year, region=region)
