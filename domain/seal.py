"""Seals and checkpoints: where each fund's hash chain ended, recorded outside its chain.

A fund's hash chain (:mod:`domain.chain`) shows an edited, reordered or inserted event, but not
where the chain ends: a deleted tail, a deleted fund, or a history rewritten with recomputed
hashes all leave a chain that checks. An **anchor** records, for every fund of a province, its
chain head (version and ``chain_hash``), and a digest over all of them that an Ed25519 key
(kept outside the store) may sign. Two kinds (docs/audit.md):

- a **seal** of a province's year (``Seal``, one aggregate per province and year, a new event
  each time it is sealed again): the heads and each fund's statement totals of the year;
  closing a year seals it, and ``fundledger audit seal`` seals on demand;
- a **checkpoint** of a province's heads (``Checkpoint``, one aggregate per province), recorded
  per N events or per day (``fundledger audit checkpoint``).

Both are events of the province's ledger, so both appear on its change feed, and both are
written into an audit export: a copy an auditor keeps is out of reach of anyone who later edits
the events table, and an anchor edited in the table no longer matches its signature.
:func:`check_anchor` compares an anchor with the chains as they are now, and names the fund
and version of each disagreement.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from eventsourcing.domain import Aggregate

from domain.authorship import Author
from domain.chain import canonical_bytes
from domain.funds import FUNDLEDGER_NAMESPACE

if TYPE_CHECKING:
    from domain.audit import ChainLink


def seal_id(province: str, year: int) -> uuid.UUID:
    """The seal's aggregate id: one per province and year."""
    return uuid.uuid5(FUNDLEDGER_NAMESPACE, f"seal:{province}:{year}")


def checkpoint_id(province: str) -> uuid.UUID:
    """The aggregate id of a province's checkpoints."""
    return uuid.uuid5(FUNDLEDGER_NAMESPACE, f"checkpoint:{province}")


@dataclass(frozen=True)
class Head:
    """Where one fund's chain ended when the anchor was taken (and, in a seal, its totals)."""

    fund: str
    version: int
    hash: str
    totals: Mapping[str, int] | None = None
    """A seal's statement totals of the year in fen: ``opening_balance``, ``income``,
    ``expense``, ``closing_balance``; None in a checkpoint."""

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"fund": self.fund, "version": self.version, "hash": self.hash}
        if self.totals is not None:
            record["totals"] = dict(sorted(self.totals.items()))
        return record

    @staticmethod
    def from_record(record: Mapping[str, Any]) -> Head:
        totals = record.get("totals")
        return Head(
            str(record["fund"]),
            int(record["version"]),
            str(record["hash"]),
            None if totals is None else {str(k): int(v) for k, v in totals.items()},
        )


@dataclass(frozen=True)
class Anchor:
    """One recorded seal or checkpoint, as read back from the store or an archive."""

    kind: str
    """``seal`` or ``checkpoint``."""
    province: str
    year: int | None
    taken_at: str
    heads: tuple[Head, ...]
    digest: str
    signature: str | None
    key_id: str | None
    recorded_by: str | None = None

    def to_record(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "province": self.province,
            "year": self.year,
            "taken_at": self.taken_at,
            "heads": [h.to_record() for h in self.heads],
            "digest": self.digest,
            "signature": self.signature,
            "key_id": self.key_id,
            "recorded_by": self.recorded_by,
        }

    @staticmethod
    def from_record(record: Mapping[str, Any]) -> Anchor:
        return Anchor(
            kind=str(record["kind"]),
            province=str(record["province"]),
            year=None if record.get("year") is None else int(record["year"]),
            taken_at=str(record["taken_at"]),
            heads=tuple(Head.from_record(h) for h in record["heads"]),
            digest=str(record["digest"]),
            signature=record.get("signature"),
            key_id=record.get("key_id"),
            recorded_by=record.get("recorded_by"),
        )


def anchor_digest(
    kind: str, province: str, year: int | None, taken_at: str, heads: Sequence[Head]
) -> str:
    """SHA-256 over the canonical encoding of everything an anchor records (heads by fund)."""
    content = {
        "kind": kind,
        "province": province,
        "year": year,
        "taken_at": taken_at,
        "heads": [h.to_record() for h in sorted(heads, key=lambda h: h.fund)],
    }
    return hashlib.sha256(canonical_bytes(content)).hexdigest()


@dataclass(frozen=True)
class AnchorFinding:
    """A disagreement between an anchor and the chains as they are now."""

    check: str
    """``seal`` or ``checkpoint``."""
    fund: str
    version: int | None
    detail: str


def _name(anchor: Anchor) -> str:
    when = f" {anchor.year}" if anchor.year is not None else ""
    return f"the {anchor.kind}{when} of {anchor.province} taken at {anchor.taken_at}"


def check_anchor(
    anchor: Anchor,
    chains: Mapping[str, Sequence[ChainLink]],
    trusted_keys: Mapping[str, bytes],
    *,
    totals_of: Mapping[str, Mapping[str, int]] | None = None,
    only: Sequence[Head] | None = None,
) -> list[AnchorFinding]:
    """Every way the chains disagree with what ``anchor`` recorded.

    ``chains`` maps each fund to its links as stored now (a fund missing from it has no event
    left); ``trusted_keys`` maps key ids to raw Ed25519 public keys (empty: signatures are not
    required); ``totals_of`` maps funds to the totals a replay gives now, for a seal. Reported:
    an anchor whose digest does not match its content (edited), a signature that does not
    verify or a missing one when keys are trusted, a fund whose events are gone (deleted fund),
    a chain that ends before the recorded version (truncated tail), a stored hash at the recorded
    version that is not the recorded one (a forged event with a recomputed chain, or a replaced
    history), and for a seal, totals that differ from the replay's. ``only`` narrows the heads
    compared (one fund's), the digest and signature being checked whole either way.
    """
    found: list[AnchorFinding] = []
    name = _name(anchor)

    def add(fund: str, version: int | None, detail: str) -> None:
        found.append(AnchorFinding(anchor.kind, fund, version, f"{name}: {detail}"))

    digest = anchor_digest(anchor.kind, anchor.province, anchor.year, anchor.taken_at, anchor.heads)
    if digest != anchor.digest:
        add(anchor.province, None, "its digest does not match its content: the record was edited")
    found.extend(
        AnchorFinding(anchor.kind, anchor.province, None, f"{name}: {problem}")
        for problem in signature_problems(anchor, trusted_keys)
    )
    for head in anchor.heads if only is None else only:
        links = chains.get(head.fund)
        if not links:
            add(head.fund, head.version, f"{head.fund} had {head.version} events; none is left")
            continue
        by_version = {link.version: link for link in links}
        last = max(by_version)
        link = by_version.get(head.version)
        if link is None:
            add(
                head.fund,
                head.version,
                f"{head.fund} ends at version {last} but had reached version {head.version}: "
                "events were removed from its tail",
            )
            continue
        stored = getattr(link.event, "chain_hash", None)
        if stored != head.hash:
            add(
                head.fund,
                head.version,
                f"{head.fund} version {head.version} has hash {stored} but {head.hash} was "
                "recorded: its history was rewritten up to there",
            )
            continue
        if head.totals is not None and totals_of is not None:
            now = totals_of.get(head.fund)
            if now is not None and dict(now) != dict(head.totals):
                add(
                    head.fund,
                    head.version,
                    f"{head.fund} totals {dict(now)} on replay but {dict(head.totals)} sealed",
                )
    return found


def signature_problems(anchor: Anchor, trusted_keys: Mapping[str, bytes]) -> list[str]:
    """What is wrong with the anchor's signature, given the keys an auditor trusts."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if anchor.signature is None or anchor.key_id is None:
        return ["it is not signed"] if trusted_keys else []
    key = trusted_keys.get(anchor.key_id)
    if key is None:
        if not trusted_keys:
            return []
        return [f"it is signed with key {anchor.key_id}, which is not trusted"]
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(
            bytes.fromhex(anchor.signature), anchor.digest.encode()
        )
    except (InvalidSignature, ValueError):
        return [f"its signature does not verify with key {anchor.key_id}"]
    return []


def key_id_of(public_key: bytes) -> str:
    """A public key's id: ``ed25519:`` and the first 16 hex digits of its SHA-256."""
    return "ed25519:" + hashlib.sha256(public_key).hexdigest()[:16]


# --------------------------------------------------------------------------- aggregates


def _recorded_fields(anchor: Anchor, author: Author | None) -> dict[str, Any]:
    """The fields of a ``Recorded`` event of one anchor, with who recorded it."""
    return {
        "province": anchor.province,
        "taken_at": anchor.taken_at,
        "heads": [h.to_record() for h in anchor.heads],
        "digest": anchor.digest,
        "signature": anchor.signature,
        "key_id": anchor.key_id,
        "recorded_by": None if author is None else author.recorded_by,
        "request_id": None if author is None else author.request_id,
    }


class _Anchored(Aggregate):
    """What seals and checkpoints share: an event recording one anchor."""

    class Event(Aggregate.Event):
        TOPIC: ClassVar[str]
        province: str
        recorded_by: str | None
        request_id: str | None

    class Recorded(Event):
        taken_at: str
        heads: list[dict[str, Any]]
        digest: str
        signature: str | None
        key_id: str | None

        def apply(self, aggregate: Any) -> None:
            aggregate.recorded = [*aggregate.recorded, self.digest]

    def __init__(
        self, province: str, recorded_by: str | None = None, request_id: str | None = None
    ) -> None:
        self.province = province
        self.recorded: list[str] = []

    def record(self, anchor: Anchor, author: Author | None) -> None:
        """Record one anchor (its digest and signature are computed by the caller)."""
        self.trigger_event(self.Recorded, **_recorded_fields(anchor, author))


class Seal(_Anchored, created_event_name="Created"):
    """The seals of one province's year: each ``Recorded`` event is one seal."""

    TOPIC = "fundledger:Seal"

    class Created(Aggregate.Created):
        TOPIC = "fundledger:Seal.Created"
        province: str
        year: int

    class Recorded(_Anchored.Recorded):
        TOPIC = "fundledger:Seal.Recorded"
        year: int

    def __init__(
        self,
        province: str,
        year: int,
        recorded_by: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(province, recorded_by, request_id)
        self.year = year

    @classmethod
    def create_id(cls, province: str, year: int) -> uuid.UUID:
        return seal_id(province, year)

    def record(self, anchor: Anchor, author: Author | None) -> None:
        self.trigger_event(self.Recorded, year=self.year, **_recorded_fields(anchor, author))


class Checkpoint(_Anchored, created_event_name="Created"):
    """The checkpoints of one province's chain heads: each ``Recorded`` event is one."""

    TOPIC = "fundledger:Checkpoint"

    class Created(Aggregate.Created):
        TOPIC = "fundledger:Checkpoint.Created"
        province: str

    class Recorded(_Anchored.Recorded):
        TOPIC = "fundledger:Checkpoint.Recorded"

    @classmethod
    def create_id(cls, province: str) -> uuid.UUID:
        return checkpoint_id(province)


def anchor_of(event: Any) -> Anchor | None:
    """The anchor a ``Seal.Recorded`` or ``Checkpoint.Recorded`` event records (else None)."""
    if isinstance(event, Seal.Recorded):
        kind, year = "seal", event.year
    elif isinstance(event, Checkpoint.Recorded):
        kind, year = "checkpoint", None
    else:
        return None
    return Anchor(
        kind=kind,
        province=event.province,
        year=year,
        taken_at=event.taken_at,
        heads=tuple(Head.from_record(h) for h in event.heads),
        digest=event.digest,
        signature=event.signature,
        key_id=event.key_id,
        recorded_by=event.recorded_by,
    )
