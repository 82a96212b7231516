"""``POST /v1/funds/{fund}/enrolment``: a county's residents enrolled for a year."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from api.http.deps import AppDep, Caller
from api.schemas import EnrolmentIn
from api.schemas_out import EnrolmentOut
from api.usecases import ledger
from domain.funds import FundId

router = APIRouter(prefix="/v1", tags=["enrolment"])


@router.post(
    "/funds/{fund}/enrolment",
    operation_id="record_enrolment",
    status_code=201,
    response_model=EnrolmentOut,
    summary="Record a county's enrolment; the same figure again answers 200, unchanged",
    responses={200: {"model": EnrolmentOut, "description": "already on record"}},
)
def record_enrolment(
    fund: str, body: EnrolmentIn, response: Response, app: AppDep, who: Caller
) -> dict[str, Any]:
    """Another figure for the same county and year needs ``correct: true``."""
    done = ledger.record_enrolment(
        app,
        who,
        FundId.parse(fund),
        year=body.year,
        county=body.county,
        enrolled=body.enrolled,
        correct=body.correct,
    )
    response.status_code = 200 if done.unchanged else 201
    return done.to_json()
