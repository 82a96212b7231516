"""Checking a fund's hash chain: a pure function that returns findings, not the first error.

A finding names the version at fault and what is wrong: a stored event that no longer
decodes, a gap in the versions (an event removed), a ``prev_hash`` that is not the previous
event's hash (an event removed or inserted), or a ``chain_hash`` that does not match the
event's content (an event changed).

The walk reads each stored event's JSON once and hashes the decoded dict directly
(:func:`plain_link`): an event of the current class version whose fields are plain JSON
values is built without the library's mapper, and hashed from the same dict, which gives
byte for byte the hash :func:`domain.chain.chain_hash` gives of the decoded event. Any other
stored event (an older class version to upcast, a transcoded field, bytes that are not JSON,
a topic without a class) goes through ``decode`` as before, so every finding stays the same.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import resolve_topic
from orjson import JSONDecodeError, loads

from domain import seal as _seal  # noqa: F401  (its event classes register their topics)
from domain.chain import (
    GENESIS_HASH,
    LIBRARY_FIELDS,
    canonical_layout,
    chain_hash,
    payload_of,
    stored_hash_of,
)

fromisoformat = datetime.fromisoformat

_NOT_HASHED = LIBRARY_FIELDS | {"chain_hash"}
"""Keys of a stored state left out of the hashed payload (``class_version`` is popped; the
library's fields are hashed under their own names, the id and version from the row)."""

_PLAIN = frozenset({str, int, float, bool, type(None)})
"""The types of a plain field's value (a list or an object, which the library's transcoder may
have written for a value of another type, is decoded by the mapper; a float is decoded and
hashed alike on either path)."""


@contextmanager
def paused_gc() -> Iterator[None]:
    """Hold the cyclic garbage collector while a walk builds an object per stored event.

    A walk of a million events keeps a million links alive, none of them garbage: every
    collection the allocations trigger would scan them all again (a quarter of a walk's time
    was spent so). Reference counting still frees what is dropped; the collector runs again,
    as it was, when the walk ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True)
class ChainLink:
    """One stored event of a fund, as the audit saw it."""

    version: int
    topic: str
    event: Any | None
    recomputed_hash: str | None
    findings: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def recorded_by(self) -> str | None:
        """Who recorded the event (None: stored before authors were recorded, or undecodable).

        Covered by the event's hash when set: a link that is ``ok`` shows its true author.
        """
        return getattr(self.event, "recorded_by", None)

    @property
    def request_id(self) -> str | None:
        """The HTTP request that wrote the event (None on the CLI and before it was recorded)."""
        return getattr(self.event, "request_id", None)

    @classmethod
    def sound(cls, version: int, topic: str, event: Any, recomputed_hash: str) -> ChainLink:
        """The link of an event with no finding, made without the frozen dataclass's
        ``__init__`` (which sets each field through ``object.__setattr__``): a walk makes a
        million of them, and this is the same object with the same fields."""
        link = _new(cls)
        _set(
            link,
            "__dict__",
            {
                "version": version,
                "topic": topic,
                "event": event,
                "recomputed_hash": recomputed_hash,
                "findings": (),
            },
        )
        return link


_new = object.__new__
_set = object.__setattr__


def verify_chain(
    stored_events: Iterable[StoredEvent], decode: Callable[[StoredEvent], Any]
) -> list[ChainLink]:
    """Walk a fund's stored events in version order and check every link.

    ``decode`` (the ledger's mapper) decodes a stored event :func:`plain_link` cannot.
    """
    links: list[ChainLink] = []
    sound = ChainLink.sound
    expected_version = 1
    previous_hash = GENESIS_HASH
    classes: dict[str, Any] = {}
    for stored in stored_events:
        findings: list[str] = []
        if stored.originator_version != expected_version:
            findings.append(
                f"version {stored.originator_version} follows {expected_version - 1}: "
                "events are missing"
            )
        expected_version = stored.originator_version + 1
        plain = plain_link(stored, classes)
        if plain is not None:
            event, recomputed = plain
            if event.prev_hash != previous_hash:
                findings.append(
                    "prev_hash is not the previous event's hash: an event was removed or inserted"
                )
            if event.chain_hash != recomputed:
                findings.append(
                    "chain_hash does not match the event's content: the event was changed"
                )
            links.append(
                ChainLink(
                    stored.originator_version, stored.topic, event, recomputed, tuple(findings)
                )
                if findings
                else sound(stored.originator_version, stored.topic, event, recomputed)
            )
            previous_hash = event.chain_hash
            continue
        try:
            event = decode(stored)
        except Exception as error:  # noqa: BLE001 - any decoding failure is a finding
            findings.append(f"the stored event does not decode: {error}")
            links.append(
                ChainLink(stored.originator_version, stored.topic, None, None, tuple(findings))
            )
            previous_hash = ""
            continue
        try:
            recomputed = _recompute(event)
            prev_hash, own_hash = event.prev_hash, event.chain_hash
        except Exception as error:  # noqa: BLE001 - an event outside the chain is a finding
            findings.append(f"the stored event is not an event of the fund's chain: {error}")
            links.append(
                ChainLink(stored.originator_version, stored.topic, None, None, tuple(findings))
            )
            previous_hash = ""
            continue
        if prev_hash != previous_hash:
            findings.append(
                "prev_hash is not the previous event's hash: an event was removed or inserted"
            )
        if own_hash != recomputed:
            findings.append("chain_hash does not match the event's content: the event was changed")
        links.append(
            ChainLink(stored.originator_version, stored.topic, event, recomputed, tuple(findings))
        )
        previous_hash = own_hash
    return links


def plain_link(stored: StoredEvent, classes: dict[str, Any]) -> tuple[Any, str] | None:
    """The event and its recomputed hash, from the stored JSON alone (None: not plain).

    Plain is a JSON object of the event class's current version, with ``prev_hash`` and
    ``chain_hash`` strings, its time stored as ISO text and every other field a JSON string,
    integer, boolean or null. The event is built as the library's mapper builds it (the same
    fields, the time decoded), and the hash is :func:`domain.chain.chain_hash` of the stored
    payload, without a second pass over the event's attributes.
    ``classes`` caches what the walk needs of the topic (:func:`_plain_class`).
    """
    topic = stored.topic
    known = classes.get(topic, _UNRESOLVED)
    if known is _UNRESOLVED:
        known = _plain_class(topic)
        classes[topic] = known
    originator_id = stored.originator_id
    if known is None or not isinstance(originator_id, UUID):
        return None
    cls, class_version, topic_json = known
    raw = stored.state
    try:
        state = loads(raw)
    except JSONDecodeError:
        return None
    if type(state) is not dict or state.pop("class_version", 1) != class_version:
        return None
    stamp = state.pop("timestamp", None)
    if (
        type(stamp) is not dict
        or len(stamp) != 2
        or stamp.get("_type_") != "datetime_iso"
        or type(text := stamp.get("_data_")) is not str
        or type(state.get("prev_hash")) is not str
        or type(own_hash := state.get("chain_hash")) is not str
        or "originator_id" in state
        or "originator_version" in state
        or not _plain_values(raw, state)
    ):
        return None
    try:
        timestamp = fromisoformat(text)
    except ValueError:
        return None
    version = stored.originator_version
    if canonical_layout(text):
        del state["chain_hash"]
        topic_field = state.pop("originator_topic", _UNRESOLVED)
        try:
            recomputed = stored_hash_of(
                topic_json, _id_bytes(originator_id), version, text.encode(), state
            )
        finally:
            state["chain_hash"] = own_hash
            if topic_field is not _UNRESOLVED:
                state["originator_topic"] = topic_field
    else:
        recomputed = chain_hash(
            topic=cls.TOPIC,
            originator_id=originator_id,
            originator_version=version,
            timestamp=timestamp,
            payload={k: v for k, v in state.items() if k not in _NOT_HASHED},
        )
    state["timestamp"] = timestamp
    state["originator_id"] = originator_id
    state["originator_version"] = version
    event = object.__new__(cls)
    object.__setattr__(event, "__dict__", state)
    return event, recomputed


def _plain_values(raw: bytes, state: dict[str, Any]) -> bool:
    """Whether every value of a stored state (its time taken out) is plain (:data:`_PLAIN`).

    Stored JSON with no ``[`` and no ``{`` but its own and its time's has no list and no
    object among its values (a bracket inside a string only sends it to the type check).
    """
    if b"[" not in raw and raw.count(b"{") == 2:
        return True
    return set(map(type, state.values())) <= _PLAIN


_last_id: list[tuple[UUID, bytes]] = [(UUID(int=0), str(UUID(int=0)).encode())]


def _id_bytes(originator_id: UUID) -> bytes:
    """The dashed text of an id as bytes, kept for the last id asked (a walk asks one fund's
    in a row: the same object from the database's walk, an equal one from an archive's)."""
    known, text = _last_id[0]
    if originator_id is not known and originator_id != known:
        text = str(originator_id).encode()
        _last_id[0] = (originator_id, text)
    return text


def _plain_class(topic: str) -> tuple[Any, int, bytes] | None:
    """The topic's chained event class, its class version and its topic as JSON (the topic
    the hash covers is the class's own, :data:`TOPIC`); None when it has no chained class."""
    cls = _chained_class(topic)
    if cls is None:
        return None
    return cls, cls.class_version, orjson.dumps(cls.TOPIC)


_UNRESOLVED = object()


def _chained_class(topic: str) -> Any:
    """The event class of ``topic`` when its events carry the chain (else None)."""
    try:
        cls = resolve_topic(topic)
    except Exception:  # noqa: BLE001 - an unknown topic is decoded (and reported) the slow way
        return None
    if not isinstance(cls, type) or not isinstance(getattr(cls, "TOPIC", None), str):
        return None
    annotations: dict[str, Any] = {}
    for base in reversed(cls.__mro__):
        annotations.update(getattr(base, "__annotations__", {}))
    if "chain_hash" not in annotations:
        return None
    return cls


def _recompute(event: Any) -> str:
    """The hash the event's content gives (raises when it carries no chain fields)."""
    return chain_hash(
        topic=type(event).TOPIC,
        originator_id=event.originator_id,
        originator_version=event.originator_version,
        timestamp=event.timestamp,
        payload=payload_of(event),
    )
