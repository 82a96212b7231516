"""Input models at the edge: strings in, typed domain values out (pydantic v2).

The same :class:`PostingIn` checks a row of a postings file and the body of an HTTP posting,
so that money is refused alike everywhere: a JSON number, more than two decimals, an
exponent, an empty string, NaN or 10^13 yuan or more (docs/contract.md, "Conventions").
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
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


POSTING_EXAMPLE: dict[str, Any] = {
    "fund": "resident:140100",
    "line": "contribution",
    "sub_line": "individual",
    "amount": "6000.00",
    "value_date": "2024-11-02",
    "reference": "C-2024-0001",
    "county": "140105",
    "memo": "个人缴费 11月",
}


ALLOWED_CONTROLS = frozenset("\t\n\r")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""Every control character but those of :data:`ALLOWED_CONTROLS` (one search, not one test
per character)."""


def check_text(value: str) -> str:
    """Refuse text no store keeps as given: a NUL or other control character (a tab or a
    line break excepted) or a lone surrogate, which is not UTF-8."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("is not valid Unicode text (a lone surrogate)") from None
    if _CONTROL.search(value):
        raise ValueError("holds a control character")
    return value


class PostingIn(BaseModel):
    """One row of the postings file (docs/contract.md), or the body of ``POST /v1/postings``."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        json_schema_extra={"examples": [POSTING_EXAMPLE]},
    )

    fund: str
    line: Line
    sub_line: str | None = None
    level: Level | None = None
    amount: str = Field(
        description='yuan as a decimal string, e.g. "6000.00"', examples=["6000.00"]
    )
    value_date: str = Field(
        description="the day the cash moved (YYYY-MM-DD), not after today in China"
    )
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
        if isinstance(value, str):
            check_text(value)
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


def _check_money(value: Any, field: str) -> str:
    """A money string, checked as the ledger will parse it (no float ever)."""
    from domain.money import parse_yuan

    _domain(lambda text: parse_yuan(text, field=field), value)
    return str(value)


class FundIn(BaseModel):
    """The body of ``POST /v1/funds``: the particulars of ``fundledger funds open``."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "fund": "resident:140100",
                    "first_year": 2022,
                    "opening_balance": "35226.00",
                    "name": "太原市城乡居民基本医疗保险基金",
                }
            ]
        },
    )

    fund: str = Field(description="scheme:region, e.g. resident:140100")
    first_year: int = Field(strict=True, ge=1990, le=2100, description="first fiscal year")
    opening_balance: str = Field(default="0.00", description="yuan as a decimal string")
    name: str = Field(default="", max_length=200)

    @field_validator("fund")
    @classmethod
    def _fund_id(cls, value: str) -> str:
        _domain(FundId.parse, value)
        return value

    @field_validator("name")
    @classmethod
    def _text(cls, value: str) -> str:
        return check_text(value)

    @field_validator("opening_balance", mode="before")
    @classmethod
    def _money(cls, value: Any) -> str:
        return _check_money(value, "opening_balance")


class EnrolmentIn(BaseModel):
    """The body of ``POST /v1/funds/{fund}/enrolment``: a county's residents enrolled."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [{"year": 2024, "county": "140105", "enrolled": 120000, "correct": False}]
        },
    )

    year: int = Field(strict=True, ge=1990, le=2100)
    county: str = Field(max_length=6, description="the county code inside the fund's region")
    enrolled: int = Field(strict=True, ge=0, description="residents enrolled")
    correct: bool = Field(
        default=False, strict=True, description="replace the figure on record (a correction)"
    )
