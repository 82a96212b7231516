"""The server's Prometheus metrics (docs/operations.md, "Metrics").

With one worker the metrics live in the process. With several (``fundledger serve --workers
N``), ``PROMETHEUS_MULTIPROC_DIR`` names a directory where every worker writes its own, and
``GET /metrics``, whichever worker answers it, adds up every worker's counters and histograms;
the projection lag is the one the most recent scrape measured. The directory must be set
before this module is imported, and be empty when the server starts (``serve`` makes a new
one).

Code outside the HTTP adapter reports through :func:`count_postings_written` and
:func:`observe_group_commit_batch`, handed to it by the composition root as plain callables
(the domain imports nothing of ``api``).
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

REQUESTS = Counter(
    "fundledger_http_requests",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "fundledger_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by method and route template",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
POSTINGS_WRITTEN = Counter("fundledger_postings_written", "Postings written by this server")
GROUP_COMMIT_BATCH = Histogram(
    "fundledger_group_commit_batch_size",
    "Postings saved together in one transaction by the group-commit writer",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
)
PROJECTION_LAG = Gauge(
    "fundledger_projection_lag_events",
    "Events recorded but not yet applied to the read models, by province",
    ["province"],
    multiprocess_mode="mostrecent",
)
READ_PHASE = Histogram(
    "fundledger_read_phase_seconds",
    "Time of each phase of a read: waiting for the background projector, catching up itself "
    "(when the projector did not get there in time), the query",
    ["phase"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
PROJECTOR_PASSES = Counter(
    "fundledger_projector_passes",
    "Passes of the background projector, by outcome: applied (events written), idle (nothing "
    "new) or failed",
    ["outcome"],
)
PROJECTOR_BATCHES_LOST = Counter(
    "fundledger_projector_batches_lost",
    "Batches a projector read and decoded but did not write, another having moved on",
)
PROJECTOR_EVENTS_LEFT_OUT = Counter(
    "fundledger_projector_events_left_out",
    "Fund events the background projector left out of the read models because no opening "
    "registered their fund: the event log was edited (audit verify names the aggregate)",
)


def observe_read_phase(phase: str, seconds: float) -> None:
    """Record one phase of a read (``wait``, ``catch_up``, ``query``)."""
    READ_PHASE.labels(phase).observe(seconds)


def count_projector_pass(outcome: str, lost: int, left_out: int) -> None:
    """Count one background-projector pass, the batches it lost to another projector and
    the events it left out (of no opened fund)."""
    PROJECTOR_PASSES.labels(outcome).inc()
    if lost:
        PROJECTOR_BATCHES_LOST.inc(lost)
    if left_out:
        PROJECTOR_EVENTS_LEFT_OUT.inc(left_out)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request (``route`` is the template, never the concrete path)."""
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


def count_postings_written(count: int) -> None:
    """Add ``count`` postings written (new ones only, duplicates are not counted)."""
    if count > 0:
        POSTINGS_WRITTEN.inc(count)


def observe_group_commit_batch(size: int) -> None:
    """Record the size of one group-commit save."""
    GROUP_COMMIT_BATCH.observe(size)


def set_projection_lag(lag_by_province: dict[str, int]) -> None:
    """Record each province's projection lag, as just measured."""
    for province, lag in lag_by_province.items():
        PROJECTION_LAG.labels(province).set(lag)


def exposition() -> bytes:
    """The metrics in Prometheus text format: every worker's, in multiprocess mode."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)
