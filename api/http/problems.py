"""Every error, answered as RFC 9457 ``application/problem+json``: the one mapping module.

A body is ``{"type", "title", "status", "detail", "errors": [{"field", "message"}]}``. Domain
errors map by category (docs/contract.md, "HTTP API"): :class:`AccessDenied` 403,
:class:`NotFound` 404, :class:`Conflict` 409, :class:`Retryable` 503 with ``Retry-After``,
any other :class:`DomainError` 422. Routers let errors propagate and catch nothing; a
programmer error becomes a 500 whose body says nothing of the code (the traceback goes to the
server's log only).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

import eventsourcing.persistence
import psycopg
import psycopg_pool
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.usecases.ledger import BatchRefused
from domain.access import AccessDenied
from domain.errors import Conflict, DomainError, NotFound, Retryable
from domain.ledger_service import RowErrors

STORE_UNREACHABLE: tuple[type[Exception], ...] = (
    psycopg.OperationalError,
    psycopg_pool.PoolTimeout,
    eventsourcing.persistence.OperationalError,
    eventsourcing.persistence.InterfaceError,
)
"""The store's own errors that mean "it did not answer": 503, retryable, like ``Retryable``."""

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = 1
TYPE_BASE = "https://fundledger.invalid/problems/"
"""Problem types are names, not pages: stable identifiers a client may compare."""


class ProblemField(BaseModel):
    """One field at fault and why."""

    field: str = Field(examples=["body.amount"])
    message: str = Field(examples=["'12.345' is not an amount of yuan with at most two decimals"])


class Problem(BaseModel):
    """An RFC 9457 problem: every error of the API has this shape (docs/contract.md)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemField]


_STATUS_MEANINGS = {
    400: "the body could not be read (e.g. it is not UTF-8)",
    401: "no token, an unknown or a revoked one",
    403: "outside the caller's role or region",
    404: "nothing of that name, or no such route",
    409: "contradicts what is recorded",
    406: "no answer in a media type the Accept header allows",
    413: "the body is over the server's limit",
    415: "a body in a media type the route does not read",
    422: "a malformed or refused input; each field in errors",
    500: "a fault of the server (the body carries no traceback)",
    503: "retryable: the store did not answer, or other writers kept moving the funds",
}
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": meaning, "content": {PROBLEM_JSON: {}}}
    for status, meaning in _STATUS_MEANINGS.items()
}
"""Every route's error answers, for the OpenAPI document (the app adds them to each route)."""


def problems_in_their_media_type(document: dict[str, Any]) -> dict[str, Any]:
    """Every error answer of the OpenAPI document as ``application/problem+json`` (a Problem).

    FastAPI files response models under ``application/json``, and a route that describes one
    of its errors in its own words replaces the app's entry; but every error of this API is a
    problem+json body, and a generated client (or a schema check) must read it as one.
    """
    schema = {"$ref": "#/components/schemas/Problem"}
    for path in document.get("paths", {}).values():
        for operation in path.values():
            for status, response in operation.get("responses", {}).items():
                if str(status)[:1] in {"4", "5"}:
                    response["content"] = {PROBLEM_JSON: {"schema": schema}}
    return document


class Unauthenticated(Exception):
    """No token, or an unknown or revoked one (401). Says nothing of what was asked."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def problem(
    status: int,
    title: str,
    detail: str,
    errors: Iterable[Mapping[str, str]] = (),
    *,
    kind: str | None = None,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> JSONResponse:
    """A problem+json response (``extensions``: more members, as RFC 9457 allows)."""
    body = {
        **(extensions or {}),
        "type": TYPE_BASE + (kind or title.lower().replace(" ", "-")),
        "title": title,
        "status": status,
        "detail": detail,
        "errors": [dict(e) for e in errors],
    }
    return JSONResponse(
        body, status_code=status, headers=dict(headers or {}), media_type=PROBLEM_JSON
    )


def _category(error: DomainError) -> tuple[int, str]:
    if isinstance(error, AccessDenied):
        return 403, "Forbidden"
    if isinstance(error, NotFound):
        return 404, "Not Found"
    if isinstance(error, Conflict):
        return 409, "Conflict"
    if isinstance(error, Retryable):
        return 503, "Service Unavailable"
    return 422, "Unprocessable Content"


def domain_problem(error: DomainError) -> JSONResponse:
    """A domain error by its category; each of its problems is one entry of ``errors``."""
    if isinstance(error, BatchRefused):
        return rows_problem(error)
    if isinstance(error, RowErrors):
        return row_errors_problem(error)
    status, title = _category(error)
    field = error.field or ""
    errors = [{"field": field, "message": m} for m in (error.problems or (error.message,))]
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else None
    return problem(status, title, error.message, errors, kind=type(error).__name__, headers=headers)


def rows_problem(error: BatchRefused) -> JSONResponse:
    """A refused batch: 422, one entry per problem, ``field`` as ``line N: column``.

    ``N`` is the line the row came from: the file's physical line for CSV (the header is
    line 1), the position in the array (from 1) for JSON; the parser numbers them.
    """
    errors = [{"field": f"line {r.line}: {r.field}", "message": r.reason} for r in error.rows]
    return problem(422, "Unprocessable Content", error.message, errors, kind="BatchRefused")


def row_errors_problem(error: RowErrors) -> JSONResponse:
    """The ledger's refused rows, when they reach here unnumbered: by position from 1."""
    errors = [
        {"field": f"line {row.index + 1}: {row.error.field or 'row'}", "message": message}
        for row in error.errors
        for message in (row.error.problems or (row.error.message,))
    ]
    return problem(422, "Unprocessable Content", error.message, errors, kind="BatchRefused")


def _field(location: Sequence[Any]) -> str:
    return ".".join(str(part) for part in location)


def _message(error: Mapping[str, Any]) -> str:
    message = str(error.get("msg", "invalid"))
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def validation_problem(error: RequestValidationError) -> JSONResponse:
    """Request validation: 422, each field named where it is (``body.amount``, ``query.year``)."""
    errors = [
        {
            # An unreadable body has no field: FastAPI locates the fault by character offset.
            "field": "body" if e.get("type") == "json_invalid" else _field(e.get("loc", ())),
            "message": _message(e),
        }
        for e in error.errors()
    ]
    return problem(
        422, "Unprocessable Content", "the request is not valid", errors, kind="ValidationError"
    )


_HTTP_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    413: "Content Too Large",
    415: "Unsupported Media Type",
}


def http_problem(
    status: int, detail: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """An HTTP-level refusal (unknown route, method not allowed, body too large...)."""
    title = _HTTP_TITLES.get(status, "Error")
    return problem(status, title, detail, headers=headers)


def install(app: FastAPI, authenticate: Callable[[Request], Awaitable[object]]) -> None:
    """Register every handler of this module on ``app``.

    ``authenticate`` names the caller of a request (raising :class:`Unauthenticated`): FastAPI
    validates a body before the route's dependencies run, so a request whose body is invalid
    is authenticated here first, and a caller without a valid token learns nothing but 401.
    """

    async def on_domain(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, DomainError)
        return domain_problem(error)

    async def on_validation(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        if request.url.path.startswith("/v1/") and not hasattr(request.state, "principal"):
            try:
                await authenticate(request)
            except Unauthenticated as refused:
                return await on_unauthenticated(request, refused)
        return validation_problem(error)

    async def on_unauthenticated(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, Unauthenticated)
        return problem(401, "Unauthorized", error.detail, headers={"WWW-Authenticate": "Bearer"})

    async def on_http(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        detail = {404: "no such route", 405: "method not allowed on this route"}.get(
            error.status_code, str(error.detail)
        )
        return http_problem(error.status_code, detail, error.headers)

    async def on_store_away(_: Request, error: Exception) -> JSONResponse:
        # The store did not answer (down, restarting, a lock timeout): the client may retry.
        return problem(
            503,
            "Service Unavailable",
            "the store did not answer; try again",
            kind="StoreUnavailable",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    async def on_crash(request: Request, _: Exception) -> JSONResponse:
        # The server logs the traceback; the client learns only that it was not its fault.
        request_id = getattr(request.state, "request_id", "")
        headers = {"X-Request-ID": request_id} if request_id else None
        return problem(
            500,
            "Internal Server Error",
            f"the server failed; the request id {request_id} names it in the server's log",
            kind="InternalServerError",
            headers=headers,
        )

    app.add_exception_handler(DomainError, on_domain)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(Unauthenticated, on_unauthenticated)
    app.add_exception_handler(StarletteHTTPException, on_http)
    for unreachable in STORE_UNREACHABLE:
        app.add_exception_handler(unreachable, on_store_away)
    app.add_exception_handler(Exception, on_crash)
