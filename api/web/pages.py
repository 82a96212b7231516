"""The workbench's pages (docs/workbench.md): sign-in and sign-out, the province overview,
the fund page. Every figure comes from a use case of :mod:`api.usecases`, which authorizes;
a page only parses, calls and renders.

Each module of the workbench adds its own ``router`` (a :class:`~api.web.deps.WebRoute`
router) to :data:`PAGE_MODULES`; :func:`routers` answers them all for :func:`api.web.install`.
"""

from __future__ import annotations

import importlib
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from api.http.deps import AppDep
from api.web import deps
from api.web.deps import CheckedForm, Viewer, page, secure, sessions
from api.web.sessions import LIFETIME

PAGE_MODULES = (
    "api.web.pages",
    "api.web.overview",
    "api.web.fund",
    "api.web.yearend",
    "api.web.audit",
)
"""The modules whose ``router`` is included, in this order (a missing one is skipped)."""

router = APIRouter(route_class=deps.WebRoute, include_in_schema=False)


def routers() -> list[APIRouter]:
    """The ``router`` of every page module that exists."""
    found = []
    for name in PAGE_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
            continue
        found.append(module.router)
    return found


def safe_next(target: str | None) -> str:
    """A page of this server to go to after sign-in (never another site)."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/overview"


@router.get("/", name="home")
def home(request: Request) -> Response:
    """The overview when signed in, else the sign-in page."""
    target = "/overview" if request.cookies.get(deps.SESSION_COOKIE) else "/signin"
    return RedirectResponse(target, status_code=303)


@router.get("/signin", name="signin")
def signin_form(
    request: Request, next_page: Annotated[str | None, Query(alias="next")] = None
) -> Response:
    """The sign-in form: a token made by ``fundledger tokens add``."""
    secret = request.cookies.get(deps.SIGNIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = page(request, "signin.html", None, signin_csrf=secret, next=safe_next(next_page))
    response.set_cookie(
        deps.SIGNIN_CSRF_COOKIE, secret, httponly=True, samesite="strict", secure=secure(request)
    )
    return response


@router.post("/signin")
def signin(
    request: Request,
    app: AppDep,
    token: Annotated[str, Form(max_length=200)],
    csrf: Annotated[str, Form(max_length=200)] = "",
    next_page: Annotated[str, Form(alias="next", max_length=2000)] = "/overview",
) -> Response:
    """Check the token as the API does; on success a session cookie, then the page asked for."""
    expected = request.cookies.get(deps.SIGNIN_CSRF_COOKIE)
    if not expected or not secrets.compare_digest(expected, csrf):
        raise deps.BadForm
    record = app.tokens.lookup(token.strip())
    if record is None:
        response = page(
            request,
            "signin.html",
            None,
            status_code=401,
            signin_csrf=expected,
            next=safe_next(next_page),
            failed=True,
        )
        return response
    session_id, _ = sessions(request).open(record.name)
    response = RedirectResponse(safe_next(next_page), status_code=303)
    response.set_cookie(
        deps.SESSION_COOKIE,
        session_id,
        max_age=int(LIFETIME.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=secure(request),
    )
    response.delete_cookie(deps.SIGNIN_CSRF_COOKIE)
    return response


@router.post("/signout", name="signout")
def signout(request: Request, session: CheckedForm) -> Response:
    """End the session (its row is deleted) and forget the cookie."""
    sessions(request).close_session(request.cookies[deps.SESSION_COOKIE])
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(deps.SESSION_COOKIE, httponly=True, samesite="strict")
    return response


@router.get("/me", name="me")
def me(request: Request, who: Viewer) -> Response:
    """Who is signed in: name, role and region."""
    return page(request, "me.html", who)
