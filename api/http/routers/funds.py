"""``POST /v1/funds``: register a fund (docs/contract.md, "HTTP API")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Response

from api.http.deps import AppDep, Caller
from api.schemas import FundIn
from api.schemas_out import FundOut
from api.usecases import ledger
from domain.funds import FundId
from domain.money import parse_yuan

router = APIRouter(prefix="/v1", tags=["funds"])


@router.post(
    "/funds",
    operation_id="open_fund",
    status_code=201,
    response_model=FundOut,
    summary="Register a fund; the same particulars again answer 200 with the fund",
    responses={200: {"model": FundOut, "description": "already open with these particulars"}},
)
def open_fund(
    body: FundIn,
    response: Response,
    app: AppDep,
    who: Caller,
    idempotency_key: Annotated[
        str | None,
        Header(max_length=200, description="accepted; a fund's identity already makes it safe"),
    ] = None,
) -> dict[str, Any]:
    """201 when this request registered the fund, 200 when it was open with the same
    particulars; other particulars are a 409."""
    opened = ledger.open_fund(
        app,
        who,
        FundId.parse(body.fund),
        first_year=body.first_year,
        opening_balance_fen=parse_yuan(body.opening_balance, field="opening_balance"),
        name=body.name,
    )
    response.status_code = 201 if opened.created else 200
    return opened.to_json()
