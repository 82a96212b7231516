"""One ledger of what counties and governments owe the pools: every receivable once.

A receivable has a debtor, a source, a due year, the amount owed and the payments made. The
sources:

- ``catch-up``: Nantong's financing-standard instalment of a county for a year (Nantong 2019,
  通政办发〔2019〕101号: 按每年20%的比例分5年（2020~2024年）逐年补缴; :mod:`clearing.catch_up`),
  reference ``CATCHUP-<county>-<year>``, due in that year;
- ``make-good``: a county's income shortfall found by a posted settlement, whatever the pool's
  result (Nantong 2019: 县（市）、区未按规定补助到位、未严格执行缴费政策或未完成征收计划等情形形成
  的基金收入缺口，由县（市）、区政府负责补足或追缴到位; the causes in
  :mod:`clearing.own_fault`), reference ``MAKEGOOD-<year>-<county>``, due in the settled year.
  A shortfall whose cause is an unpaid catch-up instalment is that instalment, not a second
  receivable: the settlement points to it;
- ``residual``: what a pool's accumulated balance could not pay, the same-level government's
  (Art. 38), reference ``MAKEGOOD-<year>-<region>``;
- ``legacy gap``: a legacy fund's gap during integration, its original government's (Jilin
  2016, 吉政办发〔2016〕84号: 当期出现缺口的，由原统筹地政府负责解决), the same reference.

A payment is an income posting on the pool (any income line: ``subsidy`` for a subsidy made
good, ``contribution`` for contributions collected late, ``other_income`` otherwise) whose
reference begins with the receivable's reference; it counts in whatever year it arrives.
``catch-up``, ``settle owed`` and the settlement report read these same receivables.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from clearing.catch_up import RULES, catch_up_schedule, paid_on
from domain.errors import InvalidInput
from domain.funds import FundId
from domain.money import format_fen
from projections.db import ProjectionDB

SOURCES = ("catch-up", "make-good", "residual", "legacy gap")


@dataclass(frozen=True)
class Owed:
    """One receivable of a pool: who owes it, why, when it is due, and what was paid."""

    fund: str
    debtor: str
    """A county code, or the pool's region code for its government."""
    kind: str
    """``county`` or ``government``."""
    reason: str
    owed_fen: int
    paid_fen: int
    reference: str
    """The reference prefix a payment carries; unique per pool: the receivable's key."""
    source: str = "make-good"
    """One of :data:`SOURCES`."""
    due_year: int = 0

    @property
    def outstanding_fen(self) -> int:
        return max(0, self.owed_fen - self.paid_fen)


Receivable = Owed


def make_good_reference(year: int, debtor: str) -> str:
    """The reference prefix of a debtor's payment of what the year's settlement left owed."""
    return f"MAKEGOOD-{year}-{debtor}"


def catch_up_receivables(db: ProjectionDB, fund: str) -> list[Owed]:
    """Every instalment of the pool's catch-up with something due, in county and year order."""
    if fund not in RULES:
        return []
    seed = RULES[fund].seed
    return [
        Owed(
            fund=fund,
            debtor=county.county,
            kind="county",
            reason=f"financing-standard catch-up, instalment {instalment.year} ({seed})",
            owed_fen=instalment.due_fen,
            paid_fen=instalment.paid_fen,
            reference=instalment.reference,
            source="catch-up",
            due_year=instalment.year,
        )
        for county in catch_up_schedule(db, fund)
        for instalment in county.instalments
        if instalment.due_fen
    ]


def settlement_receivables(db: ProjectionDB, year: int, result: dict[str, Any]) -> list[Owed]:
    """What a posted settlement itself makes owed: the counties' make-good (their shortfall
    less what an existing receivable already holds) and the governments' residuals."""
    found: list[Owed] = []
    for pool in result["pools"]:
        fund = pool["fund"]
        for county in pool["counties"]:
            reference = make_good_reference(year, county["county"])
            causes = county.get("causes")
            if causes is None:  # recorded before causes were kept: its own fault, as then
                amount, reason = county["own_fault_fen"], county["reason"]
            else:
                mine = [c for c in causes if c["reference"] == reference]
                amount = sum(c["amount_fen"] for c in mine)
                reason = "; ".join(c["detail"] for c in mine)
            if amount:
                found.append(
                    Owed(fund, county["county"], "county", reason, amount,
                         paid_on(db, fund, reference), reference, "make-good", year)
                )  # fmt: skip
        if pool["residual_to_government_fen"]:
            legacy = next((r for r in pool["rules"] if r.startswith("legacy")), None)
            reason = legacy or "what the accumulated balance could not pay (Art. 38)"
            reference = make_good_reference(year, FundId.parse(fund).region)
            found.append(
                Owed(fund, FundId.parse(fund).region, "government", reason,
                     pool["residual_to_government_fen"], paid_on(db, fund, reference), reference,
                     "legacy gap" if legacy else "residual", year)
            )  # fmt: skip
    return found


def receivables(
    db: ProjectionDB, funds: Iterable[str], year: int, result: dict[str, Any] | None
) -> list[Owed]:
    """The ledger for a year: the receivables due in it (catch-up instalments of the pools,
    and, once its settlement is posted, what the settlement made owed), each once, in fund,
    debtor and reference order."""
    found = [r for fund in funds for r in catch_up_receivables(db, fund) if r.due_year == year]
    if result is not None:
        found += settlement_receivables(db, year, result)
    keys = [(r.fund, r.reference) for r in found]
    assert len(keys) == len(set(keys)), "a receivable is listed once"
    return sorted(found, key=lambda r: (r.fund, r.kind != "county", r.debtor, r.reference))


def owed_amounts(
    db: ProjectionDB, year: int, status: str, result: dict[str, Any], funds: Iterable[str] = ()
) -> list[Owed]:
    """Every amount owed for the year's posted settlement, with what was paid so far."""
    if status != "posted":
        raise InvalidInput(
            f"the settlement is {status}: amounts are owed once it is posted (settle post)",
            field="year",
        )
    pools = sorted({*funds, *(p["fund"] for p in result["pools"])})
    return receivables(db, pools, year, result)


def owed_rows(owed: list[Owed]) -> list[dict[str, str]]:
    """One row per receivable, money as yuan strings."""
    return [
        {
            "fund": o.fund,
            "debtor": o.debtor,
            "kind": o.kind,
            "source": o.source,
            "due_year": str(o.due_year),
            "owed": format_fen(o.owed_fen),
            "paid": format_fen(o.paid_fen),
            "outstanding": format_fen(o.outstanding_fen),
            "reference": o.reference,
            "reason": o.reason,
        }
        for o in owed
    ]
