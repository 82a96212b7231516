"""``GET /healthz`` and ``GET /metrics``: for load balancers and Prometheus, without a token.

Neither answers a figure of any fund: the health names the store's state and each province's
projection lag (events recorded but not yet in the read models), the metrics count requests.
"""

from __future__ import annotations

import threading
from contextlib import suppress
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from api.bootstrap import App
from api.http import metrics
from api.http.deps import AppDep
from api.http.problems import problem
from domain.errors import DomainError, Retryable

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    """The server's health: the store's state and each province's projection lag."""

    status: str = Field(examples=["ok"])
    store: str = Field(examples=["reachable"])
    projection_lag: dict[str, int] = Field(examples=[{"140000": 0}])


def projection_lag(app: App) -> dict[str, int]:
    """Each province's projection lag, for the provinces with events.

    Raises:
        Retryable: the store did not answer.
        DomainError: the store has no tables yet.
    """
    app.tokens.ping()
    return {status.province: status.lag for status in app.read_models.status()}


LAG_EVERY_SECONDS = 5.0
"""How often each server process measures the projection lag for the gauge."""


class LagWatcher:
    """A daemon thread that keeps the projection-lag gauge current between scrapes.

    Every ``every`` seconds it measures each province's lag (``/healthz``'s figures) and sets
    ``fundledger_projection_lag_events``; a store that does not answer leaves the last figures
    and is tried again next time. ``/healthz`` and ``/metrics`` still measure when asked.
    """

    def __init__(self, app: App, every: float = LAG_EVERY_SECONDS) -> None:
        self._app = app
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="projection-lag", daemon=True)

    def measure(self) -> None:
        """Measure once and set the gauge (nothing when the store is not usable)."""
        with suppress(DomainError):
            metrics.set_projection_lag(projection_lag(self._app))

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            self.measure()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self._every + 5)


@router.get(
    "/healthz",
    operation_id="health",
    response_model=Health,
    summary="Is the store reachable, and how far behind are the read models?",
    responses={503: {"description": "the store is unreachable or not initialised"}},
)
def healthz(app: AppDep) -> Any:
    """200 ``{status, store, projection_lag}``; 503 problem+json when the store is not usable."""
    try:
        lag = projection_lag(app)
    except Retryable as error:
        return _unhealthy("unreachable", error.message)
    except DomainError as error:
        return _unhealthy("not_initialised", error.message)
    metrics.set_projection_lag(lag)
    return JSONResponse({"status": "ok", "store": "reachable", "projection_lag": lag})


def _unhealthy(store: str, detail: str) -> JSONResponse:
    """A problem that carries the health fields too, so that a probe reads one shape."""
    return problem(
        503,
        "Service Unavailable",
        detail,
        kind="StoreUnavailable",
        headers={"Retry-After": "1"},
        extensions={"store": store, "projection_lag": {}},
    )


@router.get(
    "/metrics",
    operation_id="metrics",
    summary="Prometheus metrics of the server (every worker's)",
    response_class=Response,
    responses={200: {"content": {metrics.CONTENT_TYPE: {}}}},
)
def get_metrics(app: AppDep) -> Response:
    """The Prometheus text format; the projection lag is measured now, when the store answers."""
    # The store's state is /healthz's to say; the request counters answer regardless.
    with suppress(DomainError):
        metrics.set_projection_lag(projection_lag(app))
    return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)
