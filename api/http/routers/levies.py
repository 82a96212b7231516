"""A province's levies into its adjustment fund (调剂金计提, docs/clearing.md §1 step 1, §3)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.http.clearing_schemas import LeviesOut
from api.http.clearing_schemas import ProvincePath as Province
from api.http.deps import AppDep, Caller
from api.usecases import clearing

router = APIRouter(prefix="/v1", tags=["clearing"])
Year = Annotated[int, Query(ge=1998, le=2100, description="the levy year")]


@router.get("/provinces/{province}/levies", operation_id="get_levies", response_model=LeviesOut)
def levies(province: Province, year: Year, app: AppDep, who: Caller) -> dict[str, Any]:
    """Each pool's levy (ratio × base, stopped at the cap); a city sees its own pools."""
    return clearing.levies(app, who, province, year).to_json()


@router.post(
    "/provinces/{province}/levies/post", operation_id="post_levies", response_model=LeviesOut
)
def post(province: Province, year: Year, app: AppDep, who: Caller) -> dict[str, Any]:
    """Post every levy not yet posted, all or nothing; a repeat posts nothing again."""
    return clearing.post_levy(app, who, province, year).to_json()
