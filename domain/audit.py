"""Checking a fund's hash chain: a pure function that returns findings, not the first error.

A finding names the version at fault and what is wrong: a stored event that no longer
decodes, a gap in the versions (an event removed), a ``prev_hash`` that is not the previous
event's hash (an event removed or inserted), or a ``chain_hash`` that does not match the
event's content (an event changed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import StoredEvent

from domain import seal as _seal  # noqa: F401  (its event classes register their topics)
from domain.chain import GENESIS_HASH, chain_hash, payload_of


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


def verify_chain(
    stored_events: Iterable[StoredEvent], decode: Callable[[StoredEvent], Any]
) -> list[ChainLink]:
    """Walk a fund's stored events in version order and check every link."""
    links: list[ChainLink] = []
    expected_version = 1
    previous_hash = GENESIS_HASH
    for stored in stored_events:
        findings: list[str] = []
        if stored.originator_version != expected_version:
            findings.append(
                f"version {stored.originator_version} follows {expected_version - 1}: "
                "events are missing"
            )
        expected_version = stored.originator_version + 1
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


def _recompute(event: Any) -> str:
    """The hash the event's content gives (raises when it carries no chain fields)."""
    return chain_hash(
        topic=type(event).TOPIC,
        originator_id=event.originator_id,
        originator_version=event.originator_version,
        timestamp=event.timestamp,
        payload=payload_of(event),
    )
