"""The change feed as Server-Sent Events: ``id:`` the notification id, ``data:`` the event.

The stream polls the store (:data:`~api.usecases.feed.POLL_SECONDS`) and sends each new event
once, in order; when idle it sends a comment every
:data:`~api.usecases.feed.HEARTBEAT_SECONDS`; it ends by itself after ``max_seconds``. The
store is read on a worker thread and the waiting is asynchronous, so an open stream holds no
thread of the server while it waits. The guarantees are the feed's (:mod:`api.usecases.feed`).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import anyio
import orjson

from api.bootstrap import App
from api.usecases.feed import HEARTBEAT_SECONDS, MAX_LIMIT, POLL_SECONDS, FeedEvent, read_events

RETRY_MILLISECONDS = 1000
"""What the stream asks a client to wait before it reconnects."""


def event_message(event: FeedEvent) -> bytes:
    """One SSE message: the notification id, the topic as the event name, the JSON event."""
    data = orjson.dumps(event).decode("utf-8")  # a dataclass: its fields in order
    return f"id: {event.id}\nevent: {event.topic}\ndata: {data}\n\n".encode()


async def follow(app: App, province: str, after: int, max_seconds: float) -> AsyncIterator[bytes]:
    """The SSE stream of a province's feed from ``after``, for at most ``max_seconds``.

    The caller has been authorised before the stream starts.
    """
    yield f"retry: {RETRY_MILLISECONDS}\n\n".encode()
    position = after
    started = time.monotonic()
    last_sent = started
    polls = int(max_seconds / POLL_SECONDS) + 1
    for _ in range(polls):  # bounded: ends at max_seconds even if the store keeps writing
        events = await anyio.to_thread.run_sync(read_events, app, province, position, MAX_LIMIT)
        for event in events:
            yield event_message(event)
        now = time.monotonic()
        if events:
            position = events[-1].id
            last_sent = now
        elif now - last_sent >= HEARTBEAT_SECONDS:
            yield b": heartbeat\n\n"
            last_sent = now
        if now - started >= max_seconds:
            return
        if len(events) < MAX_LIMIT:
            await anyio.sleep(POLL_SECONDS)
