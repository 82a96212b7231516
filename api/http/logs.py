"""Structured logs: one JSON object per line on stderr (docs/operations.md, "Logs").

Every request is one line (see :mod:`api.http.middleware`); the server's own messages
(uvicorn's start, stop and the traceback of a programmer error) go through the standard
library's logging and come out as JSON lines too, with the worker's process id. Nothing logs
a header's value or a request body, so a token never reaches a log. Each line is written with
one ``write`` (message and newline together), so the lines of several workers sharing one
stderr never run into each other.
"""

from __future__ import annotations

import logging
import os
import sys

import structlog
from structlog.typing import EventDict, Processor


def _add_pid(_: object, __: str, event: EventDict) -> EventDict:
    """The worker process that wrote the line (several workers share one log)."""
    event["pid"] = os.getpid()
    return event


def configure_logging(level: int = logging.INFO) -> None:
    """JSON lines with an ISO 8601 UTC timestamp, the level and the pid (idempotent)."""
    shared: list[Processor] = [
        structlog.processors.add_log_level,
        _add_pid,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            *shared,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.WriteLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    # uvicorn run directly (``python -m uvicorn``) configures its own plain-text handlers;
    # its messages go through the JSON handler instead, and its access log is left out
    # because the request middleware writes one line per request already.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        server_logger = logging.getLogger(name)
        server_logger.handlers = []
        server_logger.propagate = name != "uvicorn.access"
