"""Input models at the edge: strings in, typed domain values out (pydantic v2)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from domain.errors import InvalidInput
from domain.funds import FundId
from domain.lines import Level, Line, Purpose
from domain.money import parse_positive_yuan
from domain.postings import Posting

POSTING_COLUMNS = (
    "fund",
    "line",
    "sub_line",
    "level",
    "amount",
    "value_date",
    "reference",
    "county",
    "counterparty",
    "purpose",
    "reverses",
    "memo",
)
REQUIRED_COLUMNS = ("fund", "line", "amount", "value_date", "reference")


class PostingIn(BaseModel):
    """One row of the postings file (CONTRACT.md), or the body of ``POST /v1/postings``."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    fund: str
    line: Line
    sub_line: str | None = None
    level: Level | None = None
    amount: str
    value_date: str
    reference: str
    county: str | None = None
    counterparty: str | None = None
    purpose: Purpose | None = None
    reverses: str | None = None
    memo: str | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_absent(cls, value: Any, info: ValidationInfo) -> Any:
        """An empty cell is an absent value: ``None`` for an optional field, and for a
        required one the same "missing" problem as a field left out altogether."""
        if not (isinstance(value, str) and not value.strip()):
            return value
        if info.field_name is not None and cls.model_fields[info.field_name].is_required():
            raise PydanticCustomError("missing", "is required")
        return None

    @field_validator("fund", "counterparty")
    @classmethod
    def _fund_id(cls, value: str | None) -> str | None:
        if value is not None:
            _domain(FundId.parse, value)
        return value

    @field_validator("amount", mode="before")
    @classmethod
    def _money(cls, value: Any) -> str:
        _domain(parse_positive_yuan, value)
        return str(value)

    @field_validator("value_date")
    @classmethod
    def _iso_date(cls, value: str) -> str:
        try:
            date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a date YYYY-MM-DD") from None
        if len(value) != 10:
            raise ValueError(f"{value!r} is not a date YYYY-MM-DD")
        return value

    def to_posting(self) -> Posting:
        """The typed domain posting."""
        return Posting(
            fund=FundId.parse(self.fund),
            line=self.line,
            amount_fen=parse_positive_yuan(self.amount),
            value_date=date.fromisoformat(self.value_date),
            reference=self.reference,
            sub_line=self.sub_line,
            level=self.level,
            county=self.county,
            counterparty=FundId.parse(self.counterparty) if self.counterparty else None,
            purpose=self.purpose,
            reverses=self.reverses,
            memo=self.memo,
        )


def _domain(parse: Any, value: Any) -> Any:
    try:
        return parse(value)
    except InvalidInput as error:
        raise ValueError(error.message) from None


def validation_problems(error: ValidationError) -> list[tuple[str, str]]:
    """(field, reason) for every problem pydantic found, in words a person reads."""
    problems = []
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) or "body"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "enum":
            message = f"{item.get('input')!r} is not one of: {item['ctx']['expected']}"
        elif item["type"] == "missing":
            message = "is required"
        elif item["type"] == "extra_forbidden":
            message = "is not a known field"
        problems.append((field, message))
    return problems
