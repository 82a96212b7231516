"""The clearing policy of a province: levy, gap definition, sharing, eligibility, caps.

A policy is versioned data (TOML, validated with pydantic), chosen by province and
effective year. The same allocation engine runs every style.
"""

from __future__ import annotations

import functools
import tomllib
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from domain.errors import InvalidInput
from domain.lines import EXPENSE_LINES, INCOME_LINES, Line
from projections.policy import validation_problems

Rate = Decimal


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LevyPolicy(_Frozen):
    """调剂金计提: a ratio of a base of last year's income (Shaanxi 2024: 5%)."""

    ratio: Rate = Field(ge=0, le=1)
    base_lines: tuple[Line, ...] = (Line.CONTRIBUTION, Line.SUBSIDY)
    base_year_offset: int = Field(default=-1, le=0, ge=-3)
    paid_month: int = Field(default=12, ge=1, le=12)
    cap_months: Rate | None = Field(default=None, gt=0)


class GapPolicy(_Frozen):
    """Which lines make the current gap (当期缺口), measured after the year's levy."""

    income_lines: tuple[Line, ...] = INCOME_LINES
    expense_lines: tuple[Line, ...] = EXPENSE_LINES
    levy_counts_as_expense: bool = True


class Band(_Frozen):
    """A slice of the gap rate (gap / income) and the adjustment fund's share per grade."""

    up_to_gap_rate: Rate | None = Field(default=None, gt=0)
    shares: dict[str, Rate]


class SharingPolicy(_Frozen):
    """How a pool's gap is shared between the adjustment fund and its own balance.

    ``proportional`` (Shanxi 2024 draft, Shaanxi 2024): the adjustment fund pays a share set
    by gap size and assessment grade; bands are progressive (each slice of the gap rate gets
    its own share), so a larger gap never gets a smaller draw. ``sequential`` (national
    social-insurance fund financial rules, Art. 38): the pool's accumulated balance first,
    then the adjustment fund, then the government. ``none`` (Nantong 2019 municipal pooling,
    Jilin 2016): there is no upper adjustment fund to draw on; the pool's accumulated balance
    covers the gap, then the government.
    """

    strategy: Literal["proportional", "sequential", "none"]
    grades: tuple[str, ...] = ("A", "B", "C", "D")
    default_grade: str = "C"
    bands: tuple[Band, ...] = ()

    @model_validator(mode="after")
    def _bands_fit(self) -> SharingPolicy:
        if self.default_grade not in self.grades:
            raise ValueError(f"default_grade {self.default_grade!r} is not one of the grades")
        if self.strategy == "proportional" and not self.bands:
            raise ValueError("a proportional policy needs bands")
        limits = [b.up_to_gap_rate for b in self.bands]
        if limits and limits[-1] is not None:
            raise ValueError("the last band has no up_to_gap_rate (it covers the rest)")
        if any(x is None for x in limits[:-1]) or limits[:-1] != sorted(limits[:-1]):  # type: ignore[type-var]
            raise ValueError("bands must rise by up_to_gap_rate")
        for band in self.bands:
            if set(band.shares) != set(self.grades):
                raise ValueError(f"each band gives a share for every grade {list(self.grades)}")
            shares = [band.shares[g] for g in self.grades]
            if shares != sorted(shares, reverse=True) or not all(0 <= s <= 1 for s in shares):
                raise ValueError("shares are between 0 and 1 and never rise for a worse grade")
        return self


class EligibilityPolicy(_Frozen):
    """Who may draw (Guangyuan, Jining: nothing for a pool that did not pay its levy in full)."""

    require_levy_paid_in_full: bool = False


class CapPolicy(_Frozen):
    """Guangyuan: the fund pays 80% of an overspend of at most 30% over plan."""

    overspend_limit_rate: Rate | None = Field(default=None, gt=0)
    overspend_cover_share: Rate | None = Field(default=None, gt=0, le=1)


class ClearingPolicy(_Frozen):
    """A province's clearing policy for the years from ``effective_year``."""

    name: str
    version: str
    province: str = Field(pattern=r"^[0-9]{2}0000$")
    region: str | None = Field(default=None, pattern=r"^[0-9]{6}$")
    """The region the policy governs (a city's own policy: Nantong 2019 governs 320600 only);
    None: the whole province. Pools outside it are not settled by it (clearing.inputs)."""
    effective_year: int
    levy: LevyPolicy
    gap: GapPolicy = GapPolicy()
    sharing: SharingPolicy
    eligibility: EligibilityPolicy = EligibilityPolicy()
    caps: CapPolicy = CapPolicy()
    county_own_fault: bool = True
    legacy_transition: bool = True
    legacy_balance_first: bool = False
    """In transition, a legacy fund's own accumulated balance bears its gap before its
    original government is called on (the national order of use, Art. 38); False: the
    government bears it whole, as the Jilin 2016 text names only the government."""
    shortfall: Literal["pro_rata"] = "pro_rata"
    sources: dict[str, str] = {}
    """The source of each rule the file sets, by its key (:data:`RULE_KEYS`): what the rule
    texts of a settlement cite. A shipped file holds only the rules its source has."""

    @model_validator(mode="after")
    def _sources_name_rules(self) -> ClearingPolicy:
        unknown = sorted(set(self.sources) - set(RULE_KEYS))
        if unknown:
            raise ValueError(f"sources: {unknown} are not rules (one of {list(RULE_KEYS)})")
        return self

    def source_of(self, rule: str, default: str) -> str:
        """What a rule text cites: the file's source for ``rule``, else ``default``."""
        return self.sources.get(rule, default)


RULE_KEYS = (
    "levy", "levy.cap_months", "gap", "sharing", "eligibility", "caps", "county_own_fault",
    "legacy_transition", "shortfall",
)  # fmt: skip
"""The rules of a policy file that ``sources`` may name."""


def parse_policy(text: str, source: str) -> ClearingPolicy:
    """A policy from TOML text; a bad key is named with its path and the file."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidInput(f"{source}: not valid TOML: {error}", field="policy") from None
    try:
        return ClearingPolicy.model_validate(data)
    except ValidationError as error:
        problems = validation_problems(source, error)
        raise InvalidInput("; ".join(problems), field="policy", problems=problems) from None


def load_policy(province: str, year: int, path: Path | None = None) -> ClearingPolicy:
    """The policy in ``path``, or the one shipped for ``province`` (else the national one)."""
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise InvalidInput(f"{path}: {error.strerror}", field="policy") from None
        policy = parse_policy(text, str(path))
    else:
        name, policy = _shipped_policy(province)
        if name == "national.toml":
            policy = policy.model_copy(
                update={
                    "province": province,
                    "name": f"{policy.name} ({province}: no policy of its own)",
                }
            )
    return check_policy_fits(policy, province, year)


@functools.cache
def _shipped_policy(province: str) -> tuple[str, ClearingPolicy]:
    """The shipped file for ``province`` (else ``national.toml``), read once (a policy is
    frozen, so every caller may share it)."""
    folder = resources.files("clearing") / "policies"
    name = f"{province}.toml" if (folder / f"{province}.toml").is_file() else "national.toml"
    return name, parse_policy((folder / name).read_text(encoding="utf-8"), name)


PolicyChoice = Path | ClearingPolicy | None
"""A policy file (the CLI), a policy already read (the HTTP API), or None: the province's."""


def choose_policy(province: str, year: int, choice: PolicyChoice = None) -> ClearingPolicy:
    """The policy chosen for a province's year, checked to fit it (see :func:`load_policy`)."""
    if isinstance(choice, ClearingPolicy):
        return check_policy_fits(choice, province, year)
    return load_policy(province, year, choice)


def check_policy_fits(policy: ClearingPolicy, province: str, year: int) -> ClearingPolicy:
    """A policy settles only its own province, and no year before it takes effect."""
    if policy.province != province:
        raise InvalidInput(f"the policy is for {policy.province}, not {province}", field="policy")
    if policy.region is not None and policy.region[:2] != province[:2]:
        raise InvalidInput(
            f"the policy governs {policy.region}, which is not in {province}", field="policy"
        )
    if year < policy.effective_year:
        raise InvalidInput(
            f"policy {policy.name} {policy.version} takes effect in {policy.effective_year}, "
            f"not for {year}",
            field="policy",
        )
    return policy
