"""What a posted settlement leaves owed to the pools, tracked due against paid.

A posted settlement names two kinds of debtor besides the adjustment fund and the balance:

- a county at fault owes its pool its own-fault part (Nantong 2019, 通政办发〔2019〕101号:
  县（市）、区未按规定补助到位、未严格执行缴费政策或未完成征收计划等情形形成的基金收入缺口，
  由县（市）、区政府负责补足或追缴到位);
- the pool's same-level government owes the residual: for a legacy fund in transition its
  original government (Jilin 2016, 吉政办发〔2016〕84号: 当期出现缺口的，由原统筹地政府负责解决),
  otherwise the last step of the order of use (Art. 38).

A payment is an income posting on the pool (``subsidy`` for a subsidy made good,
``contribution`` for contributions collected late, ``other_income`` otherwise) whose reference
begins ``MAKEGOOD-<year>-<debtor>``: the settled year, then the county code, or the pool's own
region code for its government. Payments count in whatever year they arrive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from clearing.queries import reference_total
from domain.errors import InvalidInput
from domain.funds import FundId
from domain.lines import INCOME_LINES
from domain.money import format_fen
from projections.db import ProjectionDB


@dataclass(frozen=True)
class Owed:
    """One debtor's amount owed to a pool after the settlement of a year."""

    fund: str
    debtor: str
    """A county code, or the pool's region code for its government."""
    kind: str
    """``county`` (own fault) or ``government`` (residual)."""
    reason: str
    owed_fen: int
    paid_fen: int
    reference: str
    """The reference prefix a payment carries: ``MAKEGOOD-<year>-<debtor>``."""

    @property
    def outstanding_fen(self) -> int:
        return max(0, self.owed_fen - self.paid_fen)


def make_good_reference(year: int, debtor: str) -> str:
    """The reference prefix of a debtor's payment of what the year's settlement left owed."""
    return f"MAKEGOOD-{year}-{debtor}"


def owed_amounts(db: ProjectionDB, year: int, status: str, result: dict[str, Any]) -> list[Owed]:
    """Every amount the year's posted settlement left owed, with what was paid so far."""
    if status != "posted":
        raise InvalidInput(
            f"the settlement is {status}: amounts are owed once it is posted (settle post)",
            field="year",
        )
    found: list[Owed] = []
    for pool in result["pools"]:
        fund = pool["fund"]
        debts = [
            (county["county"], "county", county["reason"], county["own_fault_fen"])
            for county in pool["counties"]
        ]
        if pool["residual_to_government_fen"]:
            legacy = next((r for r in pool["rules"] if r.startswith("legacy")), None)
            reason = legacy or "what the accumulated balance could not pay (Art. 38)"
            region = FundId.parse(fund).region
            debts.append((region, "government", reason, pool["residual_to_government_fen"]))
        for debtor, kind, reason, owed_fen in debts:
            prefix = make_good_reference(year, debtor)
            paid = sum(reference_total(db, fund, line, prefix) for line in INCOME_LINES)
            found.append(Owed(fund, debtor, kind, reason, owed_fen, paid, prefix))
    return found


def owed_rows(owed: list[Owed]) -> list[dict[str, str]]:
    """One row per debtor, money as yuan strings."""
    return [
        {
            "fund": o.fund,
            "debtor": o.debtor,
            "kind": o.kind,
            "owed": format_fen(o.owed_fen),
            "paid": format_fen(o.paid_fen),
            "outstanding": format_fen(o.outstanding_fen),
            "reference": o.reference,
            "reason": o.reason,
        }
        for o in owed
    ]
