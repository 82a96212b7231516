"""What a route needs: the process's App and the caller (docs/operations.md, "Tokens").

``AppDep`` and ``Caller`` are the aliases routers declare::

    @router.get("/v1/funds/{fund}/statement")
    def statement(fund: str, app: AppDep, who: Caller) -> dict[str, Any]: ...

The caller comes from ``Authorization: Bearer TOKEN``, looked up in the token store on every
request (no cache: a revoked token is refused from the next request on, in every process),
from the event loop (``TokenStore.lookup_async``): the dependency is a coroutine, so FastAPI
runs it without a hop to its thread pool.
No token, an unknown or a revoked one is a 401 that says nothing of what was asked.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.bootstrap import App
from api.http.problems import Unauthenticated
from domain.access import Principal

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="a token made by 'fundledger tokens add' (docs/operations.md)",
)


def get_app(request: Request) -> App:
    """The App this process built at start-up (one per process, shared by its threads)."""
    app = request.app.state.fl_app
    assert isinstance(app, App), type(app)
    return app


async def _app_dependency(request: Request) -> App:
    """:func:`get_app` as a route's dependency: a coroutine, so that FastAPI runs it on the
    event loop instead of handing a dictionary lookup to its thread pool (a hop per request)."""
    return get_app(request)


AppDep = Annotated[App, Depends(_app_dependency)]


async def authenticate(request: Request) -> Principal:
    """The caller of a request, from its ``Authorization`` header alone.

    Used where the route's own dependencies did not run: a body that fails validation is
    answered 422 only to an authenticated caller, anyone else gets the 401 first.

    Raises:
        Unauthenticated: no bearer token, or one that is unknown or revoked.
    """
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    credentials = (
        HTTPAuthorizationCredentials(scheme=scheme, credentials=token.strip())
        if scheme.lower() == "bearer"
        else None
    )
    return await current_principal(request, get_app(request), credentials)


async def current_principal(
    request: Request,
    app: AppDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller named by the request's bearer token, with the request's id.

    Raises:
        Unauthenticated: no bearer token, or one that is unknown or revoked.
    """
    if credentials is None or not credentials.credentials:
        raise Unauthenticated("this request needs 'Authorization: Bearer TOKEN'")
    record = await app.tokens.lookup_async(credentials.credentials)
    if record is None:
        raise Unauthenticated("the token is unknown or revoked")
    request.state.principal = record.name
    return Principal(
        name=record.name,
        role=record.role,
        region=record.region,
        request_id=getattr(request.state, "request_id", None),
    )


Caller = Annotated[Principal, Depends(current_principal)]
