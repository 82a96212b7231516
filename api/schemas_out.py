"""What the HTTP API answers, as pydantic models: the OpenAPI document's response schemas.

Money and ratios are strings as on the command line (docs/contract.md, "Conventions"); each
model carries an example, so that a generated client's documentation shows real figures.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class FundOut(BaseModel):
    """A registered fund (``POST /v1/funds``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "fund": "resident:140100",
                    "first_year": 2022,
                    "opening_balance": "35226.00",
                    "name": "太原市城乡居民基本医疗保险基金",
                }
            ]
        }
    )

    fund: str
    first_year: int
    opening_balance: str
    name: str


class PostingOut(BaseModel):
    """A posting as recorded; ``version`` is its event's version on the fund."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "fund": "resident:140100",
                    "line": "contribution",
                    "sub_line": "individual",
                    "level": None,
                    "amount": "6000.00",
                    "value_date": "2024-11-02",
                    "reference": "C-2024-0001",
                    "county": "140105",
                    "counterparty": None,
                    "purpose": None,
                    "reverses": None,
                    "memo": "个人缴费 11月",
                    "version": 2,
                }
            ]
        }
    )

    fund: str
    line: str
    sub_line: str | None
    level: str | None
    amount: str
    value_date: str
    reference: str
    county: str | None
    counterparty: str | None
    purpose: str | None
    reverses: str | None
    memo: str | None
    version: int


class BatchOut(BaseModel):
    """What a batch did: postings written, and rows that repeated a posting already made."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"accepted": 998, "duplicates": 2}]})

    accepted: int
    duplicates: int


class StatementOut(BaseModel):
    """The statement of a fund's year (docs/contract.md, "Statement JSON")."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "fund": "resident:140100",
                    "year": 2024,
                    "view": "restated",
                    "as_of": None,
                    "closed_at": None,
                    "opening_balance": "5000.00",
                    "opening_balance_transfers": "0.00",
                    "income": {"contribution": "6000.00", "subtotal": "6000.00"},
                    "expense": {"benefit": "5000.00", "subtotal": "5000.00"},
                    "current_surplus": "1000.00",
                    "closing_balance": "6000.00",
                    "ratios": {
                        "current_surplus_rate": "0.166667",
                        "accumulated_balance_rate": "1.000000",
                        "months_of_coverage": "14.4000",
                    },
                    "warnings": [],
                }
            ]
        },
    )

    fund: str
    year: int
    view: str
    as_of: str | None
    closed_at: str | None
    opening_balance: str
    opening_balance_transfers: str
    income: dict[str, str]
    expense: dict[str, str]
    current_surplus: str
    closing_balance: str
    ratios: dict[str, str | None]
    warnings: list[dict[str, Any]]


class EventOut(BaseModel):
    """One event of a fund's history with its link in the hash chain."""

    version: int
    topic: str
    recorded_at: str | None
    recorded_by: str | None = Field(description="who recorded it (null before authors were kept)")
    prev_hash: str | None
    chain_hash: str | None
    payload: dict[str, Any]
    chain_ok: bool
    findings: list[str]


class EventsPage(BaseModel):
    """A page of a fund's history; ``next`` is the ``after`` of the next page (null: last)."""

    fund: str
    events: list[EventOut]
    next: int | None
    chain: dict[str, Any] = Field(
        description="the whole chain: {ok, events, head, findings: [{version, finding}]}"
    )


class EnrolmentOut(BaseModel):
    """A county's enrolment as recorded; ``status`` recorded, corrected or unchanged."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "fund": "resident:140100",
                    "year": 2024,
                    "county": "140105",
                    "enrolled": 120000,
                    "previous": None,
                    "status": "recorded",
                }
            ]
        }
    )

    fund: str
    year: int
    county: str
    enrolled: int
    previous: int | None
    status: str


class ClosedOut(BaseModel):
    """A year closed: its final accounts (决算) approved."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"fund": "resident:140100", "year": 2024, "closed": True, "version": 9}]
        }
    )

    fund: str
    year: int
    closed: bool
    version: int


class ProjectionStatusOut(BaseModel):
    """Where a province's read models stand against its event log."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"province": "140000", "position": 17031, "head": 17031, "lag": 0}]
        }
    )

    province: str
    position: int
    head: int
    lag: int
