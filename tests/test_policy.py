"""Policy files: the shipped ones load with the seeds' rules; a bad file names file and key."""

from __future__ import annotations

import re
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest

from clearing.policy import parse_policy as parse_clearing_policy
from domain.errors import InvalidInput
from domain.funds import Scheme
from domain.lines import Line
from domain.regions import PROVINCES
from projections.policy import WarningLevel, load_policy, parse_policy

SHANXI_TEXT = (resources.files("projections") / "policies" / "140000.toml").read_text("utf-8")


def test_shanxi() -> None:
    policy = load_policy("140000")
    assert policy.accumulated_balance_denominator == "income_subtotal"
    assert [b.label for b in policy.warnings.bands] == [
        "insufficient", "low", "reasonable", "high", "excessive",
    ]  # fmt: skip
    assert [b.level for b in policy.warnings.bands] == [
        WarningLevel.RED, WarningLevel.ORANGE, WarningLevel.GREEN, WarningLevel.BLUE,
        WarningLevel.YELLOW,
    ]  # fmt: skip
    assert [(b.from_months, b.to_months) for b in policy.warnings.bands] == [
        (None, Decimal(3)), (Decimal(3), Decimal(6)), (Decimal(6), Decimal(9)),
        (Decimal(9), Decimal(15)), (Decimal(15), None),
    ]  # fmt: skip
    assert policy.warnings.deficit is not None
    assert policy.warnings.deficit.level is WarningLevel.RED
    assert policy.warnings.minimum_months is None
    cap = policy.warnings.legacy_cap
    assert cap is not None
    assert (cap.share_of_funds_raised, cap.level) == (Decimal("0.25"), WarningLevel.ORANGE)
    assert policy.budget.permitted_expense_lines == (
        Line.BENEFIT, Line.CRITICAL_ILLNESS, Line.TRANSFER_OUT, Line.TO_UPPER, Line.TO_LOWER,
    )  # fmt: skip
    subsidy = policy.subsidy
    assert subsidy is not None
    assert subsidy.central_share_for("140000") == Decimal("0.60")
    assert (subsidy.remainder.provincial, subsidy.remainder.municipal) == (
        Decimal("0.50"),
        Decimal("0.25"),
    )
    standards = {y: (s.government, s.individual) for y, s in subsidy.standards.items()}
    assert standards == {
        2022: (61_000, 35_000), 2023: (64_000, 38_000), 2024: (67_000, 40_000),
        2025: (70_000, 40_000),
    }  # fmt: skip


def test_guangdong_and_jilin() -> None:
    guangdong = load_policy("440000")
    assert guangdong.warnings.minimum_months is not None
    assert guangdong.warnings.minimum_months.months == Decimal(9)
    assert guangdong.warnings.minimum_months.level is WarningLevel.RED
    assert guangdong.budget.permitted_expense_lines is None
    jilin = load_policy("220000")
    assert jilin.accumulated_balance_denominator == "funds_raised"
    cap = jilin.warnings.legacy_cap
    assert cap is not None
    assert cap.share_of_funds_raised == Decimal("0.25")
    assert cap.schemes == (Scheme.NCMS,)


def test_a_province_without_a_file_gets_the_default_with_its_tier() -> None:
    default = load_policy("320000")
    assert default.name == "national default"
    assert default.subsidy is not None
    shares = {code: default.subsidy.central_share_for(code) for code in PROVINCES}
    assert sorted(shares.values()).count(Decimal("0.80")) == 12
    assert sorted(shares.values()).count(Decimal("0.60")) == 10
    assert shares["320000"] == Decimal("0.30")
    assert shares["110000"] == Decimal("0.10")
    assert load_policy("140105") is load_policy("140000")  # any code inside the province


def test_an_unknown_region_is_refused() -> None:
    with pytest.raises(InvalidInput, match="region code"):
        load_policy("99")


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ('level = "orange"', 'level = "purple"', "warnings.bands.1.level: Input should be"),
        ('from_months = "6"', 'from_months = "7"', "warnings.bands.2.from_months: must equal"),
        ('label = "insufficient"\n', 'label = "insufficient"\nfrom_months = "0"\n',
         "warnings.bands.0.from_months: the first band"),
        ('from_months = "15"\n', 'from_months = "15"\nto_months = "20"\n',
         "warnings.bands.4.to_months: the last band"),
        ('label = "high"', 'label = "low"', "warnings.bands: band labels must be unique"),
        ('county = "0.25"', 'county = "0.20"', "subsidy.remainder: provincial + municipal + county is 0.95, not 1"),  # noqa: E501
        ('central_share = "0.60"', "central_share = 0.6", "subsidy.central_share: write an exact decimal"),  # noqa: E501
        ('central_share = "0.60"', 'central_share = "1.5"', "subsidy.central_share: Input should be less than or equal to 1"),  # noqa: E501
        ('central_share = "0.60"', 'central_share = "6e-1"', "subsidy.central_share: write an exact"),  # noqa: E501
        ('government = "670.00"', "government = 670", "subsidy.standards.2024.government: money must be a decimal string"),  # noqa: E501
        ('government = "670.00"', 'government = "670.001"', "subsidy.standards.2024.government: '670.001' is not an amount"),  # noqa: E501
        ('government = "670.00"', 'government = "-1.00"', "subsidy.standards.2024.government: '-1.00' must not be negative"),  # noqa: E501
        ("2022 = {", "1990 = {", "subsidy.standards.1990: a year from 1998 to 2100"),
        ('"to_lower"]', '"contribution"]', "budget.permitted_expense_lines.4: 'contribution' is not an expense line"),  # noqa: E501
        ('accumulated_balance_denominator = "income_subtotal"', 'accumulated_balance_denominator = "income"', "accumulated_balance_denominator: Input should be"),  # noqa: E501
        ('version = "2024-draft.1"\n', 'version = "2024-draft.1"\nregion = "140000"\n', "region: Extra inputs are not permitted"),  # noqa: E501
        ('central_share = "0.60"', 'central_share = "0.60"\ncentral_shares = { "140000" = "0.60" }', "subsidy: give either central_share"),  # noqa: E501
        ('name = "山西省城乡居民医保基金"\n', "", "name: Field required"),
    ],
)  # fmt: skip
def test_a_bad_file_names_the_file_and_the_key(old: str, new: str, where: str) -> None:
    assert old in SHANXI_TEXT
    with pytest.raises(InvalidInput) as caught:
        parse_policy(SHANXI_TEXT.replace(old, new, 1), "140000.toml")
    assert f"140000.toml: {where}" in caught.value.message
    assert caught.value.field == "policy"


def test_a_file_that_is_not_toml() -> None:
    with pytest.raises(InvalidInput, match=r"^140000.toml: not valid TOML"):
        parse_policy(SHANXI_TEXT + "\n[[[\n", "140000.toml")


def test_a_user_file_is_named_by_its_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(SHANXI_TEXT.replace('level = "red"', 'level = "crimson"', 1), "utf-8")
    with pytest.raises(InvalidInput, match="^" + re.escape(f"{path}: warnings.bands.0.level: ")):
        load_policy("140000", path)
    with pytest.raises(InvalidInput, match="^" + re.escape(f"{tmp_path / 'missing.toml'}: ")):
        load_policy("140000", tmp_path / "missing.toml")
    path.write_text(SHANXI_TEXT.replace("2024-draft.1", "mine.1"), "utf-8")
    assert load_policy("440000", path).version == "mine.1"


def test_several_problems_are_all_named() -> None:
    text = SHANXI_TEXT.replace('level = "orange"', 'level = "purple"', 1).replace(
        'county = "0.25"', 'county = "0.20"'
    )
    with pytest.raises(InvalidInput) as caught:
        parse_policy(text, "140000.toml")
    assert "warnings.bands.1.level" in caught.value.message
    assert "subsidy.remainder" in caught.value.message
    assert len(caught.value.problems) == 2
    assert caught.value.problems[0].startswith("140000.toml: warnings.bands.1.level: ")
    assert caught.value.problems[1].startswith("140000.toml: subsidy.remainder: ")


def test_a_clearing_policy_names_every_problem() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_clearing_policy('name = "x"\nversion = 1\n', "mine.toml")
    assert caught.value.problems[:3] == (
        "mine.toml: version: Input should be a valid string",
        "mine.toml: province: Field required",
        "mine.toml: effective_year: Field required",
    )
