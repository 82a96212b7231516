"""A county's yearly plan in a municipal pool (年度收支计划, docs/clearing.md §1 step 2)."""

from __future__ import annotations

from fastapi import APIRouter

from api.http.clearing_schemas import FundPath as Fund
from api.http.clearing_schemas import PlanIn, RecordedOut
from api.http.deps import AppDep, Caller
from api.usecases import clearing
from domain.funds import FundId
from domain.money import parse_yuan

router = APIRouter(prefix="/v1", tags=["clearing"])


@router.post("/funds/{fund}/plans", operation_id="set_county_plan")
def plan(fund: Fund, body: PlanIn, app: AppDep, who: Caller) -> RecordedOut:
    """Set the county's planned contributions, subsidies and spending (yuan strings)."""
    recorded = clearing.plan(
        app, who, FundId.parse(fund), body.year, county=body.county,
        contributions_fen=parse_yuan(body.contributions, field="contributions"),
        subsidies_fen=parse_yuan(body.subsidies, field="subsidies"),
        spending_fen=parse_yuan(body.spending, field="spending"),
    )  # fmt: skip
    return RecordedOut(recorded=recorded)
