"""A pool's provincial assessment (考核评价, docs/clearing.md §1 step 2)."""

from __future__ import annotations

from fastapi import APIRouter

from api.http.clearing_schemas import AssessmentIn, RecordedOut
from api.http.clearing_schemas import FundPath as Fund
from api.http.deps import AppDep, Caller
from api.usecases import clearing
from domain.funds import FundId

router = APIRouter(prefix="/v1", tags=["clearing"])


@router.post("/funds/{fund}/assessments", operation_id="record_assessment")
def assess(fund: Fund, body: AssessmentIn, app: AppDep, who: Caller) -> RecordedOut:
    """Record the grade (one of the policy's) and score; the latest record is in force."""
    recorded = clearing.assess(
        app, who, FundId.parse(fund), body.year, grade=body.grade, score=body.score
    )
    return RecordedOut(recorded=recorded)
