"""The auditor's archive: one province's ledger as of an export, checked with no database.

``fundledger audit export --province P --year Y --output FILE`` writes a ZIP file:

- ``events.jsonl``: every stored event of the province's ledger (funds, budgets, clearing
  inputs, settlements, seals, checkpoints), one JSON object a line: ``originator_id``,
  ``originator_version``, ``topic`` and ``state``, the stored bytes in base64;
- ``vouchers.jsonl``: the voucher of every posting;
- ``heads.json``: every fund's chain head at the export; ``anchors.json``: every seal and
  checkpoint with its signature;
- ``statements/<fund>.json``: each fund's statement of the year, folded from the raw events,
  in canonical JSON;
- ``settlements/<province>-<year>.json``: the year's settlement as recorded (every field of
  its events folded in order, the policy it ran on included), in canonical JSON;
- ``manifest.json``: the SHA-256 of every other file, signed with the signing key if one is
  configured.

:func:`verify_archive` loads the events into an in-memory ledger, runs every check of
``audit verify`` on it, compares each file with its hash and each statement and settlement
document with what the events give now, byte for byte.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zipfile
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import orjson
from eventsourcing.persistence import StoredEvent

from domain.audit import ChainLink, paused_gc
from domain.chain import canonical_bytes
from domain.errors import InvalidInput
from domain.fund import Fund
from domain.ledger_service import Ledger
from domain.seal import key_id_of
from domain.seal_keys import Signer
from domain.settlement import settlement_id
from domain.vouchers import Voucher
from projections.audit import (
    AuditReport,
    Finding,
    chain_heads,
    province_chains,
    province_funds,
    recorded_anchors,
)
from projections.decode import utc_text
from projections.statement import Statement, fold_statement

FORMAT = "fundledger-audit-archive/1"
LIBRARY_FIELDS = ("originator_id", "originator_version", "timestamp", "originator_topic")
COMPRESS_LEVEL = 1
"""zlib's level for the archive's files: its fastest. A 1,000,000-event archive's events file
(774 MB) takes 4.5 s and 149 MB at this level, 11.2 s and 137 MB at zlib's default 6
(docs/audit.md, "Figures"); reading it back takes the same 2 s either way."""


def _all_events(ledger: Ledger, province: str) -> list[StoredEvent]:
    recorder = ledger.province(province).recorder
    found: list[StoredEvent] = []
    start = 1
    while True:
        page = recorder.select_notifications(start, 5000)
        found.extend(page)
        if len(page) < 5000:
            return found
        start = page[-1].id + 1


def _event_line(stored: StoredEvent) -> bytes:
    return orjson.dumps(
        {
            "originator_id": str(stored.originator_id),
            "originator_version": stored.originator_version,
            "topic": stored.topic,
            "state": base64.b64encode(stored.state).decode(),
        }
    )


def statement_documents(
    ledger: Ledger,
    province: str,
    year: int,
    chains: Mapping[str, Sequence[ChainLink]] | None = None,
    replayed: Mapping[str, Mapping[int, Statement]] | None = None,
) -> dict[str, bytes]:
    """Each fund's statement of ``year`` from its raw events, in canonical JSON. ``chains``:
    the province's chains when already walked; ``replayed``: statements an audit's walk
    already folded from those events (by fund, then year), taken as they are. A fund found
    in neither has its chain walked here (all of them when ``chains`` is None)."""
    replayed = replayed or {}
    funds = province_funds(ledger, province)
    left = [f for f in funds if year not in replayed.get(str(f), {})]
    if chains is None and left:
        chains = ledger.chains(province, left)
    documents: dict[str, bytes] = {}
    for fund in funds:
        statement = replayed.get(str(fund), {}).get(year)
        if statement is None:
            links = (chains or {}).get(str(fund), ())
            events = [link.event for link in links if link.event is not None]
            statement = fold_statement(str(fund), year, events)
        documents[str(fund)] = canonical_bytes(statement.to_json())
    return documents


def settlement_document(ledger: Ledger, province: str, year: int) -> bytes | None:
    """The year's settlement as recorded: every field of its events, folded in order."""
    app = ledger.province(province)
    stored = app.recorder.select_events(settlement_id(province, year))
    if not stored:
        return None
    folded: dict[str, Any] = {}
    for each in stored:
        event: Any = app.mapper.to_domain_event(each)
        folded["version"] = event.originator_version
        folded["recorded_at"] = utc_text(event.timestamp)
        folded.update({k: v for k, v in vars(event).items() if k not in LIBRARY_FIELDS})
    return canonical_bytes(folded)


def write_archive(
    ledger: Ledger, province: str, year: int, output: Path, signer: Signer | None
) -> dict[str, Any]:
    """Write the archive of a province's year; answers its manifest."""
    with paused_gc():  # the chains hold an object per event (domain.audit)
        return _write_archive(ledger, province, year, output, signer)


def _write_archive(
    ledger: Ledger, province: str, year: int, output: Path, signer: Signer | None
) -> dict[str, Any]:
    files: dict[str, bytes] = {}
    stored = _all_events(ledger, province)
    files["events.jsonl"] = b"".join(_event_line(s) + b"\n" for s in stored)
    app = ledger.province(province)
    chains = province_chains(ledger, province)  # walked once for every file below
    vouchers: list[bytes] = []
    for fund in province_funds(ledger, province):
        references = [
            link.event.reference
            for link in chains.get(str(fund), ())
            if isinstance(link.event, Fund.Posted | Fund.PostingReversed)
        ]
        for voucher in app.vouchers.select_vouchers(str(fund), references).values():
            vouchers.append(orjson.dumps(voucher) + b"\n")  # a dataclass: its fields in order
    files["vouchers.jsonl"] = b"".join(vouchers)
    files["heads.json"] = canonical_bytes(
        {"heads": [h.to_record() for h in chain_heads(ledger, province, None, chains)]}
    )
    files["anchors.json"] = canonical_bytes(
        {"anchors": [a.to_record() for a in recorded_anchors(ledger, province)]}
    )
    for name, document in statement_documents(ledger, province, year, chains).items():
        files[f"statements/{name.replace(':', '_')}.json"] = document
    settlement = settlement_document(ledger, province, year)
    if settlement is not None:
        files[f"settlements/{province}-{year}.json"] = settlement
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "province": province,
        "year": year,
        "exported_at": utc_text(datetime.now(UTC)),
        "events": len(stored),
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    digest = hashlib.sha256(canonical_bytes(manifest)).hexdigest()
    manifest["digest"] = digest
    manifest["signature"] = None if signer is None else signer.sign(digest)
    manifest["key_id"] = None if signer is None else signer.key_id
    try:
        with zipfile.ZipFile(
            output, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL
        ) as archive:
            archive.writestr("manifest.json", orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
            for name, data in sorted(files.items()):
                archive.writestr(name, data)
    except OSError as error:
        raise InvalidInput(f"cannot write {output}: {error.strerror}", field="output") from None
    return manifest


def verify_archive(
    path: Path, trusted_keys: Mapping[str, bytes] | None = None
) -> tuple[dict[str, Any], AuditReport]:
    """Every check of ``audit verify`` on an archive, with no database: its manifest and
    hashes, its chains against its seals and checkpoints, every statement and the settlement
    reproduced byte for byte from its events."""
    with paused_gc():  # the in-memory ledger and its chains hold an object per event
        return _verify_archive(path, trusted_keys)


def _verify_archive(
    path: Path, trusted_keys: Mapping[str, bytes] | None
) -> tuple[dict[str, Any], AuditReport]:
    from api.bootstrap import bootstrap_app
    from api.settings import Settings
    from domain.seal import signature_problems

    files, manifest = _read(path)
    province, year = str(manifest["province"]), int(manifest["year"])
    found: list[Finding] = []

    def add(detail: str, fund: str = province) -> None:
        found.append(Finding("archive", fund, None, detail, f"{path.name}: {detail}"))

    body = {k: v for k, v in manifest.items() if k not in ("digest", "signature", "key_id")}
    digest = hashlib.sha256(canonical_bytes(body)).hexdigest()
    if digest != manifest.get("digest"):
        add("the manifest's digest does not match its content: it was edited")
    from domain.seal import Anchor

    as_anchor = Anchor(
        "manifest",
        province,
        year,
        "",
        (),
        digest,
        manifest.get("signature"),
        manifest.get("key_id"),
    )
    for problem in signature_problems(as_anchor, trusted_keys or {}):
        add(f"the manifest: {problem}")
    for name, expected in manifest["files"].items():
        data = files.get(name)
        if data is None:
            add(f"{name} is listed in the manifest but missing")
        elif hashlib.sha256(data).hexdigest() != expected:
            add(f"{name} does not match its hash in the manifest")
    for name in sorted(set(files) - set(manifest["files"]) - {"manifest.json"}):
        add(f"{name} is not listed in the manifest")

    app = bootstrap_app(Settings(database_url="memory://"))
    try:
        app.ledger.init([province])
        app.read_models.create_tables()
        ids: dict[str, UUID] = {}
        stored = _lines(files, "events.jsonl", "stored event", lambda line: _stored(line, ids), add)
        vouchers = _lines(
            files, "vouchers.jsonl", "voucher", lambda line: Voucher(**orjson.loads(line)), add
        )
        stored = _once(
            stored,
            lambda e: (e.originator_id, e.originator_version),
            lambda k: f"the event of {k[0]} version {k[1]}",
            "events.jsonl",
            add,
        )
        vouchers = _once(
            vouchers,
            lambda v: (v.fund, v.reference),
            lambda k: f"the voucher of {k[0]} {k[1]}",
            "vouchers.jsonl",
            add,
        )
        app.ledger.province(province).recorder.insert_events(stored, vouchers=vouchers)
        replayed: dict[str, dict[int, Statement]] = {}
        report = _replayed_audit(app, province, len(stored), trusted_keys, add, replayed=replayed)
        now = statement_documents(app.ledger, province, year, replayed=replayed)
        for name, data in files.items():
            if name.startswith("statements/"):
                fund = name.removeprefix("statements/").removesuffix(".json").replace("_", ":", 1)
                if now.get(fund) != data:
                    add(f"the {year} statement of {fund} is not what its events give", fund)
        for fund in sorted(set(now) - {n[11:-5].replace("_", ":", 1) for n in files}):
            add(f"{fund} has events but no statement in the archive", fund)
        settlement = settlement_document(app.ledger, province, year)
        archived = files.get(f"settlements/{province}-{year}.json")
        if settlement != archived:
            add(f"the {year} settlement is not what its events give")
    finally:
        app.close()
    merged = AuditReport(
        report.funds,
        report.events,
        report.statements,
        (*found, *report.findings),
        report.anchors,
    )
    return manifest, merged


def _replayed_audit(
    app: Any,
    province: str,
    events: int,
    trusted_keys: Mapping[str, bytes] | None,
    add: Callable[[str], None],
    *,
    replayed: dict[str, dict[int, Statement]],
) -> AuditReport:
    """``audit verify``'s checks on the archive's events loaded into ``app`` (``replayed``
    filled with the statements its walk folded, :func:`projections.audit.audit`).

    An edited events file can name a fund the replay never opened (an edited topic): the
    archive is then reported as not replaying, not answered with a traceback.
    """
    from api.usecases.audit import with_settlements
    from projections.audit import audit

    try:
        report = audit(
            app.ledger,
            app.read_models,
            provinces=[province],
            trusted_keys=trusted_keys,
            replayed=replayed,
        )
        return with_settlements(
            app.ledger, app.read_models, report, provinces=[province], fund=None, year=None
        )
    except (KeyError, ValueError, TypeError, AttributeError) as error:
        add(f"events.jsonl does not replay ({type(error).__name__}: {error})")
        return AuditReport(0, events, 0, ())


def _read(path: Path) -> tuple[dict[str, bytes], dict[str, Any]]:
    try:
        with zipfile.ZipFile(path) as archive:
            files = {name: archive.read(name) for name in archive.namelist()}
    except (OSError, zipfile.BadZipFile) as error:
        raise InvalidInput(f"{path}: not an audit archive ({error})", field="archive") from None
    try:
        manifest = orjson.loads(files["manifest.json"])
    except (KeyError, orjson.JSONDecodeError):
        raise InvalidInput(f"{path}: no readable manifest.json", field="archive") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InvalidInput(f"{path}: not a {FORMAT} archive", field="archive")
    listed = manifest.get("files")
    if not (
        isinstance(manifest.get("province"), str)
        and type(manifest.get("year")) is int
        and isinstance(listed, dict)
        and all(isinstance(v, str) for v in listed.values())
    ):
        raise InvalidInput(
            f"{path}: manifest.json does not give the archive's province, year and files' "
            "hashes: nothing in it can be checked",
            field="archive",
        )
    return files, manifest


def _stored(line: bytes, ids: dict[str, UUID]) -> StoredEvent:
    """One line of ``events.jsonl`` (``ids``: the funds' ids parsed so far, by their text)."""
    record = orjson.loads(line)
    text = record["originator_id"]
    originator_id = ids.get(text) if isinstance(text, str) else None
    if originator_id is None:
        originator_id = ids[text] = UUID(text)
    return StoredEvent(
        originator_id=originator_id,
        originator_version=int(record["originator_version"]),
        topic=str(record["topic"]),
        state=binascii.a2b_base64(record["state"], strict_mode=True),
    )


ParsedT = TypeVar("ParsedT")

UNPARSED = (ValueError, KeyError, TypeError, AttributeError)
"""What parsing an edited line can raise (orjson's and base64's errors are ValueErrors)."""


def _lines(
    files: Mapping[str, bytes],
    name: str,
    what: str,
    parse: Callable[[bytes], ParsedT],
    add: Callable[[str], None],
) -> list[ParsedT]:
    """Each line of the archive's file ``name`` parsed; a line that does not parse is left out
    and reported by its number (an edited archive is a finding, not a traceback)."""
    parsed: list[ParsedT] = []
    for number, line in enumerate(files.get(name, b"").split(b"\n"), start=1):
        if not line:
            continue
        try:
            parsed.append(parse(line))
        except UNPARSED as error:
            add(f"{name} line {number} is not a {what} ({type(error).__name__}: {error})")
    return parsed


def _once(
    items: list[ParsedT],
    key: Callable[[ParsedT], tuple[Any, Any]],
    describe: Callable[[tuple[Any, Any]], str],
    name: str,
    add: Callable[[str], None],
) -> list[ParsedT]:
    """``items`` without a repeat of a ``key`` seen before (the first is kept, each repeat
    reported as ``describe`` tells its key; a key is a plain tuple, text is made only for a
    repeat): a store never holds two events of one version, nor two vouchers of one
    reference, so an archive that does was edited."""
    seen: set[tuple[Any, Any]] = set()
    kept: list[ParsedT] = []
    for item in items:
        known = key(item)
        if known in seen:
            add(f"{name} holds {describe(known)} more than once: the first is kept")
            continue
        seen.add(known)
        kept.append(item)
    return kept


def public_key_id(public_key: bytes) -> str:
    """The id of a raw public key (as in seals and manifests)."""
    return key_id_of(public_key)
