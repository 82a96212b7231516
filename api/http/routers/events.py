"""``GET /v1/funds/{fund}/events``: a fund's history with its hash chain, keyset by version."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.http.deps import AppDep, Caller
from api.schemas_out import EventsPage
from api.usecases import history
from domain.funds import FundId

router = APIRouter(prefix="/v1", tags=["events"])


@router.get(
    "/funds/{fund}/events",
    operation_id="get_fund_events",
    response_model=EventsPage,
    summary="A page of a fund's events, each with prev_hash, chain_hash and recorded_by",
)
def fund_events(
    fund: str,
    app: AppDep,
    who: Caller,
    after: Annotated[int, Query(ge=0, description="the last version already seen")] = 0,
    limit: Annotated[int, Query(ge=1, le=history.MAX_EVENTS_PAGE)] = 100,
) -> dict[str, Any]:
    """Auditors and provincial officers; municipal officers for the funds of their region."""
    return history.events(app, who, FundId.parse(fund), after=after, limit=limit)
