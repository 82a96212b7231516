"""A fund's history as data: each event with its place in the hash chain (docs/architecture.md).

Shared by ``fundledger events`` and ``GET /v1/funds/{fund}/events``, so both show the same
fields: ``version``, ``topic``, ``recorded_at``, ``recorded_by``, ``prev_hash``,
``chain_hash``, the payload (money as yuan strings), and what the check of the link found.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from domain.access import Action, Principal, Role, authorize
from domain.audit import ChainLink
from domain.errors import InvalidInput
from domain.funds import FundId
from domain.money import format_fen

if TYPE_CHECKING:
    from api.bootstrap import App

MAX_EVENTS_PAGE = 1_000
"""The most events one page of a fund's history carries (docs/contract.md, "HTTP API")."""

_ENVELOPE = frozenset(
    {
        "originator_id",
        "originator_version",
        "originator_topic",
        "timestamp",
        "prev_hash",
        "chain_hash",
        "recorded_by",
        "request_id",
    }
)
"""Attributes of a stored event that are not its payload."""


def link_json(link: ChainLink) -> dict[str, Any]:
    """One event of a fund's history with its chain, as JSON."""
    event = link.event
    data: dict[str, Any] = {
        "version": link.version,
        "topic": link.topic,
        "recorded_at": None,
        "recorded_by": None,
        "prev_hash": None,
        "chain_hash": None,
        "payload": {},
    }
    if event is not None:
        data["recorded_at"] = event.timestamp.isoformat()
        data["recorded_by"] = recorded_by_of(event)
        data["prev_hash"] = event.prev_hash
        data["chain_hash"] = event.chain_hash
        data["payload"] = event_payload(event)
    data["chain_ok"] = link.ok
    data["findings"] = list(link.findings)
    return data


def recorded_by_of(event: Any) -> str | None:
    """Who recorded the event (None for events recorded before authors were kept)."""
    by = getattr(event, "recorded_by", None)
    return None if by is None else str(by)


def event_payload(event: Any) -> dict[str, Any]:
    """An event's business fields, money as yuan strings (``amount_fen`` → ``amount``):
    the payload of a fund's history and of the change feed alike."""
    payload: dict[str, Any] = {}
    for key, value in vars(event).items():
        if key in _ENVELOPE:
            continue
        if key.endswith("_fen") and isinstance(value, int) and not isinstance(value, bool):
            payload[key.removesuffix("_fen")] = format_fen(value)
        else:
            payload[key] = value
    return payload


def chain_state(links: Sequence[ChainLink]) -> dict[str, Any]:
    """The state of a whole chain: intact or not, its length, head hash and every finding."""
    findings = [
        {"version": link.version, "finding": finding} for link in links for finding in link.findings
    ]
    last = links[-1].event if links else None
    return {
        "ok": not findings,
        "events": len(links),
        "head": None if last is None else last.chain_hash,
        "findings": findings,
    }


def _authorize_history(who: Principal, fund: FundId) -> None:
    """Event histories: auditors and provincial officers (docs/contract.md); a municipal
    officer reads the history of the funds of its own region too, since it may read their
    statements and write their postings already (docs/contract.md, "Identity and access")."""
    if who.role is Role.MUNICIPAL:
        authorize(who, Action.READ, fund.region)
    else:
        authorize(who, Action.READ_HISTORY, fund.region)


def events(
    app: App, who: Principal, fund: FundId, *, after: int = 0, limit: int = MAX_EVENTS_PAGE
) -> dict[str, Any]:
    """One page of a fund's history with its hash chain, keyset by version.

    ``events`` holds the events whose version is above ``after``, at most ``limit``; ``next``
    is the ``after`` of the following page (None on the last). ``chain`` is the state of the
    whole chain (every link checked, not only this page's): ``ok``, the number of events,
    the head hash and every finding.
    """
    _authorize_history(who, fund)
    if not 1 <= limit <= MAX_EVENTS_PAGE:
        raise InvalidInput(f"a page holds 1 to {MAX_EVENTS_PAGE} events", field="limit")
    if after < 0:
        raise InvalidInput("after is a version, 0 or more", field="after")
    links = app.ledger.chain(fund)
    page = [link for link in links if link.version > after][:limit]
    more = bool(page) and page[-1].version < links[-1].version
    return {
        "fund": str(fund),
        "events": [link_json(link) for link in page],
        "next": page[-1].version if more else None,
        "chain": chain_state(links),
    }
