"""A province's change feed: every event of its ledger, in order, for outside consumers.

What it guarantees (docs/operations.md, "The change feed"). The feed of a province is its
ledger's notification log: every event recorded in the province (funds, budgets, clearing
inputs, settlements) with its notification id, in the order of those ids, which is the order
of the commits (a save holds the province's events table lock until it commits, so no event
can appear later with a smaller id than one already read; SQLite has a single writer). A page
(``after``, at most :data:`MAX_LIMIT` events) answers the events whose id is greater than
``after``, and ``next`` is the id to ask after next, so a consumer that stores ``next`` only
after it has handled a page sees every event exactly once, and at least once if it stops in
between. The stream follows the same log from ``after`` (or ``Last-Event-ID``), each event
with its id, so a reconnect resumes after the last event received: nothing missed, nothing
repeated. A stream is bounded in time (:data:`MAX_STREAM_SECONDS`), sends a comment as a
heartbeat when idle, and ends by itself; the client reconnects, and is authorised again.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from api.bootstrap import App
from api.usecases.history import event_payload, recorded_by_of
from domain.access import Action, Principal, authorize
from domain.errors import InvalidInput
from domain.ledger import ProvinceLedger
from domain.regions import RegionLevel, check_region, level_of

MAX_LIMIT = 1000
"""The most events of one page."""
DEFAULT_LIMIT = 100
MAX_STREAM_SECONDS = 3600
"""The longest a stream stays open before it ends by itself (the client reconnects)."""
DEFAULT_STREAM_SECONDS = 300
HEARTBEAT_SECONDS = 15.0
"""An idle stream sends a comment this often, so that proxies keep it open."""
POLL_SECONDS = 0.25
"""How often an idle stream asks the store for new events."""
MAX_FUND_CACHE = 100_000


@dataclass(frozen=True)
class FeedEvent:
    """One event of the feed: its notification id, its aggregate and its content."""

    id: int
    aggregate_id: str
    fund: str | None
    version: int
    topic: str
    recorded_at: str
    recorded_by: str | None
    request_id: str | None
    prev_hash: str | None
    chain_hash: str | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class FeedPage:
    """A page of the feed; ``next`` is the ``after`` of the next page (``after`` if empty)."""

    events: list[FeedEvent]
    next: int


def check_feed_request(who: Principal, province: str) -> str:
    """A province code the caller may follow (event histories: provincial and auditor).

    Raises:
        InvalidInput: not a province code.
        AccessDenied: the caller may not read the province's histories.
    """
    check_region(province, field="province")
    if level_of(province) is not RegionLevel.PROVINCE:
        raise InvalidInput(f"{province} is not a province code (e.g. 140000)", field="province")
    authorize(who, Action.READ_HISTORY, province)
    return province


def check_page(after: int, limit: int) -> None:
    """``after`` is a notification id (0 for the start), ``limit`` at most :data:`MAX_LIMIT`."""
    if after < 0:
        raise InvalidInput("after is a notification id, 0 or more", field="after")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit is between 1 and {MAX_LIMIT}", field="limit")


def feed_page(
    app: App, who: Principal, province: str, *, after: int = 0, limit: int = DEFAULT_LIMIT
) -> FeedPage:
    """The province's events after notification id ``after``, at most ``limit`` of them."""
    check_feed_request(who, province)
    check_page(after, limit)
    events = read_events(app, province, after, limit)
    return FeedPage(events, events[-1].id if events else after)


def read_events(app: App, province: str, after: int, limit: int) -> list[FeedEvent]:
    """The events after ``after`` (no authorisation: callers check first)."""
    ledger = app.ledger.province(province)
    notifications = ledger.recorder.select_notifications(
        start=after, limit=limit, inclusive_of_start=False
    )
    return [_event(ledger, n.id, ledger.mapper.to_domain_event(n), n.topic) for n in notifications]


def _event(ledger: ProvinceLedger, notification_id: int, event: Any, topic: str) -> FeedEvent:
    request_id = getattr(event, "request_id", None)
    return FeedEvent(
        id=notification_id,
        aggregate_id=str(event.originator_id),
        fund=_fund_of(ledger, event),
        version=event.originator_version,
        topic=topic,
        recorded_at=event.timestamp.isoformat(),
        recorded_by=recorded_by_of(event),
        request_id=None if request_id is None else str(request_id),
        prev_hash=getattr(event, "prev_hash", None),
        chain_hash=getattr(event, "chain_hash", None),
        payload=event_payload(event),
    )


_funds: dict[UUID, str | None] = {}
_funds_lock = threading.Lock()


def _fund_of(ledger: ProvinceLedger, event: Any) -> str | None:
    """The fund an event concerns: its own ``fund`` field, else its aggregate's first event's.

    An aggregate's first event never changes, so the answer is kept (a bounded cache that no
    later write can make wrong).
    """
    own = getattr(event, "fund", None)
    if isinstance(own, str):
        return own
    aggregate_id: UUID = event.originator_id
    with _funds_lock:
        if aggregate_id in _funds:
            return _funds[aggregate_id]
    first = ledger.recorder.select_events(aggregate_id, lte=1, limit=1)
    found = getattr(ledger.mapper.to_domain_event(first[0]), "fund", None) if first else None
    fund = found if isinstance(found, str) else None
    with _funds_lock:
        if len(_funds) >= MAX_FUND_CACHE:
            _funds.clear()
        _funds[aggregate_id] = fund
    return fund


def follow_start(after: int, last_event_id: str | None) -> int:
    """Where a stream starts: after ``Last-Event-ID`` when the client reconnects, else ``after``.

    Raises:
        InvalidInput: ``Last-Event-ID`` is not a notification id.
    """
    if last_event_id is None or not last_event_id.strip():
        check_page(after, 1)
        return after
    text = last_event_id.strip()
    if not text.isdigit() or not text.isascii():
        raise InvalidInput(
            f"{text!r} is not a notification id of this feed", field="header.last-event-id"
        )
    return int(text)
