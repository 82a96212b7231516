"""The year-end settlement over HTTP: dry run, what-if, draft, approve, post, report.

Ids derive from the business key (province and year), so a retried draft, approval or post
meets the same settlement: a repeat answers 200 with the settlement as it stands
(docs/clearing.md §1, docs/contract.md "HTTP API").
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Response

from api.exports.settlement import MEDIA_TYPES, render
from api.http.clearing_schemas import SettlementIn, SettlementOut, WhatIfOut
from api.http.deps import AppDep, Caller
from api.usecases import settlements
from api.usecases.settlements import SettlementKey

router = APIRouter(prefix="/v1", tags=["settlements"])
IdempotencyKey = Annotated[
    str | None,
    Header(max_length=200, description="a retry of the same step answers the same result, 200"),
]
FILES: dict[str, Any] = {"content": {MEDIA_TYPES["csv"]: {}, MEDIA_TYPES["xlsx"]: {}}}


def _key(body: SettlementIn) -> SettlementKey:
    return SettlementKey(body.province, body.year)


def _policy(body: SettlementIn) -> Any:
    return None if body.policy is None else settlements.policy_from_toml(body.policy)


@router.post(
    "/settlements/dry-run", operation_id="settlement_dry_run", response_model=SettlementOut
)
def dry_run(body: SettlementIn, app: AppDep, who: Caller) -> dict[str, Any]:
    """The draft as it would be recorded now; nothing is recorded."""
    return settlements.dry_run(app, who, _key(body), _policy(body)).to_json()


@router.post("/settlements/what-if", operation_id="settlement_what_if", response_model=WhatIfOut)
def what_if(body: SettlementIn, app: AppDep, who: Caller) -> dict[str, Any]:
    """The year under its current policy and under ``policy`` (default: the shipped one)."""
    both = settlements.what_if(app, who, _key(body), _policy(body))
    return {"current": both.current.to_json(), "what_if": both.alternative.to_json()}


@router.post(
    "/settlements",
    operation_id="draft_settlement",
    status_code=201,
    response_model=SettlementOut,
    responses={200: {"model": SettlementOut, "description": "the same draft, books unchanged"}},
)
def draft(
    body: SettlementIn,
    response: Response,
    app: AppDep,
    who: Caller,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Record a draft (201); the same draft on unchanged books answers 200."""
    done = settlements.draft(app, who, _key(body), _policy(body))
    _repeat(response, done.changed)
    return done.view.to_json()


@router.post(
    "/settlements/{settlement_id}/approve", operation_id="approve_settlement",
    response_model=SettlementOut, responses={403: {"description": "approval by its drafter"}},
)  # fmt: skip
def approve(
    settlement_id: str,
    response: Response,
    app: AppDep,
    who: Caller,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Approve the draft; refused (403) to anyone who drafted it."""
    done = settlements.approve(app, who, SettlementKey.from_id(settlement_id))
    _repeat(response, done.changed)
    return done.view.to_json()


@router.post(
    "/settlements/{settlement_id}/post", operation_id="post_settlement",
    response_model=SettlementOut, responses={409: {"description": "already posted"}},
)  # fmt: skip
def post(
    settlement_id: str,
    response: Response,
    app: AppDep,
    who: Caller,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Write the draws and mark it posted, atomically; again with the same key: 200."""
    done = settlements.post(
        app, who, SettlementKey.from_id(settlement_id), repeat=idempotency_key is not None
    )
    _repeat(response, done.changed)
    return done.view.to_json()


@router.get(
    "/settlements/{settlement_id}", operation_id="get_settlement", response_model=SettlementOut,
    responses={200: FILES},
)  # fmt: skip
def get(
    settlement_id: str,
    app: AppDep,
    who: Caller,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Any:
    """The settlement as JSON, or ``Accept: text/csv`` / the xlsx type: the same bytes."""
    view = settlements.report(app, who, SettlementKey.from_id(settlement_id))
    for fmt in ("xlsx", "csv"):
        if MEDIA_TYPES[fmt].split(";")[0] in (accept or ""):
            return Response(render(view, fmt), media_type=MEDIA_TYPES[fmt])
    return view.to_json()


def _repeat(response: Response, changed: bool) -> None:
    if not changed:
        response.status_code = 200
        response.headers["Idempotency-Hit"] = "true"
