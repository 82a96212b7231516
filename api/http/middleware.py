"""Around every request: its id, the body limit, one log line and the request metrics.

One pure ASGI middleware, so that it sees streamed answers (the feed's event stream) to their
end and adds nothing to a request's path but a few dictionary lookups.

- **Request id**: ``X-Request-ID`` is taken from the request when it is a sane token (at most
  128 characters of letters, digits, ``.``, ``_``, ``-``), else made; it is answered in the
  same header, recorded on every event the request writes, and logged.
- **Body limit**: a body larger than the limit is refused with 413 before any route sees it,
  whether it announces its length or arrives in chunks.
- **Log**: one JSON line per request (method, route template, status, duration, request id,
  the caller's token name). Never a header's value: the ``Authorization`` header is not read
  here at all.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http import metrics
from api.http.problems import http_problem

REQUEST_ID_HEADER = b"x-request-id"
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
UNMATCHED_ROUTE = "unmatched"
"""The route label of a request no route matched (one label, not one per path tried)."""

_log = structlog.get_logger("fundledger.http")


def request_id_of(scope: Scope) -> str:
    """The request's id: the client's own when it is sane, else a new one."""
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER:
            text: str = value.decode("latin-1")
            if _SANE_ID.fullmatch(text):
                return text
    return uuid.uuid4().hex


class TooLarge(Exception):
    """The body went over the limit."""


async def _read_body(receive: Receive, limit: int) -> list[Message]:
    """Every body message of the request, refusing (``TooLarge``) past ``limit`` bytes."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages
        size += len(message.get("body", b""))
        if size > limit:
            raise TooLarge
        if not message.get("more_body", False):
            return messages


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class RequestMiddleware:
    """Request id, body limit, log line and metrics for every HTTP request."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_of(scope)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [h for h in message.get("headers", []) if h[0] != REQUEST_ID_HEADER]
                headers.append((REQUEST_ID_HEADER, request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            replay = await self._admit(scope, receive, send_with_id)
            if replay is not None:
                await self.app(scope, replay, send_with_id)
        finally:
            self._record(scope, status, started)

    async def _admit(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        """The request's body read within the limit (replayed to the app), or None after 413."""
        declared = _declared_length(scope)
        try:
            if declared is not None and declared > self.max_body_bytes:
                raise TooLarge
            messages = await _read_body(receive, self.max_body_bytes)
        except TooLarge:
            response = http_problem(
                413, f"the body is larger than the limit of {self.max_body_bytes} bytes"
            )
            await response({**scope, "method": scope["method"]}, receive, send)
            return None

        async def replay() -> Message:
            if messages:
                return messages.pop(0)
            return await receive()

        return replay

    def _record(self, scope: Scope, status: int, started: float) -> None:
        seconds = time.perf_counter() - started
        route = getattr(scope.get("route"), "path", None) or UNMATCHED_ROUTE
        state = scope.get("state", {})
        metrics.observe_request(scope["method"], route, status, seconds)
        _log.info(
            "request",
            method=scope["method"],
            route=route,
            path=scope.get("path", ""),
            status=status,
            duration_ms=round(seconds * 1000, 2),
            request_id=state.get("request_id"),
            principal=state.get("principal"),
        )
