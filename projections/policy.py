"""A province's fund policy: ratio settings, warning rules, subsidy standards, budget lines.

Policies are data (TOML, validated here with pydantic): ``projections/policies/<province>.toml``
when the province has one, else ``default.toml``; or a file the user names (``--policy``).
Amounts are decimal strings of yuan (read into fen); rates and shares are exact decimal
strings, never TOML floats. A bad file is refused with a message naming the file and the key
path (``140000.toml: warnings.bands.1.level: ...``).
"""

from __future__ import annotations

import functools
import re
import tomllib
from decimal import Decimal
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from domain.errors import DomainError, InvalidInput
from domain.funds import Scheme
from domain.lines import ALL_EXPENSE, Line
from domain.money import parse_yuan
from domain.regions import PROVINCES, check_region, province_of

_EXACT = re.compile(r"[0-9]{1,6}(\.[0-9]{1,8})?")
_AT = "@"
"""Marks a validator message that names a deeper key path: ``@2.from_months: ...``."""


class WarningLevel(StrEnum):
    """Warning colours, most severe first; ``green`` means no warning."""

    RED = "red"  # the fund cannot pay, or ran a deficit
    ORANGE = "orange"  # the balance is low, or a hard ceiling was broken
    YELLOW = "yellow"  # far too much kept back: money raised is not paying benefits
    BLUE = "blue"  # more kept back than needed: watch
    GREEN = "green"  # reasonable

    @property
    def severity(self) -> int:
        """4 for red down to 0 for green (the order above)."""
        return len(WarningLevel) - 1 - list(WarningLevel).index(self)


def _exact_decimal(value: object) -> Decimal:
    if not isinstance(value, str) or not _EXACT.fullmatch(value):
        raise ValueError(f'write an exact decimal as a string, such as "0.60", not {value!r}')
    return Decimal(value)


def _yuan(value: object) -> int:
    try:
        fen = parse_yuan(value)
    except DomainError as error:
        raise ValueError(error.message) from None
    if fen < 0:
        raise ValueError(f"{value!r} must not be negative")
    return fen


Exact = Annotated[Decimal, BeforeValidator(_exact_decimal)]
Share = Annotated[Decimal, BeforeValidator(_exact_decimal), Field(ge=0, le=1)]
YuanFen = Annotated[int, BeforeValidator(_yuan)]
"""Money written as a string of yuan (``"670.00"``), held as integer fen."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Band(_Frozen):
    """A band of months of coverage: ``from_months <= months < to_months``."""

    label: str = Field(min_length=1)
    from_months: Exact | None = None
    to_months: Exact | None = None
    level: WarningLevel


class MinimumMonths(_Frozen):
    """A floor on months of coverage (Guangdong 2012: 9 months)."""

    months: Exact = Field(gt=0)
    level: WarningLevel = WarningLevel.RED
    source: str = ""


class LegacyCap(_Frozen):
    """A ceiling on a legacy fund's balance as a share of the year's funds raised (NCMS: 25%)."""

    share_of_funds_raised: Share
    schemes: tuple[Scheme, ...] = (Scheme.NCMS,)
    level: WarningLevel = WarningLevel.ORANGE
    source: str = ""


class DeficitRule(_Frozen):
    """A current deficit at year end; ``measure`` picks the subtotals or the totals."""

    measure: Literal["subtotal", "total"] = "subtotal"
    level: WarningLevel = WarningLevel.RED


class WarningRules(_Frozen):
    """The warning rules of docs/domain.md §3."""

    bands: tuple[Band, ...] = Field(min_length=1)
    minimum_months: MinimumMonths | None = None
    legacy_cap: LegacyCap | None = None
    deficit: DeficitRule | None = DeficitRule()

    @field_validator("bands")
    @classmethod
    def _contiguous(cls, bands: tuple[Band, ...]) -> tuple[Band, ...]:
        """Bands cover every value, in order, without gap or overlap."""
        last = len(bands) - 1
        for i, band in enumerate(bands):
            if i == 0 and band.from_months is not None:
                raise ValueError(f"{_AT}0.from_months: the first band has none (covers below)")
            if i > 0 and band.from_months != bands[i - 1].to_months:
                raise ValueError(
                    f"{_AT}{i}.from_months: must equal the band before's to_months "
                    f"({bands[i - 1].to_months}): bands must be contiguous"
                )
            if i == last and band.to_months is not None:
                raise ValueError(f"{_AT}{i}.to_months: the last band has none (covers above)")
            if i < last and (band.to_months is None or (
                band.from_months is not None and band.to_months <= band.from_months
            )):  # fmt: skip
                raise ValueError(f"{_AT}{i}.to_months: must be above from_months")
        labels = [b.label for b in bands]
        if len(set(labels)) != len(labels):
            raise ValueError("band labels must be unique")
        return bands


class Standard(_Frozen):
    """A year's financing standard per enrolled resident (yuan)."""

    government: YuanFen
    individual: YuanFen


class RemainderSplit(_Frozen):
    """How the non-central part of the subsidy is split below the centre (adds up to 1)."""

    provincial: Share
    municipal: Share
    county: Share

    @model_validator(mode="after")
    def _adds_up(self) -> RemainderSplit:
        total = self.provincial + self.municipal + self.county
        if total != 1:
            raise ValueError(f"provincial + municipal + county is {total}, not 1")
        return self


class SubsidyPolicy(_Frozen):
    """Subsidy standards by year and the share each level of government pays (docs/domain.md §5).

    ``central_share`` is the province's own; ``central_shares`` (the default file) gives it by
    province, from the five tiers of central co-financing (80/60/50/30/10%).
    """

    standards: dict[int, Standard] = Field(min_length=1)
    central_share: Share | None = None
    central_shares: dict[str, Share] = Field(default_factory=dict)
    remainder: RemainderSplit

    @field_validator("standards")
    @classmethod
    def _years(cls, standards: dict[int, Standard]) -> dict[int, Standard]:
        for year in standards:
            if not 1998 <= year <= 2100:
                raise ValueError(f"{_AT}{year}: a year from 1998 to 2100")
        return standards

    @field_validator("central_shares")
    @classmethod
    def _provinces(cls, shares: dict[str, Share]) -> dict[str, Share]:
        for code in shares:
            if code not in PROVINCES:
                raise ValueError(f"{_AT}{code}: not a province code")
        return shares

    @model_validator(mode="after")
    def _one_central_share(self) -> SubsidyPolicy:
        if (self.central_share is None) == (not self.central_shares):
            raise ValueError("give either central_share or central_shares (by province)")
        return self

    def central_share_for(self, province: str) -> Decimal:
        """The centre's share of the subsidy in ``province``."""
        if self.central_share is not None:
            return self.central_share
        try:
            return self.central_shares[province]
        except KeyError:
            raise InvalidInput(
                f"the policy gives no central share for province {province}", field="policy"
            ) from None


class BudgetPolicy(_Frozen):
    """What a budget may carry; ``None``: every expense line (docs/domain.md §4)."""

    permitted_expense_lines: tuple[Line, ...] | None = None

    @field_validator("permitted_expense_lines")
    @classmethod
    def _expense_only(cls, lines: tuple[Line, ...] | None) -> tuple[Line, ...] | None:
        for i, line in enumerate(lines or ()):
            if line not in ALL_EXPENSE:
                raise ValueError(f"{_AT}{i}: {line.value!r} is not an expense line")
        return lines


class Policy(_Frozen):
    """A province's fund policy file."""

    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    effective_year: int = Field(ge=1998, le=2100)
    accumulated_balance_denominator: Literal["income_subtotal", "funds_raised"] = "income_subtotal"
    months_of_coverage_denominator: Literal["expense_subtotal", "benefit"] = "expense_subtotal"
    """What months of coverage count months of: the whole expense subtotal (the common
    measure, docs/domain.md §3), or benefits alone (``benefit``: Guangdong 2012, 待遇)."""
    warnings: WarningRules
    subsidy: SubsidyPolicy | None = None
    budget: BudgetPolicy = BudgetPolicy()

    @property
    def label(self) -> str:
        """``name version``, as reports cite it."""
        return f"{self.name} {self.version}"


def parse_policy(text: str, source: str) -> Policy:
    """A policy from TOML text; ``source`` names the file in every message.

    Raises:
        InvalidInput: ``source: key.path: reason`` for each problem (``problems``; the
            message joins them with ``; ``).
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidInput(f"{source}: not valid TOML: {error}", field="policy") from None
    try:
        return Policy.model_validate(data)
    except ValidationError as error:
        problems = validation_problems(source, error)
        raise InvalidInput("; ".join(problems), field="policy", problems=problems) from None


def validation_problems(source: str, error: ValidationError) -> tuple[str, ...]:
    """``source: key.path: reason`` for each problem of a policy file, leaving out a problem
    of a whole table or list when one of its own entries is named (pydantic reports both)."""
    found = error.errors()
    locs = [tuple(e["loc"]) for e in found]
    return tuple(
        _problem(source, e["loc"], e["msg"])
        for e, loc in zip(found, locs, strict=True)
        if not any(other != loc and other[: len(loc)] == loc for other in locs)
    )


def _problem(source: str, loc: tuple[int | str, ...], message: str) -> str:
    path = [str(part) for part in loc]
    message = message.removeprefix("Value error, ")
    if message.startswith(_AT):
        deeper, _, message = message[len(_AT) :].partition(": ")
        path.extend(deeper.split("."))
    return f"{source}: {'.'.join(path) or 'policy'}: {message}"


def load_policy(province: str, path: Path | None = None) -> Policy:
    """The policy in ``path``, else the one shipped for ``province``, else the default.

    ``province`` may be any region code inside the province (``140100`` reads ``140000``).
    """
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise InvalidInput(f"{path}: {error.strerror}", field="policy") from None
        return parse_policy(text, str(path))
    return _shipped(province_of(check_region(province, field="province")))


@functools.cache
def _shipped(province: str) -> Policy:
    folder = resources.files("projections") / "policies"
    name = f"{province}.toml"
    if not (folder / name).is_file():
        name = "default.toml"
    return parse_policy((folder / name).read_text(encoding="utf-8"), name)
