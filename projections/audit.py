"""The auditor's check: every fund's hash chain, and every projection against a replay.

A pure walk that returns findings (it does not stop at the first), so one run reports every
problem. For each fund (opened in the event log, or known to the read models) and each year of
its books, the replay folds the fund's stored events (``fold_statement``) and compares with the
read models: the restated statement and its restatements; for a closed year, the close's
recorded time and the as-closed statement (a fold of what was recorded up to the close); and
the enrolment on record per county and year.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from domain.fund import Fund
from domain.funds import FundId
from domain.ledger_service import Ledger
from projections.decode import utc_text
from projections.service import ReadModels
from projections.statement import fold_statement
from projections.subsidies import enrolment_records

COMPARED = (
    "opening_balance",
    "opening_balance_transfers",
    "income",
    "expense",
    "current_surplus",
    "closing_balance",
)
MAX_FUNDS = 100_000


@dataclass(frozen=True)
class Finding:
    """One difference the audit found: which check, on which fund (and event version)."""

    check: str
    """``chain``, ``opening``, ``statement``, ``restatements``, ``close``, ``as_closed`` or
    ``enrolment``."""
    fund: str
    version: int | None
    detail: str
    text: str
    """The finding as one line for a terminal."""

    def __str__(self) -> str:
        return self.text

    def to_json(self) -> dict[str, object]:
        return {
            "check": self.check,
            "fund": self.fund,
            "version": self.version,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class AuditReport:
    """What the audit saw and found."""

    funds: int
    events: int
    statements: int
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not self.findings


def _differences(
    projected: dict[str, object], replayed: dict[str, object]
) -> dict[str, tuple[object, object]]:
    """Each compared figure (``income.subsidy`` for nested ones) that differs."""
    found: dict[str, tuple[object, object]] = {}
    for key in COMPARED:
        seen, expected = projected[key], replayed[key]
        if isinstance(seen, dict) and isinstance(expected, dict):
            for sub in sorted(set(seen) | set(expected)):
                if seen.get(sub) != expected.get(sub):
                    found[f"{key}.{sub}"] = (seen.get(sub), expected.get(sub))
        elif seen != expected:
            found[key] = (seen, expected)
    return found


def registered_funds(ledger: Ledger, read_models: ReadModels, provinces: list[str]) -> list[FundId]:
    """Every fund opened in these provinces, read from the event log itself, and every fund
    the read models know (so that a fund whose opening was removed is still checked)."""
    funds: set[str] = set()
    for province in provinces:
        recorder = ledger.province(province).recorder
        opened = recorder.select_notifications(1, MAX_FUNDS, topics=[Fund.Opened.TOPIC])
        funds.update(orjson.loads(n.state)["fund"] for n in opened)
        db = read_models.for_province(province).db
        funds.update(str(row[0]) for row in db.query("SELECT fund FROM fl_funds"))
    return [FundId.parse(f) for f in sorted(funds)]


def _replayed_enrolment(events: list[object]) -> dict[tuple[int, str], int]:
    found: dict[tuple[int, str], int] = {}
    for event in events:
        if isinstance(event, Fund.EnrolmentRecorded):
            found[(event.year, event.county)] = event.enrolled
    return found


def _restatements(fund: str, year: int, events: list[object]) -> int:
    """The signed effect on the balance of the year's postings recorded as restatements."""
    restated = [e for e in events if getattr(e, "restatement", False)]
    return fold_statement(fund, year, restated).current_surplus_fen


def audit(
    ledger: Ledger,
    read_models: ReadModels,
    *,
    provinces: list[str] | None = None,
    fund: FundId | None = None,
    year: int | None = None,
) -> AuditReport:
    """Check every chain and every projection of every year of every fund.

    ``provinces``, ``fund`` and ``year`` narrow what is checked (an auditor of one province,
    one fund, one year); a fund's chain is always checked whole, since a year's figures rest
    on every event before them.
    """
    read_models.catch_up()
    known = sorted({s.province for s in read_models.status() if s.head})
    chosen = [p for p in known if provinces is None or p in provinces]
    findings: list[Finding] = []
    events = statements = 0
    funds = [f for f in registered_funds(ledger, read_models, chosen) if fund in (None, f)]
    for each in funds:
        links = ledger.chain(each)
        events += len(links)
        for link in links:
            findings.extend(
                Finding("chain", str(each), link.version, f, f"{each} version {link.version}: {f}")
                for f in link.findings
            )
        decoded: list[object] = [link.event for link in links if link.event is not None]
        opened = decoded[0] if decoded and isinstance(decoded[0], Fund.Opened) else None
        if opened is None:
            detail = "its first event is not the fund's opening"
            findings.append(Finding("opening", str(each), None, detail, f"{each}: {detail}"))
            continue
        years = {int(e.value_date[:4]) for e in decoded if hasattr(e, "value_date")}
        closes = {e.year: utc_text(e.timestamp) for e in decoded if isinstance(e, Fund.YearClosed)}
        for each_year in range(
            opened.first_year, max(years | set(closes) | {opened.first_year}) + 1
        ):
            if year is not None and each_year != year:
                continue
            statements += 1
            findings.extend(
                _check_year(read_models, each, each_year, decoded, closes.get(each_year))
            )
        findings.extend(_check_enrolment(read_models, each, decoded, year))
    return AuditReport(len(funds), events, statements, tuple(findings))


def _check_enrolment(
    read_models: ReadModels, fund: FundId, decoded: list[object], year: int | None
) -> list[Finding]:
    """The enrolment on record per county and year, in the read model against a replay."""
    db = read_models.for_province(fund.province).db
    projected = {(y, c): n for (_, y, c), n in enrolment_records(db, fund=str(fund)).items()}
    replayed = _replayed_enrolment(decoded)
    found: list[Finding] = []
    for each_year, county in sorted(set(projected) | set(replayed)):
        if year is not None and each_year != year:
            continue
        seen, expected = projected.get((each_year, county)), replayed.get((each_year, county))
        if seen != expected:
            detail = (
                f"{each_year}: enrolment of {county} is {seen} in the read model but "
                f"{expected} on replay"
            )
            found.append(Finding("enrolment", str(fund), None, detail, f"{fund} {detail}"))
    return found


def _check_year(
    read_models: ReadModels, fund: FundId, year: int, events: list[object], closed_at: str | None
) -> list[Finding]:
    """The findings of one fund's year: restated view, restatements, close, as-closed view."""
    name = str(fund)
    found: list[Finding] = []

    def add(check: str, detail: str) -> None:
        found.append(Finding(check, name, None, f"{year}: {detail}", f"{fund} {year}: {detail}"))

    statement = read_models.statement(fund, year)
    for key, (seen, expected) in _differences(
        statement.to_json(), fold_statement(name, year, events).to_json()
    ).items():
        add("statement", f"{key} is {seen} in the read model but {expected} on replay")
    restated = _restatements(name, year, events)
    if statement.restatements_fen != restated:
        add(
            "restatements",
            f"restatements are {statement.restatements_fen} fen in the read model but "
            f"{restated} fen on replay",
        )
    if statement.closed_at != closed_at:
        add("close", f"closed at {statement.closed_at} in the read model but {closed_at} on replay")
    if closed_at is None or statement.closed_at is None:
        return found
    as_closed = read_models.statement(fund, year, view="as_closed").to_json()
    known = [e for e in events if utc_text(e.timestamp) <= closed_at]  # type: ignore[attr-defined]
    for key, (seen, expected) in _differences(
        as_closed, fold_statement(name, year, known).to_json()
    ).items():
        detail = f"as closed: {key} is {seen} in the read model but {expected} on replay"
        found.append(
            Finding("as_closed", name, None, f"{year} {detail}", f"{fund} {year} {detail}")
        )
    return found
