"""``POST /v1/postings`` and ``POST /v1/postings/batch`` (docs/contract.md, "HTTP API").

A batch is a JSON array of rows or a ``text/csv`` postings file, read by the same parser as
``fundledger import`` (:mod:`api.postings_csv`): all rows or none, every bad row named by its
line (a CSV file's physical line; an array's Nth element).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from api.bootstrap import App
from api.http import metrics
from api.http.deps import AppDep, Caller
from api.http.problems import http_problem
from api.postings_csv import parse_postings, rows_postings
from api.schemas import PostingIn
from api.schemas_out import BatchOut, PostingOut
from api.usecases import ledger
from domain.access import Principal
from domain.errors import InvalidInput

router = APIRouter(prefix="/v1", tags=["postings"])

Restate = Annotated[
    bool, Query(description="record postings in closed years as restatements of those years")
]
BATCH_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {"type": "array", "items": {"$ref": "#/components/schemas/PostingIn"}}
        },
        "text/csv": {"schema": {"type": "string", "description": "a postings file (UTF-8)"}},
    },
}


@router.post(
    "/postings",
    operation_id="post_posting",
    status_code=201,
    response_model=PostingOut,
    summary="Post one posting; the same reference and content again answer 200",
    responses={
        200: {"model": PostingOut, "description": "a repeat: the original, Idempotency-Hit"},
        409: {"description": "the reference was posted with other content: errors name them"},
    },
)
async def post_posting(
    body: PostingIn, response: Response, app: AppDep, who: Caller, restate: Restate = False
) -> dict[str, Any]:
    """201 with the posting; a repeat 200 with the original and ``Idempotency-Hit: true``.

    A coroutine: the posting waits for its group-commit save on the event loop, and only
    the caller that leads a save takes a thread (``ledger.post_async``).
    """
    done = await ledger.post_async(app, who, body.to_posting(), restate=restate)
    if done.duplicate:
        response.status_code = 200
        response.headers["Idempotency-Hit"] = "true"
    else:
        metrics.count_postings_written(1)
    return done.posting


@router.post(
    "/postings/batch",
    operation_id="post_postings_batch",
    status_code=201,
    response_model=BatchOut,
    summary="Post a batch (JSON array or text/csv): all rows or none",
    openapi_extra={"requestBody": BATCH_BODY},
    responses={422: {"description": "every bad row in errors, as 'line N: column'"}},
)
async def post_batch(
    request: Request,
    app: AppDep,
    who: Caller,
    restate: Restate = False,
    idempotency_key: Annotated[
        str | None,
        Header(max_length=200, description="accepted; each row's reference already makes it safe"),
    ] = None,
) -> Any:
    """``{accepted, duplicates}``; the body is read here, the batch posted off the loop."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("application/json", "text/csv"):
        return http_problem(
            415, "send a JSON array (application/json) or a postings file (text/csv)"
        )
    data = await request.body()
    done = await run_in_threadpool(_post_body, app, who, data, kind == "text/csv", restate)
    metrics.count_postings_written(done.accepted)
    return done.to_json()


def _post_body(
    app: App, who: Principal, data: bytes, is_csv: bool, restate: bool
) -> ledger.PostedBatch:
    """Parse and post a batch, off the event loop (parsing 1,000 rows takes milliseconds)."""
    parsed = parse_postings(data, "upload") if is_csv else rows_postings(_array(data))
    return ledger.post_batch(app, who, parsed, restate=restate)


def _array(data: bytes) -> list[Any]:
    try:
        rows = json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidInput(f"the body is not JSON: {error}", field="body") from None
    if not isinstance(rows, list):
        raise InvalidInput("the body is a JSON array of postings", field="body")
    return rows
