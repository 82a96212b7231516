"""The hash chain that makes a fund's history tamper-evident.

Every event of a fund carries ``prev_hash`` (the ``chain_hash`` of the fund's previous event,
or :data:`GENESIS_HASH` for the first) and ``chain_hash`` = SHA-256 over the canonical
encoding of the event's content (its topic, fund, version, recorded time and every business
field, ``prev_hash`` included). Changing, removing or inserting a stored event breaks the chain.

Who recorded an event (``recorded_by``, ``request_id``: docs/contract.md, "Identity and
access") is part of the hashed payload when it has a value, and left out when it is None. Events
stored before authorship was recorded (class version 1) had no such fields: their upcaster sets
both to None, and leaving a None out hashes them exactly as they were hashed when written, so
their stored ``chain_hash`` still verifies. An event written with an author has it in its hash:
blanking it, removing it (with the class version, so that the upcaster fills in None) or
changing it changes the hashed content, and the stored ``chain_hash`` no longer matches.
Leaving out only a None, rather than choosing by class version, keeps the check a function of
the decoded event alone: the stored class version is gone once the library has upcast it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from uuid import UUID

import orjson

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of a fund's first event."""

LIBRARY_FIELDS = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic"})
"""Fields the event-sourcing library puts on every event; hashed under fixed names."""

AUTHORSHIP_FIELDS = ("recorded_by", "request_id")
"""Who recorded an event: hashed when set, left out when None (as events of class version 1,
written before they existed, were hashed)."""
_RECORDED_BY, _REQUEST_ID = AUTHORSHIP_FIELDS


_SORTED = orjson.OPT_SORT_KEYS

_AS_IS = frozenset({str, int, bool, type(None), float, dict, list})
"""Types of values that are encoded as they are (a test of the exact type: one set lookup)."""

_TIMES = (datetime, date)


def _plain(value: Any) -> Any:
    """A value of a type outside :data:`_AS_IS`: a UUID in its dashed form, a time or a day as
    ``isoformat()``; anything else (an enumeration's member, say) as it is."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, _TIMES):
        return value.isoformat()
    return value


def canonical_bytes(content: Mapping[str, Any]) -> bytes:
    """The canonical encoding: JSON, keys sorted, no whitespace, UTF-8 (not ASCII-escaped).

    UUIDs are written in their dashed form and times as ``isoformat()``, converted before
    encoding so that the bytes do not depend on the JSON library's own conventions.
    """
    plain = {k: v if type(v) in _AS_IS else _plain(v) for k, v in content.items()}
    return plain_bytes(plain)


def plain_bytes(plain: Mapping[str, Any]) -> bytes:
    """:func:`canonical_bytes` of content whose top-level values are already plain (text,
    numbers, booleans, None, and dictionaries or lists of them): nothing to convert."""
    return orjson.dumps(plain, option=_SORTED)


def chain_hash(
    *,
    topic: str,
    originator_id: UUID,
    originator_version: int,
    timestamp: datetime,
    payload: Mapping[str, Any],
) -> str:
    """The hash of one event, given its payload (business fields plus ``prev_hash``).

    An authorship field (:data:`AUTHORSHIP_FIELDS`) that is None is left out of the hashed
    payload, so that an event stored before authorship was recorded hashes as it did then.
    """
    assert "chain_hash" not in payload
    assert "prev_hash" in payload
    assert "class_version" not in payload
    if _no_author_unset(payload):
        hashed = payload
    else:
        hashed = {k: v for k, v in payload.items() if v is not None or k not in AUTHORSHIP_FIELDS}
    content = {
        "topic": topic,
        "originator_id": str(originator_id),
        "originator_version": originator_version,
        "timestamp": timestamp.isoformat(),
        "payload": hashed,
    }
    return hashlib.sha256(plain_bytes(content)).hexdigest()


def stored_chain_hash(
    *,
    topic: str,
    originator_id: str,
    originator_version: int,
    timestamp: str,
    payload: dict[str, Any],
) -> str:
    """:func:`chain_hash` of an event read from its stored JSON, without building its values.

    ``originator_id`` is the dashed UUID text, ``timestamp`` the ``isoformat()`` text of the
    time (as :func:`canonical_stamp` accepts it), ``payload`` the stored business fields plus
    ``prev_hash``, every value a JSON string, integer, boolean or null. Authorship fields that
    are None are left out of the hash as :func:`chain_hash` leaves them out (taken out of
    ``payload`` while it is encoded, and put back). The bytes hashed are those
    :func:`canonical_bytes` gives of the same content (the top-level keys written in their
    sorted order around the sorted payload): the tests compare both on every event class and
    on random payloads, so this is an evaluation of :func:`chain_hash`, not a second rule.
    """
    return stored_hash_of(
        orjson.dumps(topic), originator_id.encode(), originator_version, timestamp.encode(), payload
    )


def stored_hash_of(
    topic_json: bytes,
    originator_id: bytes,
    originator_version: int,
    stamp: bytes,
    payload: dict[str, Any],
) -> str:
    """:func:`stored_chain_hash` with its text already encoded: the topic as JSON, the dashed id
    and the time's text as UTF-8 (a walk encodes a topic and an id once, not once an event)."""
    if _no_author_unset(payload):
        hashed = orjson.dumps(payload, option=_SORTED)
    else:
        unset = [k for k in AUTHORSHIP_FIELDS if payload.get(k, "") is None]
        for key in unset:
            del payload[key]
        try:
            hashed = orjson.dumps(payload, option=_SORTED)
        finally:
            for key in unset:
                payload[key] = None
    return hashlib.sha256(
        b'{"originator_id":"%s","originator_version":%d,"payload":%s,"timestamp":"%s","topic":%s}'
        % (originator_id, originator_version, hashed, stamp, topic_json)
    ).hexdigest()


def _no_author_unset(payload: Mapping[str, Any]) -> bool:
    """Whether neither authorship field is None (the usual event: both set, or both absent),
    so that the payload is hashed as it is."""
    get = payload.get
    return get(_RECORDED_BY, "") is not None and get(_REQUEST_ID, "") is not None


def canonical_stamp(text: str) -> bool:
    """Whether a stored time's text is exactly what ``isoformat()`` gives of the time it
    parses to (a UTC time with microseconds, as the library writes it), so that it can be
    hashed as it is. Any other text (no microseconds, another offset, another separator, a
    time that does not parse) must be parsed and written again."""
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return canonical_layout(text)


def canonical_layout(text: str) -> bool:
    """The layout half of :func:`canonical_stamp`, for a text already known to parse: a UTC
    time written with its microseconds, in ``isoformat()``'s own layout."""
    return (
        len(text) == _STAMP_LENGTH
        and text.isascii()
        and text[26:] == "+00:00"
        and text[4] == "-"
        and text[7] == "-"
        and text[10] == "T"
        and text[13] == ":"
        and text[16] == ":"
        and text[19] == "."
        and text[20:26] != "000000"
        and text[20:26].isdigit()
    )


_STAMP_LENGTH = len("2024-12-15T08:30:00.000001+00:00")


def payload_of(event: object) -> dict[str, Any]:
    """The payload of a stored event: every field but the library's and ``chain_hash``."""
    return {k: v for k, v in vars(event).items() if k not in LIBRARY_FIELDS and k != "chain_hash"}


def content_digest(content: Mapping[str, Any]) -> str:
    """SHA-256 of a posting's business content (:meth:`domain.postings.Posting.content`, whose
    values are all plain): equal digests mean the same posting."""
    return hashlib.sha256(plain_bytes(content)).hexdigest()
