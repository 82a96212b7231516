"""The auditor's check: every fund's hash chain, and every statement against a replay.

A pure walk that returns findings (it does not stop at the first), so one run reports every
problem. The replay folds the fund's stored events (``fold_statement``) and compares each
year's figures with the read model's.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from domain.fund import Fund
from domain.funds import FundId
from domain.ledger_service import Ledger
from projections.service import ReadModels
from projections.statement import fold_statement

COMPARED = ("opening_balance", "income", "expense", "current_surplus", "closing_balance")
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


def registered_funds(ledger: Ledger, provinces: list[str]) -> list[FundId]:
    """Every fund opened in these provinces, read from the event log itself."""
    funds: list[FundId] = []
    for province in provinces:
        recorder = ledger.province(province).recorder
        opened = recorder.select_notifications(1, MAX_FUNDS, topics=[Fund.Opened.TOPIC])
        funds.extend(FundId.parse(orjson.loads(n.state)["fund"]) for n in opened)
    return funds


def audit(ledger: Ledger, read_models: ReadModels) -> AuditReport:
    """Check every chain and every statement of every year of every fund."""
    read_models.catch_up()
    provinces = sorted({s.province for s in read_models.status() if s.head})
    findings: list[str] = []
    events = statements = 0
    funds = registered_funds(ledger, provinces)
    for fund in funds:
        links = ledger.chain(fund)
        events += len(links)
        for link in links:
            findings.extend(f"{fund} version {link.version}: {f}" for f in link.findings)
        decoded = [link.event for link in links if link.event is not None]
        opened = decoded[0] if decoded and isinstance(decoded[0], Fund.Opened) else None
        if opened is None:
            findings.append(f"{fund}: its first event is not the fund's opening")
            continue
        years = {int(e.value_date[:4]) for e in decoded if hasattr(e, "value_date")}
        for year in range(opened.first_year, max(years | {opened.first_year}) + 1):
            statements += 1
            replayed = fold_statement(str(fund), year, decoded).to_json()
            projected = read_models.statement(fund, year).to_json()
            for key, (seen, expected) in _differences(projected, replayed).items():
                findings.append(
                    f"{fund} {year}: {key} is {seen} in the read model but {expected} on replay"
                )
    return AuditReport(len(funds), events, statements, tuple(findings))
