"""The FastAPI app factory: one App per process, every router, the problem mapping.

``uvicorn --factory api.http.app:create_app`` (what ``fundledger serve`` runs) calls
:func:`create_app` once in each worker process; the settings come from the environment, as
for the CLI. Every module of :mod:`api.http.routers` that has a ``router`` is included, in the
order of the modules' names, so a new resource is one new module and nothing else.
"""

from __future__ import annotations

import gc
import importlib
import pkgutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import APIRouter, FastAPI

from api import web
from api.bootstrap import App, bootstrap_app, projectors
from api.http import concurrency, metrics, ops, problems, routers
from api.http.deps import authenticate
from api.http.follower import Follower
from api.http.logs import configure_logging
from api.http.middleware import RequestMiddleware
from api.settings import Settings
from projections.runner import Projector

TITLE = "fundledger"
DESCRIPTION = (
    "The ledger and clearing house of China's resident medical-insurance funds. Every request "
    "but /healthz and /metrics needs 'Authorization: Bearer TOKEN'. Money is a decimal string "
    "of yuan; an error is application/problem+json (docs/contract.md)."
)


def _version() -> str:
    try:
        return version("fundledger")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "0.0.0"


MATCHED_FIRST = ("postings", "statements")
"""The router modules whose routes carry the load (a single posting, a fund's statement),
included before the others. A request is matched against the routes in the order they were
included, twice (FastAPI 0.165 tries each included router's routes in turn): 74 µs a pass
for a posting with postings 13th of 18, in name order, 13 µs first (bench/README.md,
"Single postings on the event loop"). No two routes of different modules match one request
(tests/http/test_infra.py), so the order changes nothing but that time."""


def _matched_order(name: str) -> tuple[int, str]:
    first = MATCHED_FIRST.index(name) if name in MATCHED_FIRST else len(MATCHED_FIRST)
    return first, name


def resource_routers() -> list[APIRouter]:
    """The ``router`` of every module of :mod:`api.http.routers`: those of
    :data:`MATCHED_FIRST` first, the others by module name."""
    found = []
    modules = sorted(pkgutil.iter_modules(routers.__path__), key=lambda m: _matched_order(m.name))
    for module_info in modules:
        module = importlib.import_module(f"{routers.__name__}.{module_info.name}")
        router = getattr(module, "router", None)
        if isinstance(router, APIRouter):
            found.append(router)
    return found


def _problem_media_in_openapi(api: FastAPI) -> None:
    """The OpenAPI document with error answers under problem+json (built once, then kept)."""
    build = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            api.openapi_schema = problems.problems_in_their_media_type(build())
        return api.openapi_schema

    setattr(api, "openapi", openapi)  # noqa: B010 - FastAPI's documented way to customise it


def _follower_projectors(settings: Settings, fl_app: App) -> list[Projector]:
    """The background projector's own connections; none for an in-memory store (one
    database per connection: it shares the read models')."""
    urls = [settings.database_url, *settings.province_database_urls.values()]
    if any(url.startswith("memory:") for url in urls):
        return []
    return projectors(settings, fl_app.ledger, concurrency.shared_connect)


GC_YOUNG_THRESHOLD = 10_000
"""Allocations between two collections of the youngest generation in a server process
(the interpreter's default is 700): a batch upload allocates some hundred objects a row,
nearly all freed by reference counting, so the default collects many times a batch for
nothing (bench/README.md, "Garbage collection")."""


def settle_garbage_collector() -> tuple[int, int, int]:
    """Once the app is up: what it built at start-up lives as long as the process, so the
    collector stops scanning it (``gc.freeze``), and the young generation is collected less
    often (:data:`GC_YOUNG_THRESHOLD`). Answers the thresholds it replaced (the app's
    shutdown puts them back and unfreezes)."""
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, before[1], before[2])
    return before


def create_app(settings: Settings | None = None) -> FastAPI:
    """The HTTP API for these settings (read from the environment when not given)."""
    settings = settings or Settings()
    configure_logging()

    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        fl_app = bootstrap_app(settings, connect_db=concurrency.pooled_connect)
        fl_app.ledger.observe_batches(metrics.observe_group_commit_batch)
        api.state.fl_app = fl_app
        lag = ops.LagWatcher(fl_app)
        lag.start()
        own = _follower_projectors(settings, fl_app)
        follower = Follower(
            own or fl_app.read_models.projectors, on_pass=metrics.count_projector_pass
        )
        fl_app.read_models.follower = follower
        fl_app.read_models.observe = metrics.observe_read_phase
        follower.start()
        collector = settle_garbage_collector()
        try:
            yield
        finally:
            gc.unfreeze()
            gc.set_threshold(*collector)
            fl_app.read_models.follower = None
            follower.stop()
            lag.stop()
            for projector in own:
                projector.source.close()
                projector.db.close()
            await fl_app.tokens.aclose()
            fl_app.close()

    api = FastAPI(
        title=TITLE,
        version=_version(),
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        responses=problems.PROBLEM_RESPONSES,
        lifespan=lifespan,
    )
    api.state.settings = settings
    _problem_media_in_openapi(api)
    problems.install(api, authenticate)
    api.include_router(ops.router)
    for router in resource_routers():
        api.include_router(router)
    web.install(api)  # the browser workbench at / (docs/workbench.md)
    api.add_middleware(RequestMiddleware, max_body_bytes=settings.max_body_bytes)
    return api
