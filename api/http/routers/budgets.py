"""Budgets over HTTP: draft, approve, adjust, show, execution (docs/projections.md §4).

A draft or an adjustment sends its lines as JSON (``{"lines": {"benefit": "1950000000.00"}}``)
or as the budget file itself (``text/csv``, header ``line,amount``), read by the same parser
as ``fundledger budget draft --file``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.budget_csv import read_budget_csv
from api.http.clearing_schemas import ApprovalIn, BudgetLinesIn, BudgetWrittenOut
from api.http.clearing_schemas import FundPath as Fund
from api.http.deps import AppDep, Caller
from api.usecases import budgets
from domain.budgets import parse_budget_lines
from domain.errors import InvalidInput
from domain.funds import FundId
from domain.lines import Line
from domain.money import parse_yuan

router = APIRouter(prefix="/v1", tags=["budgets"])
Year = Annotated[int, Path(ge=1998, le=2100, description="the fiscal year")]
LINES_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": BudgetLinesIn.model_json_schema(ref_template="#/components/schemas/{model}")
        },
        "text/csv": {"schema": {"type": "string", "description": "a budget file: line,amount"}},
    },
}


async def _lines(request: Request) -> tuple[dict[Line, int], BudgetLinesIn]:
    """The budget's lines from a JSON body or a budget file; every problem named."""
    data = await request.body()
    if request.headers.get("content-type", "").split(";")[0].strip() == "text/csv":
        return read_budget_csv(data, "upload"), BudgetLinesIn(lines={})
    try:
        body = BudgetLinesIn.model_validate(json.loads(data))
    except ValueError as error:
        if isinstance(error, ValidationError):
            raise RequestValidationError(
                [{**e, "loc": ("body", *e["loc"])} for e in error.errors()]
            ) from None
        raise InvalidInput(f"the body is not JSON: {error}", field="body") from None
    problems = []
    for key, amount in body.lines.items():
        try:
            parse_budget_lines([(key, amount)])
        except InvalidInput as error:
            # In a JSON body the line at fault is a key of ``lines``: name it as pydantic does.
            problems.append(
                {"type": "value_error", "loc": ("body", "lines", key), "msg": error.message}
            )
    if problems:
        raise RequestValidationError(problems)
    return parse_budget_lines(body.lines.items()), body


def _opening(body: BudgetLinesIn) -> int | None:
    if body.opening_balance is None:
        return None
    return parse_yuan(body.opening_balance, field="opening_balance")


@router.post(
    "/funds/{fund}/budgets/{year}/draft", operation_id="draft_budget",
    response_model=BudgetWrittenOut, openapi_extra={"requestBody": LINES_BODY},
)  # fmt: skip
async def draft(fund: Fund, year: Year, request: Request, app: AppDep, who: Caller) -> Any:
    """Draft the year's budget; a draft may be replaced until it is approved."""
    lines, body = await _lines(request)
    done = await run_in_threadpool(
        budgets.draft, app, who, FundId.parse(fund), year, lines, opening_balance_fen=_opening(body)
    )
    return done.to_json()


@router.post(
    "/funds/{fund}/budgets/{year}/approve", operation_id="approve_budget",
    response_model=BudgetWrittenOut, responses={403: {"description": "approval by its drafter"}},
)  # fmt: skip
def approve(fund: Fund, year: Year, body: ApprovalIn, app: AppDep, who: Caller) -> Any:
    """Approve the draft under its approval reference; not by anyone who drafted it."""
    return budgets.approve(app, who, FundId.parse(fund), year, body.ref).to_json()


@router.post(
    "/funds/{fund}/budgets/{year}/adjust", operation_id="adjust_budget",
    response_model=BudgetWrittenOut, openapi_extra={"requestBody": LINES_BODY},
)  # fmt: skip
async def adjust(
    fund: Fund,
    year: Year,
    *,
    request: Request,
    app: AppDep,
    who: Caller,
    ref: Annotated[str | None, Query(max_length=200, description="with a CSV body")] = None,
) -> Any:
    """Record an approved adjustment with its own reference; the original stays visible."""
    lines, body = await _lines(request)
    approval = ref or body.ref
    if not approval:
        raise InvalidInput("an adjustment names its approval reference", field="ref")
    done = await run_in_threadpool(
        budgets.adjust, app, who, FundId.parse(fund), year, lines,
        ref=approval, memo=body.memo, opening_balance_fen=_opening(body),
    )  # fmt: skip
    return done.to_json()


@router.get("/funds/{fund}/budgets/{year}", operation_id="get_budget")
def show(fund: Fund, year: Year, app: AppDep, who: Caller) -> dict[str, Any]:
    """The budget: the original as approved, the current one, and every version."""
    return budgets.show(app, who, FundId.parse(fund), year)


@router.get("/funds/{fund}/budgets/{year}/execution", operation_id="get_budget_execution")
def execution(fund: Fund, year: Year, app: AppDep, who: Caller) -> dict[str, Any]:
    """Budget execution (预算执行): actual against the current budget, line by line."""
    return budgets.execution(app, who, FundId.parse(fund), year)
