"""Bodies and answers of the budget, clearing and audit routes (docs/clearing.md, docs/contract.md).

Money is a decimal string of yuan everywhere: a JSON number is refused by the schema (a
``str`` field takes no number), more than two decimals or an exponent by the use case's
parser, each naming its field.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

PROVINCE = Field(pattern=r"^[0-9]{2}0000$", description="a province code", examples=["140000"])
YEAR = Field(ge=1998, le=2100, description="the fiscal year", examples=[2025])
Yuan = str
FundPath = Annotated[
    str,
    Path(pattern=r"^[a-z_]+:[0-9]{6}$", description="scheme:region", examples=["resident:140100"]),
]
ProvincePath = Annotated[
    str, Path(pattern=r"^[0-9]{2}0000$", description="a province code", examples=["140000"])
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, str_strip_whitespace=True)


class SettlementIn(_In):
    """Which settlement: a province and a year, and optionally another policy (TOML text)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        json_schema_extra={"examples": [{"province": "140000", "year": 2025}]},
    )

    province: str = PROVINCE
    year: int = YEAR
    policy: str | None = Field(
        default=None,
        max_length=100_000,
        description="the text of a policy file (TOML, docs/clearing.md §2); default: the "
        "province's shipped policy",
    )


class BudgetLinesIn(_In):
    """A budget's lines: ``{line id: yuan}``; a line left out is budgeted at zero."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        json_schema_extra={
            "examples": [
                {
                    "lines": {
                        "contribution": "800000000.00",
                        "subsidy": "1400000000.00",
                        "benefit": "1950000000.00",
                        "critical_illness": "120000000.00",
                    }
                }
            ]
        },
    )

    lines: dict[str, Yuan] = Field(max_length=100)
    opening_balance: Yuan | None = Field(
        default=None, description="default: the year's opening balance on the books"
    )
    ref: str | None = Field(
        default=None, max_length=200, description="an adjustment's own approval reference"
    )
    memo: str | None = Field(default=None, max_length=2000, description="why (调整原因)")


class ApprovalIn(_In):
    """The approval reference (批准文号) of a budget."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        json_schema_extra={"examples": [{"ref": "晋医保〔2025〕3号"}]},
    )

    ref: str = Field(min_length=1, max_length=200)


class AssessmentIn(_In):
    """A pool's provincial assessment for a year (考核评价)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        json_schema_extra={"examples": [{"year": 2025, "grade": "A", "score": "92.5"}]},
    )

    year: int = YEAR
    grade: str = Field(min_length=1, max_length=8)
    score: str | None = Field(default=None, max_length=6, description="0-100, two decimals")


class PlanIn(_In):
    """A county's yearly plan in a municipal pool (年度收支计划), in yuan."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        json_schema_extra={
            "examples": [
                {
                    "year": 2025,
                    "county": "140105",
                    "contributions": "150000000.00",
                    "subsidies": "12000000.00",
                    "spending": "180000000.00",
                }
            ]
        },
    )

    year: int = YEAR
    county: str = Field(pattern=r"^[0-9]{6}$")
    contributions: Yuan
    subsidies: Yuan
    spending: Yuan


class RecordedOut(BaseModel):
    """Whether a clearing input was recorded (False: the same as the record in force)."""

    recorded: bool


class AdjustmentFundOut(BaseModel):
    fund: str
    balance: str | None = Field(description="null in a city's partial view")
    draws_total: str | None = Field(description="null in a city's partial view")
    requested_total: str | None = Field(
        default=None,
        description="every pool's request before scaling (scale = balance ÷ it); null in a "
        "city's partial view",
    )
    scale: str


class FaultCauseOut(BaseModel):
    cause: str = Field(
        description="subsidy_not_paid, contribution_policy_not_enforced or collection_plan_missed"
    )
    amount: str
    detail: str
    reference: str = Field(description="the receivable that holds it (settle owed)")


class CountyOut(BaseModel):
    county: str
    own_fault: str = Field(description="the part of the county's shortfall inside the gap")
    owed: str = Field(description="the county's whole income shortfall, owed whatever the gap")
    reason: str
    causes: list[FaultCauseOut] = []


class PoolOut(BaseModel):
    fund: str
    income: str
    expense: str
    levy: str
    gap: str
    own_fault: str
    draw: str
    borne_by_balance: str
    residual_to_government: str
    request: str | None = Field(default=None, description="the draw requested before scaling")
    remaining_fen_taken: int = Field(
        default=0, description="when scaled: the fen of the rounding this pool took (0 or 1)"
    )
    rules: list[str]
    counties: list[CountyOut]


class PolicyOut(BaseModel):
    name: str
    version: str
    effective_year: int


SETTLEMENT_EXAMPLE: dict[str, Any] = {
    "id": "4b067dd3-1106-5d59-b606-0701d532fa6c", "province": "140000", "year": 2024,
    "status": "draft",
    "policy": {"name": "山西省居民医保省级统筹调剂金", "version": "2024-draft.1",
               "effective_year": 2022},
    "inputs_hash": "sha256:43a4a09513063eda0151cffce0a563251e351802685e22120dbcc217db1deb2d",
    "adjustment_fund": {"fund": "adjustment:140000", "balance": "360000.00",
                        "draws_total": "360000.00", "scale": "0.454545"},
    "pools": [{
        "fund": "resident:140100", "income": "10000000.00", "expense": "11500000.00",
        "levy": "300000.00", "gap": "1800000.00", "own_fault": "0.00", "draw": "300000.00",
        "borne_by_balance": "1500000.00", "residual_to_government": "0.00",
        "rules": ["gap = max(0, expense 11500000.00 + levy 300000.00 − income 10000000.00) "
                  "= 1800000.00"],
        "counties": [],
    }],
}  # fmt: skip


class SettlementOut(BaseModel):
    """The Settlement JSON (docs/clearing.md §4): every figure of the allocation in yuan."""

    model_config = ConfigDict(json_schema_extra={"examples": [SETTLEMENT_EXAMPLE]})

    id: str
    province: str
    year: int
    status: str = Field(description="draft, approved or posted")
    policy: PolicyOut
    inputs_hash: str
    adjustment_fund: AdjustmentFundOut
    pools: list[PoolOut]


class WhatIfOut(BaseModel):
    """The same year under the current policy and under another; nothing recorded."""

    current: SettlementOut
    what_if: SettlementOut


class LevyOut(BaseModel):
    fund: str
    base_year: str
    base: str
    due: str
    levy: str
    reference: str
    value_date: str
    status: str | None = Field(default=None, description="after posting: what posting did")
    posted: str | None = Field(default=None, description="after posting: what the voucher holds")
    still_due: str | None = Field(
        default=None, description="after posting: the levy computed now, less what was posted"
    )


class LeviesOut(BaseModel):
    """A province's levies for a year; the totals are null in a city's partial view."""

    province: str
    year: int
    adjustment_fund: str
    ratio: str
    balance: str | None
    cap: str | None
    total: str | None
    levies: list[LevyOut]


class OwedOut(BaseModel):
    fund: str
    debtor: str
    kind: str
    source: str = Field(description="catch-up, make-good, residual or legacy gap")
    due_year: str
    owed: str
    paid: str
    outstanding: str
    reference: str
    reason: str


class CatchUpOut(BaseModel):
    county: str
    enrolled: str
    per_capita: str
    owed: str
    year: str
    due: str
    paid: str
    unpaid: str


class BudgetWrittenOut(BaseModel):
    """What a budget command recorded (``changed`` False: a repeat, nothing recorded)."""

    fund: str
    year: int
    version: int
    status: str
    changed: bool
    opening_balance: str
    current_surplus: str
    closing_balance: str


class FindingOut(BaseModel):
    check: str
    fund: str
    version: int | None
    detail: str


class AuditOut(BaseModel):
    """``{ok, checked, findings}`` (docs/contract.md, "Auditors")."""

    ok: bool
    checked: dict[str, int]
    findings: list[FindingOut]


JsonObject = dict[str, Any]
