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
class AuditReport:
    """What the audit saw and found."""

    funds: int
    events: int
    statements: int
    findings: tuple[str, ...]

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


def audit(ledger: Ledger, read_models: ReadModels) -> AuditReport:
    """Check every chain and every projection of every year of every fund."""
    read_models.catch_up()
    provinces = sorted({s.province for s in read_models.status() if s.head})
    findings: list[str] = []
    events = statements = 0
    funds = registered_funds(ledger, read_models, provinces)
    for fund in funds:
        links = ledger.chain(fund)
        events += len(links)
        for link in links:
            findings.extend(f"{fund} version {link.version}: {f}" for f in link.findings)
        decoded: list[object] = [link.event for link in links if link.event is not None]
        opened = decoded[0] if decoded and isinstance(decoded[0], Fund.Opened) else None
        if opened is None:
            findings.append(f"{fund}: its first event is not the fund's opening")
            continue
        years = {int(e.value_date[:4]) for e in decoded if hasattr(e, "value_date")}
        closes = {e.year: utc_text(e.timestamp) for e in decoded if isinstance(e, Fund.YearClosed)}
        for year in range(opened.first_year, max(years | set(closes) | {opened.first_year}) + 1):
            statements += 1
            findings.extend(_check_year(read_models, fund, year, decoded, closes.get(year)))
        db = read_models.for_province(fund.province).db
        projected = {(y, c): n for (_, y, c), n in enrolment_records(db, fund=str(fund)).items()}
        replayed = _replayed_enrolment(decoded)
        for year, county in sorted(set(projected) | set(replayed)):
            seen, expected = projected.get((year, county)), replayed.get((year, county))
            if seen != expected:
                findings.append(
                    f"{fund} {year}: enrolment of {county} is {seen} in the read model but "
                    f"{expected} on replay"
                )
    return AuditReport(len(funds), events, statements, tuple(findings))


def _check_year(
    read_models: ReadModels, fund: FundId, year: int, events: list[object], closed_at: str | None
) -> list[str]:
    """The findings of one fund's year: restated view, restatements, close, as-closed view."""
    name = str(fund)
    found: list[str] = []
    statement = read_models.statement(fund, year)
    for key, (seen, expected) in _differences(
        statement.to_json(), fold_statement(name, year, events).to_json()
    ).items():
        found.append(f"{fund} {year}: {key} is {seen} in the read model but {expected} on replay")
    restated = _restatements(name, year, events)
    if statement.restatements_fen != restated:
        found.append(
            f"{fund} {year}: restatements are {statement.restatements_fen} fen in the read "
            f"model but {restated} fen on replay"
        )
    if statement.closed_at != closed_at:
        found.append(
            f"{fund} {year}: closed at {statement.closed_at} in the read model but "
            f"{closed_at} on replay"
        )
    if closed_at is None or statement.closed_at is None:
        return found
    as_closed = read_models.statement(fund, year, view="as_closed").to_json()
    known = [e for e in events if utc_text(e.timestamp) <= closed_at]  # type: ignore[attr-defined]
    for key, (seen, expected) in _differences(
        as_closed, fold_statement(name, year, known).to_json()
    ).items():
        found.append(
            f"{fund} {year} as closed: {key} is {seen} in the read model but {expected} on replay"
        )
    return found
