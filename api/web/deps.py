"""What a page needs: the signed-in principal, the CSRF check, the page renderer, HTML errors.

``Viewer`` is the alias pages declare for the signed-in caller (from the session cookie);
``check_csrf`` guards every form that writes; :class:`WebRoute` turns a refusal into an HTML
page (401, 403, 404, 400) instead of the API's problem+json (docs/workbench.md).
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.responses import RedirectResponse, Response

from api.http.deps import get_app
from api.http.problems import Unauthenticated
from api.web import TEMPLATES_DIR, i18n, money
from api.web.sessions import Session, SessionStore
from domain.access import AccessDenied, Principal, Role
from domain.errors import Conflict, DomainError, NotFound, Retryable

SESSION_COOKIE = "fl_session"
SIGNIN_CSRF_COOKIE = "fl_signin"
"""The sign-in form's own CSRF secret (double-submit: cookie and hidden field must match)."""

templates = Jinja2Templates(directory=TEMPLATES_DIR)
templates.env.filters["yuan"] = money.yuan
templates.env.filters["ratio"] = money.ratio
templates.env.filters["percent"] = money.percent

_store_lock = threading.Lock()


class SignInNeeded(Exception):
    """No session, an expired one, or one whose token was revoked (401 page)."""


class BadForm(Exception):
    """A form that writes came without its CSRF secret, or with another (403 page)."""


def sessions(request: Request) -> SessionStore:
    """The process's session store (made on first use, on the store's default database)."""
    state = request.app.state
    with _store_lock:
        store = getattr(state, "web_sessions", None)
        if store is None:
            store = SessionStore(get_app(request).settings_url)
            state.web_sessions = store
    assert isinstance(store, SessionStore)
    return store


def current_session(request: Request) -> Session:
    """The live session of the request's cookie.

    Raises:
        SignInNeeded: no cookie, or its session expired, was signed out or its token revoked.
    """
    session_id = request.cookies.get(SESSION_COOKIE)
    found = sessions(request).lookup(session_id) if session_id else None
    if found is None:
        raise SignInNeeded
    request.state.principal = found.name
    request.state.session = found
    return found


def viewer(session: Annotated[Session, Depends(current_session)], request: Request) -> Principal:
    """The signed-in principal, as the use cases know callers (same as its API token's)."""
    return Principal(
        name=session.name,
        role=session.role,
        region=session.region,
        request_id=getattr(request.state, "request_id", None),
    )


Viewer = Annotated[Principal, Depends(viewer)]
CurrentSession = Annotated[Session, Depends(current_session)]


def check_csrf(session: Session, given: str | None) -> None:
    """Refuse a write whose form does not carry the session's CSRF secret.

    Raises:
        BadForm: the secret is missing or wrong.
    """
    if not given or not hmac.compare_digest(given, session.csrf):
        raise BadForm


def checked_form(
    session: Annotated[Session, Depends(current_session)],
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Session:
    """The session of a form that writes, once its ``csrf`` field matched the session's.

    Raises:
        BadForm: the field is missing or wrong (403 page; nothing is written).
    """
    check_csrf(session, csrf)
    return session


CheckedForm = Annotated[Session, Depends(checked_form)]
"""Declare it on every POST route that writes: the form's CSRF field is checked first."""


def secure(request: Request) -> bool:
    """True when the page was served over TLS (the cookies then get ``Secure``)."""
    return request.url.scheme == "https"


def role_name(principal: Principal | None) -> str | None:
    """The role of a principal as text ("provincial"), None when signed out."""
    if principal is None or principal.role is None:
        return None
    return principal.role.value


def page_context(request: Request, who: Principal | None, **context: Any) -> dict[str, Any]:
    """What every template gets: ``t`` (the request's language), ``lang``, ``who``, ``role``,
    ``csrf`` and ``csrf_field()`` (the session's form secret), ``Role``, then ``context``."""
    lang = i18n.language_of(request)
    session = getattr(request.state, "session", None)
    csrf = session.csrf if isinstance(session, Session) else None

    def t(key: str, **values: object) -> str:
        return i18n.translate(lang, key, **values)

    return {
        "request": request,
        "t": t,
        "lang": lang,
        "who": who,
        "role": role_name(who),
        "csrf": csrf,
        "csrf_field": lambda: Markup('<input type="hidden" name="csrf" value="{}">').format(
            csrf or ""
        ),
        "Role": Role,
        **context,
    }


def keep_language(request: Request, response: Response) -> Response:
    """Remember a language asked for by ``?lang=`` in its cookie."""
    lang = request.query_params.get("lang")
    if lang in i18n.LANGUAGES:
        response.set_cookie(
            i18n.COOKIE, lang, max_age=365 * 24 * 3600, samesite="strict", secure=secure(request)
        )
    return response


def page(
    request: Request,
    template: str,
    who: Principal | None = None,
    status_code: int = 200,
    **context: Any,
) -> Response:
    """Render ``template`` in the request's language, with the navigation for ``who``."""
    response = templates.TemplateResponse(
        request, template, page_context(request, who, **context), status_code=status_code
    )
    return keep_language(request, response)


def error_page(request: Request, status_code: int, message: str) -> Response:
    """The HTML page of a refusal (the API's routes keep problem+json)."""
    who = None
    session = getattr(request.state, "session", None)
    if isinstance(session, Session):
        who = Principal(name=session.name, role=session.role, region=session.region)
    return page(
        request, "error.html", who, status_code=status_code, status=status_code, message=message
    )


REFUSALS: tuple[tuple[type[Exception], int], ...] = (
    (SignInNeeded, 401),
    (Unauthenticated, 401),
    (AccessDenied, 403),
    (BadForm, 403),
    (NotFound, 404),
    (Conflict, 409),
    (Retryable, 503),
    (DomainError, 400),
    (RequestValidationError, 400),
)
"""Each refusal a page may meet and its status, first match wins."""


def refusal_message(request: Request, error: Exception, status_code: int) -> str:
    """What the error page says: the use case's own words, else the generic message."""
    lang = i18n.language_of(request)
    if isinstance(error, RequestValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{where}: {first['msg']}"
    if status_code == 401:
        return i18n.translate(lang, "error.401")
    return str(error) or i18n.translate(lang, f"error.{status_code}")


class WebRoute(APIRoute):
    """A page route: the refusals of the use cases become HTML error pages; a signed-out
    browser asking for a page is sent to the sign-in page, and back afterwards."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as error:
                status_code = next((s for kind, s in REFUSALS if isinstance(error, kind)), None)
                if status_code is None:
                    raise
                if status_code == 401 and request.method in ("GET", "HEAD"):
                    target = request.url.path + (
                        f"?{request.url.query}" if request.url.query else ""
                    )
                    return RedirectResponse(
                        f"/signin?{urlencode({'next': target})}", status_code=303
                    )
                return error_page(
                    request, status_code, refusal_message(request, error, status_code)
                )

        return handle
