"""The workbench's page for an address that is no route (docs/workbench.md).

A browser (``Accept: text/html``) asking for a path outside ``/v1/`` that matches no route
gets the workbench's 404 page, in its language and with a link back; the API's paths and
every other client keep the API's problem+json answer, which :func:`install` delegates to.
"""

from __future__ import annotations

import contextlib
import inspect

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from api.web import deps, i18n


def wants_page(request: Request) -> bool:
    """True for a browser's request of a workbench address (HTML asked, not under /v1/)."""
    if request.url.path == "/v1" or request.url.path.startswith("/v1/"):
        return False
    return "text/html" in request.headers.get("accept", "").lower()


def _signed_in(request: Request) -> None:
    """Put the request's live session, if any, on its state (the navigation then shows)."""
    with contextlib.suppress(deps.SignInNeeded):
        deps.current_session(request)


def install(api: FastAPI) -> None:
    """Answer a browser's unmatched address with the 404 page; keep the API's handler else.

    Call it after the API's problem handlers are installed (it wraps the one of HTTP errors).
    """
    api_handler = api.exception_handlers.get(StarletteHTTPException)

    async def on_http(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        if error.status_code == 404 and wants_page(request):
            await run_in_threadpool(_signed_in, request)
            message = i18n.translate(i18n.language_of(request), "error.404")
            return deps.error_page(request, 404, message)
        if api_handler is None:
            raise error
        answer = api_handler(request, error)
        return await answer if inspect.isawaitable(answer) else answer

    api.add_exception_handler(StarletteHTTPException, on_http)
