"""A settlement as data: the stored result and the contract's Settlement JSON document.

The stored result keeps money as integer fen; the document writes yuan strings
(docs/clearing.md §4, "Settlement JSON"). Rendering it as a file (JSON, CSV, XLSX bytes) or a
table is the adapters' (``api/``): the clearing layer hands them this document.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from clearing.allocation import Allocation
from domain.money import format_fen

MONEY_FIELDS = (
    "income", "expense", "levy", "gap", "own_fault", "draw", "borne_by_balance",
    "residual_to_government",
)  # fmt: skip


def result_document(allocation: Allocation) -> dict[str, Any]:
    """The allocation as JSON-able data with money in fen (what a draft event records)."""
    return {
        "adjustment_fund": {
            "fund": allocation.adjustment_fund,
            "balance_fen": allocation.adjustment_balance_fen,
            "draws_total_fen": allocation.draws_total_fen,
            "requested_total_fen": allocation.requested_total_fen,
            "scale": str(allocation.scale.quantize(Decimal("0.000001"))),
        },
        "pools": [
            {
                "fund": p.fund,
                **{f"{name}_fen": getattr(p, f"{name}_fen") for name in MONEY_FIELDS},
                "request_fen": p.request_fen,
                "remaining_fen_taken": p.remaining_fen_taken,
                "rules": list(p.rules),
                "counties": [
                    {
                        "county": c.county,
                        "own_fault_fen": c.own_fault_fen,
                        "owed_fen": c.owed_fen,
                        "reason": c.reason,
                        "causes": [
                            {
                                "cause": cause.cause,
                                "amount_fen": cause.amount_fen,
                                "detail": cause.detail,
                                "reference": cause.reference,
                            }
                            for cause in c.causes
                        ],
                    }
                    for c in p.counties
                ],
            }
            for p in allocation.pools
        ],
    }


@dataclass(frozen=True)
class SettlementView:
    """A settlement as recorded (or computed, for a dry run), ready to report."""

    id: str
    province: str
    year: int
    status: str
    policy: dict[str, Any]
    """The policy's full content (``name``, ``version``, ``effective_year``, ...)."""
    inputs_hash: str
    result: dict[str, Any]
    drafted_by: str | None = None
    approved_by: str | None = None
    posted_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The Settlement JSON of docs/clearing.md §4 (money as yuan strings)."""
        fund = self.result["adjustment_fund"]
        return {
            "id": self.id,
            "province": self.province,
            "year": self.year,
            "status": self.status,
            "policy": {
                "name": self.policy["name"],
                "version": self.policy["version"],
                "effective_year": self.policy["effective_year"],
            },
            "inputs_hash": self.inputs_hash,
            "adjustment_fund": {
                "fund": fund["fund"],
                "balance": _yuan_or_none(fund["balance_fen"]),
                "draws_total": _yuan_or_none(fund["draws_total_fen"]),
                "requested_total": _yuan_or_none(fund.get("requested_total_fen")),
                "scale": fund["scale"],
            },
            "pools": [_pool_json(p) for p in self.result["pools"]],
        }


def _yuan_or_none(fen: int | None) -> str | None:
    """A figure withheld from the caller (a city's partial view) stays None (JSON null)."""
    return None if fen is None else format_fen(fen)


def _pool_json(pool: dict[str, Any]) -> dict[str, Any]:
    return {
        "fund": pool["fund"],
        **{name: format_fen(pool[f"{name}_fen"]) for name in MONEY_FIELDS},
        "request": format_fen(pool.get("request_fen", pool["draw_fen"])),
        "remaining_fen_taken": pool.get("remaining_fen_taken", 0),
        "rules": list(pool["rules"]),
        "counties": [_county_json(c) for c in pool["counties"]],
    }


def _county_json(county: dict[str, Any]) -> dict[str, Any]:
    """A county's part inside the gap (``own_fault``) and its whole receivable (``owed``), by
    cause. A settlement recorded before causes were kept shows its own fault as owed."""
    return {
        "county": county["county"],
        "own_fault": format_fen(county["own_fault_fen"]),
        "owed": format_fen(county.get("owed_fen", county["own_fault_fen"])),
        "reason": county["reason"],
        "causes": [
            {
                "cause": c["cause"],
                "amount": format_fen(c["amount_fen"]),
                "detail": c["detail"],
                "reference": c["reference"],
            }
            for c in county.get("causes", [])
        ],
    }


DECISIVE = (
    "no draw", "legacy", "no adjustment fund", "capped", "draw scaled", "proportional",
    "sequential",
)  # fmt: skip
"""Rule prefixes, the most decisive first: what explains the pool's draw."""


def main_rule(pool: dict[str, Any]) -> str:
    """The one rule a reader needs first to understand the pool's figures."""
    rules: list[str] = pool["rules"]
    if pool["gap_fen"] == 0:
        return "no gap"
    if pool["own_fault_fen"] == pool["gap_fen"]:  # a gap wholly the counties' own fault
        return next(r for r in rules if r.startswith("own fault"))
    for prefix in DECISIVE:
        found = [r for r in rules if r.startswith(prefix)]
        if found:
            return found[0]
    return rules[-1]
