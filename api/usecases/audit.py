"""The auditor's toolkit, for the CLI and the HTTP API alike (docs/contract.md, "Auditors").

- :func:`verify`: every fund's hash chain, against the province's seals and checkpoints; every
  statement, close and enrolment record of the read models against a replay of the raw events;
  every reference once per chain and every reversal naming a real posting. Verifying reads the
  event histories (``READ_HISTORY``): auditors and the provincial office, each within its
  region. Without a province or fund the check covers the caller's whole region: every province
  for the operator and an auditor of ``000000``, the caller's own province otherwise.
- :func:`seal`: records the seal of a province's year (the provincial office, ``CLEAR``);
  closing a year seals it too (:func:`seal_after_close`).
- :func:`checkpoint`: records a checkpoint of the province's chain heads, when ``every``
  events were recorded since the last one or the last is of an earlier day (``CLEAR``).
- :func:`keys`: the public key that seals are signed with, to hand to auditors
  (``READ_HISTORY``).
- :func:`replay`: a fund's statement from its raw events alone, beside the read models'.
- :func:`export` and :func:`verify_archive`: an archive of a province's year, checked offline.

Seals and checkpoints are signed with the key of ``FUNDLEDGER_SIGNING_KEY_FILE`` (or
``FUNDLEDGER_SIGNING_KEY``), never kept in the store (:mod:`domain.seal_keys`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from api.bootstrap import App
from api.usecases.audit_processes import helper_processes, processes_for
from clearing.audit_checks import settlement_findings
from clearing.pool_inputs import check_province
from domain.access import EVERY_PROVINCE, Action, Principal, authorize
from domain.anchors import province_anchors
from domain.authorship import Author
from domain.errors import FundNotRegistered, InvalidInput
from domain.funds import FundId
from domain.ledger_service import Ledger
from domain.regions import province_of
from domain.seal import Anchor, Checkpoint, Seal, anchor_digest, checkpoint_id, seal_id
from domain.seal_keys import Signer, public_pem, signer_from_env
from domain.today import china_today
from projections.audit import (
    AuditReport,
    audit,
    chain_heads,
    recorded_anchors,
    statement_differences,
    year_totals,
)
from projections.decode import utc_text
from projections.service import ReadModels
from projections.statement import fold_statement

CHECKPOINT_EVERY = 10_000
"""Events between two checkpoints when ``audit checkpoint --every`` is not given."""


def verify(
    app: App,
    who: Principal,
    *,
    province: str | None = None,
    fund: FundId | None = None,
    year: int | None = None,
    trusted_keys: Mapping[str, bytes] | None = None,
    progress: Callable[[int, int], None] | None = None,
    processes: int | None = None,
) -> AuditReport:
    """Every check of every fund in scope; the report says ``ok`` and lists each finding.

    ``trusted_keys`` (key id to raw public key): the keys a seal or checkpoint must be signed
    with; None trusts the configured signing key's public half, if there is one.
    ``processes``: how many processes check the funds (None: chosen by
    :func:`api.usecases.audit_processes.processes_for`).
    """
    provinces = _provinces(who, province, fund)
    if trusted_keys is None:
        signer = signer_from_env(os.environ)
        trusted_keys = {} if signer is None else {signer.key_id: signer.public_key}
    count = (
        1
        if fund is not None
        else processes_for(app.settings, app.read_models, provinces, processes)
    )
    with helper_processes(app.settings, count) as helper:
        report = audit(
            app.ledger,
            app.read_models,
            provinces=provinces,
            fund=fund,
            year=year,
            trusted_keys=trusted_keys,
            progress=progress,
            helper=helper,
        )
    return with_settlements(
        app.ledger, app.read_models, report, provinces=provinces, fund=fund, year=year
    )


def with_settlements(
    ledger: Ledger,
    read_models: ReadModels,
    report: AuditReport,
    *,
    provinces: list[str] | None,
    fund: FundId | None,
    year: int | None,
) -> AuditReport:
    """The report with the settlements' re-run added (:mod:`clearing.audit_checks`): every
    settlement of the provinces checked (all with events), unless one fund is asked for."""
    if fund is not None:
        return report
    known = sorted({s.province for s in read_models.status() if s.head})
    chosen = [p for p in known if provinces is None or p in provinces]
    found = settlement_findings(ledger, read_models, chosen, year)
    return replace(report, findings=(*report.findings, *found))


def _provinces(who: Principal, province: str | None, fund: FundId | None) -> list[str] | None:
    """The provinces to check (None: every one), once the caller is allowed to check them."""
    if fund is not None:
        if province is not None and fund.province != province:
            raise InvalidInput(f"{fund} is not a fund of province {province}", field="fund")
        authorize(who, Action.READ_HISTORY, fund.region)
        return [fund.province]
    if province is not None:
        check_province(province)
        authorize(who, Action.READ_HISTORY, province)
        return [province]
    if who.is_operator or who.region == EVERY_PROVINCE:
        authorize(who, Action.READ_HISTORY, EVERY_PROVINCE)
        return None
    authorize(who, Action.READ_HISTORY, who.region)
    return [province_of(who.region)]


def report_json(report: AuditReport) -> dict[str, Any]:
    """The contract's ``{ok, checked, findings}`` document."""
    return {
        "ok": report.ok,
        "checked": {
            "funds": report.funds,
            "events": report.events,
            "statements": report.statements,
            "anchors": report.anchors,
        },
        "findings": [f.to_json() for f in report.findings],
    }


# --------------------------------------------------------------------------- seals


def seal(app: App, who: Principal, province: str, year: int) -> dict[str, Any]:
    """Record the seal of a province's year: every fund's chain head and totals, signed."""
    check_province(province)
    _check_year(year)
    authorize(who, Action.CLEAR, province)
    return anchor_json(_record_seal(app, province, year, who.author))


def seal_after_close(app: App, fund: FundId, year: int, author: Author | None) -> Anchor:
    """The seal that closing a fund's year records for its province (no further access check:
    the close was authorised)."""
    return _record_seal(app, fund.province, year, author)


def _record_seal(app: App, province: str, year: int, author: Author | None) -> Anchor:
    anchor = _anchor("seal", app, province, year, author)
    ledger = app.ledger.province(province)
    found: Seal
    try:
        found = ledger.repository.get(seal_id(province, year))
    except AggregateNotFoundError:  # the year's first seal
        found = Seal(province, year)
    found.record(anchor, author)
    ledger.save(found)
    return anchor


def checkpoint(
    app: App, who: Principal, province: str, *, every: int | None = None
) -> dict[str, Any] | None:
    """Record a checkpoint of the province's chain heads, if one is due.

    With ``every``, one is due when at least that many fund events were recorded since the
    last checkpoint, or the last one was taken on an earlier (UTC) day; without, always.
    Returns the checkpoint recorded, or None when none was due.
    """
    check_province(province)
    authorize(who, Action.CLEAR, province)
    if every is not None and every < 1:
        raise InvalidInput("every is at least 1 event", field="every")
    anchor = _anchor("checkpoint", app, province, None, who.author)
    previous = [a for a in recorded_anchors(app.ledger, province) if a.kind == "checkpoint"]
    if every is not None and previous:
        last = previous[-1]
        moved = sum(h.version for h in anchor.heads) - sum(h.version for h in last.heads)
        if moved < every and last.taken_at[:10] == anchor.taken_at[:10]:
            return None
    ledger = app.ledger.province(province)
    found: Checkpoint
    try:
        found = ledger.repository.get(checkpoint_id(province))
    except AggregateNotFoundError:  # the province's first checkpoint
        found = Checkpoint(province)
    found.record(anchor, who.author)
    ledger.save(found)
    return anchor_json(anchor)


def _anchor(kind: str, app: App, province: str, year: int | None, author: Author | None) -> Anchor:
    heads = tuple(chain_heads(app.ledger, province, year))
    taken_at = utc_text(datetime.now(UTC))
    digest = anchor_digest(kind, province, year, taken_at, heads)
    signer = signer_from_env(os.environ)
    signature = None if signer is None else signer.sign(digest)
    key_id = None if signer is None else signer.key_id
    by = None if author is None else author.recorded_by
    return Anchor(kind, province, year, taken_at, heads, digest, signature, key_id, by)


def anchor_json(anchor: Anchor) -> dict[str, Any]:
    """A seal or checkpoint as JSON (totals in fen, as recorded)."""
    return anchor.to_record()


def anchors(app: App, who: Principal, province: str) -> list[dict[str, Any]]:
    """Every seal and checkpoint recorded in a province, oldest first."""
    check_province(province)
    authorize(who, Action.READ_HISTORY, province)
    ledger = app.ledger.province(province)
    return [anchor_json(a) for a in province_anchors(ledger, province)]


def keys(app: App, who: Principal) -> list[dict[str, str]]:
    """The public keys that seals and checkpoints are signed with: ``{key_id, public_key}``
    (PEM), to hand to auditors; empty when no signing key is configured (auditors and the
    provincial office)."""
    authorize(who, Action.READ_HISTORY, who.region)
    signer: Signer | None = signer_from_env(os.environ)
    if signer is None:
        return []
    return [{"key_id": signer.key_id, "public_key": public_pem(signer.public_key)}]


# --------------------------------------------------------------------------- replay


def replay(
    app: App, who: Principal, fund: FundId, as_of: str | None, year: int | None = None
) -> dict[str, Any]:
    """A fund's statement of ``year`` folded from its raw events recorded up to ``as_of``
    (ISO 8601 with an offset; None: everything), beside what the read models answer.

    ``{fund, year, as_of, events, version, replayed, read_models, differences}``:
    ``differences`` lists each figure (``income.subsidy``) that is not the same in both;
    ``read_models`` is None when they knew no such fund at that time.
    Without ``year``: the latest year with a value date among those events, else the fund's
    first year, else (no event recorded by then) this year in China.
    """
    from api.usecases.read_models import parse_as_of

    authorize(who, Action.READ_HISTORY, fund.region)
    cutoff = parse_as_of(as_of)
    links = app.ledger.chain(fund)
    events = [
        link.event
        for link in links
        if link.event is not None and (cutoff is None or utc_text(link.event.timestamp) <= cutoff)
    ]
    if year is None:
        dated = [int(e.value_date[:4]) for e in events if hasattr(e, "value_date")]
        first = getattr(events[0], "first_year", None) if events else None
        year = max(dated) if dated else first if isinstance(first, int) else china_today().year
    _check_year(year)
    replayed = fold_statement(str(fund), year, events).to_json()
    app.read_models.fresh(provinces=(fund.province,))
    try:
        projected: dict[str, Any] | None = app.read_models.statement(
            fund,
            year,
            as_of=cutoff,
            from_postings=True,  # the postings, as audit verify
        ).to_json()
    except FundNotRegistered:  # the read models knew no such fund at that time
        projected = None
    differences = [
        {"figure": key, "replayed": seen, "read_models": other}
        for key, (other, seen) in statement_differences(projected or {}, replayed).items()
        if projected is not None or events
    ]
    return {
        "fund": str(fund),
        "year": year,
        "as_of": cutoff,
        "events": len(events),
        "version": events[-1].originator_version if events else 0,
        "totals": year_totals(str(fund), year, events),
        "replayed": replayed,
        "read_models": projected,
        "differences": differences,
    }


def _check_year(year: int) -> None:
    if not 1998 <= year <= 2100:
        raise InvalidInput(f"{year} is not a fiscal year from 1998 to 2100", field="year")


# --------------------------------------------------------------------------- archives


def export(app: App, who: Principal, province: str, year: int, output: Path) -> dict[str, Any]:
    """Write the self-contained archive of a province's year (:mod:`api.archive`) to
    ``output``; answers its manifest (auditors and the provincial office)."""
    from api.archive import write_archive

    check_province(province)
    _check_year(year)
    authorize(who, Action.READ_HISTORY, province)
    return write_archive(app.ledger, province, year, output, signer_from_env(os.environ))


def verify_archive(
    path: Path, trusted_keys: Mapping[str, bytes] | None = None
) -> tuple[dict[str, Any], AuditReport]:
    """Every check on an archive, with no database: ``(manifest, report)``. Needs no access
    check: it reads only the file it is given."""
    from api.archive import verify_archive as check

    return check(path, trusted_keys)
