"""Unit tests of the domain's pure parts: money, regions, fund ids, posting shape, pair rules."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.authored import author_fields, author_named, upcast_without_author
from domain.authorship import Author
from domain.chain import GENESIS_HASH, chain_hash
from domain.errors import DomainError, InvalidInput, PostingRefused
from domain.funds import FUNDLEDGER_NAMESPACE, FundId, Scheme
from domain.lines import Level, Line, Purpose
from domain.money import (
    MAX_FEN_EXCLUSIVE,
    format_fen,
    format_fen_grouped,
    parse_positive_yuan,
    parse_yuan,
)
from domain.postings import MAX_MEMO_LENGTH, MAX_REFERENCE_LENGTH, Posting, check_posting_shape
from domain.regions import (
    RegionLevel,
    check_region,
    city_of,
    contains,
    level_of,
    province_of,
)
from domain.rules import (
    check_adjustment_purpose,
    check_inter_level_direction,
    check_legacy_merge,
    check_pair,
    refuse_cross_subsidy_between_legacy_funds,
    refuse_pair_across_provinces,
)
from tests.scenario import posting

# ------------------------------------------------------------------------------------ money


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("1200.00", 120_000),
        ("0.01", 1),
        ("0.10", 10),
        ("0.1", 10),
        ("12", 1_200),
        ("12.5", 1_250),
        ("3000.50", 300_050),
        ("0", 0),
        ("0.00", 0),
        ("-5.00", -500),
        ("-0.01", -1),
        ("0012.30", 1_230),
        ("9999999999999.99", MAX_FEN_EXCLUSIVE - 1),
        ("-9999999999999.99", -(MAX_FEN_EXCLUSIVE - 1)),
    ],
)
def test_parse_yuan_reads_decimal_strings_into_fen(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(
    "text",
    [
        "12.001",
        "1e3",
        "1E3",
        "1.5e2",
        "NaN",
        "nan",
        "Infinity",
        "inf",
        "",
        " ",
        "10000000000000.00",
        "10000000000000",
        "-10000000000000.00",
        "99999999999999999999",
        "1,000.00",
        "+5.00",
        ".50",
        "5.",
        "5..0",
        "1 000",
        "¥12.00",
        "12.00元",
        "0x10",
        "--5",
        "5-",
    ],
)
def test_parse_yuan_refuses_anything_but_a_plain_decimal(text: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_yuan(text)
    assert raised.value.field == "amount"


@pytest.mark.parametrize("value", [12, 12.0, Decimal("12.00"), None, b"12.00", True])
def test_parse_yuan_refuses_non_strings(value: object) -> None:
    with pytest.raises(InvalidInput, match="decimal string") as raised:
        parse_yuan(value)
    assert raised.value.field == "amount"


def test_parse_yuan_names_the_field_it_was_given() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_yuan("12.001", field="opening_balance")
    assert raised.value.field == "opening_balance"
    assert "12.001" in raised.value.message


def test_parse_yuan_reports_the_limit() -> None:
    with pytest.raises(InvalidInput, match=r"10\^13"):
        parse_yuan("10000000000000.00")


@pytest.mark.parametrize(
    "text", ["\u0661\u0662\u0663.\u0660\u0660", "\uff11\uff12\uff10\uff10.\uff10\uff10"]
)
def test_parse_yuan_refuses_non_ascii_digits(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_yuan(text)


@pytest.mark.parametrize(("text", "fen"), [("0.01", 1), ("1200.00", 120_000), ("5", 500)])
def test_parse_positive_yuan_accepts_positive_amounts(text: str, fen: int) -> None:
    assert parse_positive_yuan(text) == fen


@pytest.mark.parametrize("text", ["0", "0.00", "-0.00", "-5.00", "-0.01"])
def test_parse_positive_yuan_refuses_zero_and_negative(text: str) -> None:
    with pytest.raises(InvalidInput, match="positive") as raised:
        parse_positive_yuan(text, field="amount")
    assert raised.value.field == "amount"


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (0, "0.00"),
        (1, "0.01"),
        (10, "0.10"),
        (99, "0.99"),
        (100, "1.00"),
        (120_000, "1200.00"),
        (300_050, "3000.50"),
        (-1, "-0.01"),
        (-300_050, "-3000.50"),
        (MAX_FEN_EXCLUSIVE - 1, "9999999999999.99"),
    ],
)
def test_format_fen(fen: int, text: str) -> None:
    assert format_fen(fen) == text


@pytest.mark.parametrize("value", [True, 1.0, Decimal(1)])
def test_format_fen_takes_only_integer_fen(value: object) -> None:
    with pytest.raises(AssertionError):
        format_fen(value)  # type: ignore[arg-type]


@given(st.integers(min_value=-(MAX_FEN_EXCLUSIVE - 1), max_value=MAX_FEN_EXCLUSIVE - 1))
def test_format_then_parse_is_the_identity(fen: int) -> None:
    text = format_fen(fen)
    assert parse_yuan(text) == fen
    whole, _, decimals = text.lstrip("-").partition(".")
    assert len(decimals) == 2
    assert whole == str(int(whole))  # no leading zeros


# ---------------------------------------------------------------------------------- regions


@pytest.mark.parametrize(
    ("code", "province", "city", "level"),
    [
        ("140000", "140000", "140000", RegionLevel.PROVINCE),
        ("140100", "140000", "140100", RegionLevel.CITY),
        ("140105", "140000", "140100", RegionLevel.COUNTY),
        ("220100", "220000", "220100", RegionLevel.CITY),
        ("522301", "520000", "522300", RegionLevel.COUNTY),
    ],
)
def test_region_arithmetic(code: str, province: str, city: str, level: RegionLevel) -> None:
    assert province_of(code) == province
    assert city_of(code) == city
    assert level_of(code) is level


@pytest.mark.parametrize(
    ("outer", "inner", "expected"),
    [
        ("140000", "140100", True),
        ("140000", "140105", True),
        ("140100", "140105", True),
        ("140000", "140000", False),
        ("140100", "140100", False),
        ("140105", "140105", False),
        ("140100", "140000", False),
        ("140105", "140100", False),
        ("140100", "140205", False),
        ("140000", "220100", False),
        ("140105", "140106", False),
    ],
)
def test_contains(outer: str, inner: str, expected: bool) -> None:
    assert contains(outer, inner) is expected


@pytest.mark.parametrize("code", ["140000", "140100", "140105", "650000", "110101"])
def test_check_region_accepts_codes_of_known_provinces(code: str) -> None:
    assert check_region(code) == code


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("14010", "6-digit"),
        ("1401000", "6-digit"),
        ("14010a", "6-digit"),
        ("", "6-digit"),
        ("990000", "no known province"),
        ("000000", "no known province"),
        ("710000", "no known province"),
        ("140005", "not a valid region code"),
        ("140001", "not a valid region code"),
    ],
)
def test_check_region_refuses(code: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason) as raised:
        check_region(code, field="county")
    assert raised.value.field == "county"


def test_check_region_refuses_a_trailing_newline() -> None:
    with pytest.raises(InvalidInput):
        check_region("140100\n")


# --------------------------------------------------------------------------------- fund ids


def test_fund_id_parse_and_properties() -> None:
    fund = FundId.parse(" resident:140100 ")
    assert fund == FundId(Scheme.RESIDENT, "140100")
    assert str(fund) == "resident:140100"
    assert fund.province == "140000"
    assert fund.aggregate_id == uuid.uuid5(FUNDLEDGER_NAMESPACE, "fund:resident:140100")
    assert fund.aggregate_id == FundId.parse("resident:140100").aggregate_id
    assert fund.aggregate_id != FundId.parse("resident:140200").aggregate_id
    assert not fund.is_legacy
    assert FundId.parse("ncms:220100").is_legacy
    assert FundId.parse("urban_resident:220100").is_legacy
    assert not FundId.parse("adjustment:140000").is_legacy


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("resident140100", "scheme:region"),
        ("", "scheme:region"),
        ("pension:140100", "not a fund scheme"),
        ("Resident:140100", "not a fund scheme"),
        (":140100", "not a fund scheme"),
        ("resident:", "6-digit"),
        ("resident:14010", "6-digit"),
        ("resident:140100:1", "6-digit"),
        ("resident:990000", "no known province"),
        ("resident:140005", "not a valid region code"),
    ],
)
def test_fund_id_parse_errors(text: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason) as raised:
        FundId.parse(text, field="counterparty")
    assert raised.value.field == "counterparty"


def test_fund_id_parse_error_field_defaults_to_fund() -> None:
    with pytest.raises(InvalidInput) as raised:
        FundId.parse("pension:140100")
    assert raised.value.field == "fund"


# ---------------------------------------------------------------------------- posting shape

GOOD = posting("resident:140100 benefit/inpatient 3000.50 2024-03-31 B-1")


def refused_field(p: Posting) -> str | None:
    with pytest.raises(InvalidInput) as raised:
        check_posting_shape(p)
    return raised.value.field


@pytest.mark.parametrize(
    "text",
    [
        "resident:140100 benefit/inpatient 3000.50 2024-03-31 B-1",
        "resident:140100 contribution/individual 1.00 2024-03-31 C-1 county=140105",
        "resident:140100 subsidy/standard@central 1.00 2024-03-31 S-1",
        "resident:140100 subsidy@county 1.00 2024-03-31 S-2",
        "resident:140100 interest 0.01 2024-03-31 I-1 memo=bank",
        "resident:140100 to_upper 1.00 2024-12-20 L-1 counterparty=adjustment:140000 "
        "purpose=adjustment_levy",
        "adjustment:140000 to_lower 1.00 2024-12-20 D-1 counterparty=resident:140100 "
        "purpose=adjustment_draw",
        "resident:140100 transfer_out 1.00 2024-12-20 T-1 counterparty=resident:140200",
        "resident:140100 transfer_out 1.00 2024-12-20 T-2",
        "ncms:220100 transfer_out 1.00 2017-06-30 M-1 counterparty=resident:220100 "
        "purpose=legacy_merge",
        "resident:140100 to_upper 1.00 2024-12-21 L-1R reverses=L-1",
        "resident:140100 benefit 1.00 2024-12-21 B-1R reverses=B-1",
    ],
)
def test_good_shapes_pass(text: str) -> None:
    check_posting_shape(posting(text))


def test_reference_and_memo_at_their_limits_pass() -> None:
    check_posting_shape(
        replace(GOOD, reference="R" * MAX_REFERENCE_LENGTH, memo="m" * MAX_MEMO_LENGTH)
    )


@pytest.mark.parametrize(
    ("shape", "field"),
    [
        (replace(GOOD, line=Line.FROM_UPPER, sub_line=None), "line"),
        (replace(GOOD, line=Line.FROM_LOWER, sub_line=None), "line"),
        (replace(GOOD, amount_fen=0), "amount"),
        (replace(GOOD, amount_fen=-1), "amount"),
        (replace(GOOD, amount_fen=MAX_FEN_EXCLUSIVE), "amount"),
        (replace(GOOD, reference=""), "reference"),
        (replace(GOOD, reference="R" * (MAX_REFERENCE_LENGTH + 1)), "reference"),
        (replace(GOOD, reference="A#1"), "reference"),
        (replace(GOOD, memo="m" * (MAX_MEMO_LENGTH + 1)), "memo"),
        (replace(GOOD, sub_line="individual"), "sub_line"),
        (replace(GOOD, line=Line.INTEREST, sub_line="inpatient"), "sub_line"),
        (posting("resident:140100 subsidy/bonus@central 1.00 2024-03-31 S-1"), "sub_line"),
        (posting("resident:140100 subsidy/standard 1.00 2024-03-31 S-1"), "level"),
        (posting("resident:140100 subsidy 1.00 2024-03-31 S-1"), "level"),
        (posting("resident:140100 contribution@central 1.00 2024-03-31 C-1"), "level"),
        (replace(GOOD, county="14010"), "county"),
        (replace(GOOD, county="14010x"), "county"),
        (replace(GOOD, county="140205"), "county"),
        (replace(GOOD, county="140100"), "county"),
        (replace(GOOD, county="220105"), "county"),
        (
            posting(
                "resident:140100 benefit 1.00 2024-12-21 B-1R reverses=B-1 purpose=legacy_merge"
            ),
            "purpose",
        ),
        (
            posting(
                "resident:140100 to_upper 1.00 2024-12-21 L-1R reverses=L-1 "
                "counterparty=adjustment:140000"
            ),
            "counterparty",
        ),
        (posting("resident:140100 to_upper 1.00 2024-12-20 L-1"), "counterparty"),
        (posting("adjustment:140000 to_lower 1.00 2024-12-20 D-1"), "counterparty"),
        (
            posting("resident:140100 benefit 1.00 2024-12-20 B-2 counterparty=resident:140200"),
            "counterparty",
        ),
        (
            posting("resident:140100 transfer_in 1.00 2024-12-20 T-2 counterparty=resident:140200"),
            "counterparty",
        ),
        (
            posting(
                "resident:140100 transfer_out 1.00 2024-12-20 T-3 counterparty=resident:140100"
            ),
            "counterparty",
        ),
        (
            posting(
                "ncms:220100 to_upper 1.00 2017-06-30 M-1 counterparty=resident:220000 "
                "purpose=legacy_merge"
            ),
            "purpose",
        ),
        (
            posting("ncms:220100 transfer_out 1.00 2017-06-30 M-1 purpose=legacy_merge"),
            "counterparty",
        ),
        (
            posting(
                "resident:140100 transfer_out 1.00 2024-12-20 L-1 counterparty=adjustment:140000 "
                "purpose=adjustment_levy"
            ),
            "purpose",
        ),
        (posting("resident:140100 benefit 1.00 2024-12-20 L-1 purpose=adjustment_levy"), "purpose"),
        (
            posting(
                "adjustment:140000 to_upper 1.00 2024-12-20 D-1 counterparty=resident:140000 "
                "purpose=adjustment_draw"
            ),
            "purpose",
        ),
    ],
)
def test_each_shape_refusal_names_its_field(shape: Posting, field: str) -> None:
    assert refused_field(shape) == field


def test_shape_refusals_say_why() -> None:
    with pytest.raises(InvalidInput, match="mirror"):
        check_posting_shape(replace(GOOD, line=Line.FROM_UPPER, sub_line=None))
    with pytest.raises(InvalidInput, match=r"inpatient.*outpatient"):
        check_posting_shape(replace(GOOD, sub_line="individual"))
    with pytest.raises(InvalidInput, match=r"\(none\)"):
        check_posting_shape(replace(GOOD, line=Line.INTEREST, sub_line="x"))
    with pytest.raises(InvalidInput, match="cannot pay itself"):
        check_posting_shape(
            replace(GOOD, line=Line.TRANSFER_OUT, sub_line=None, counterparty=GOOD.fund)
        )


def test_posting_content_and_digest() -> None:
    a = posting("resident:140100 subsidy/standard@central 5000.00 2024-06-30 S-1 county=140105")
    assert a.content() == {
        "fund": "resident:140100",
        "line": "subsidy",
        "amount_fen": 500_000,
        "value_date": "2024-06-30",
        "reference": "S-1",
        "sub_line": "standard",
        "level": "central",
        "county": "140105",
        "counterparty": None,
        "purpose": None,
        "reverses": None,
        "memo": None,
    }
    assert (
        a.digest()
        == posting(
            "resident:140100 subsidy/standard@central 5000.00 2024-06-30 S-1 county=140105"
        ).digest()
    )
    assert len(a.digest()) == 64
    for changed in (
        replace(a, amount_fen=500_001),
        replace(a, value_date=date(2024, 7, 1)),
        replace(a, level=Level.PROVINCIAL),
        replace(a, memo="x"),
        replace(a, county=None),
    ):
        assert changed.digest() != a.digest()


def test_a_posting_s_author_is_not_part_of_its_identity() -> None:
    """A retry of the same posting by another caller is the same posting (a duplicate)."""
    a = posting("resident:140100 benefit 1.00 2024-03-02 B-1")
    by_li = replace(a, author=Author("li", request_id="req-1"))
    by_wang = replace(a, author=Author("cli:wang"))
    assert a.author is None
    assert by_li.author == Author("li", request_id="req-1")
    assert by_li.digest() == by_wang.digest() == a.digest()
    assert "author" not in by_li.content()
    assert by_li == by_wang == a
    assert len({by_li, by_wang, a}) == 1
    assert replace(by_li, amount_fen=101) != by_li


def test_author_fields_of_an_event() -> None:
    assert author_fields(None) == {"recorded_by": None, "request_id": None}
    assert author_fields(Author("li", "req-1")) == {"recorded_by": "li", "request_id": "req-1"}
    assert author_named(None, None) is None
    assert author_named(None, "太原市财政局") == Author("太原市财政局")
    assert author_named(Author("li"), "ignored") == Author("li")
    state = {"year": 2023, "recorded_by": "stale", "request_id": "stale"}
    upcast_without_author(state)
    assert state == {"year": 2023, "recorded_by": None, "request_id": None}


def test_the_chain_hash_leaves_out_only_an_author_that_is_none() -> None:
    when = datetime(2024, 1, 1, tzinfo=UTC)

    def digest(**payload: object) -> str:
        return chain_hash(
            topic="fundledger:Fund.YearClosed",
            originator_id=uuid.UUID(int=1),
            originator_version=2,
            timestamp=when,
            payload={"year": 2023, "prev_hash": GENESIS_HASH, **payload},
        )

    bare = digest()
    assert digest(recorded_by=None, request_id=None) == bare
    assert digest(memo=None) != bare  # any other field is hashed, None or not
    assert digest(recorded_by="li") != bare
    assert digest(recorded_by="li", request_id=None) == digest(recorded_by="li")
    assert digest(recorded_by="li", request_id="r") != digest(recorded_by="li")
    assert digest(recorded_by="li") != digest(recorded_by="wang")


def test_posting_pairing_flags() -> None:
    pair = posting("resident:140100 to_upper 1.00 2024-12-20 L-1 counterparty=adjustment:140000")
    assert pair.is_paired
    assert not replace(pair, reverses="L-0").is_paired
    assert not GOOD.is_paired
    merge = posting(
        "ncms:220100 transfer_out 1.00 2017-06-30 M-1 counterparty=resident:220100 "
        "purpose=legacy_merge"
    )
    assert merge.is_legacy_merge
    assert not pair.is_legacy_merge


# ------------------------------------------------------------------------------ pair rules

CITY = FundId.parse("resident:140100")
CITY2 = FundId.parse("resident:140200")
COUNTY_FUND = FundId.parse("resident:140105")
PROVINCE_FUND = FundId.parse("resident:140000")
PROVINCE_ADJ = FundId.parse("adjustment:140000")
CITY_ADJ = FundId.parse("adjustment:140100")
URBAN = FundId.parse("urban_resident:220100")
NCMS = FundId.parse("ncms:220100")
NCMS_COUNTY = FundId.parse("ncms:220105")
JILIN_CITY = FundId.parse("resident:220100")
JILIN_CITY2 = FundId.parse("resident:220200")
JILIN_PROVINCE = FundId.parse("resident:220000")
JILIN_COUNTY = FundId.parse("resident:220105")


def refusal(call: Callable[..., object], *args: object) -> PostingRefused:
    with pytest.raises(PostingRefused) as raised:
        call(*args)
    return raised.value


@pytest.mark.parametrize(("paying", "receiving"), [(URBAN, NCMS), (NCMS, URBAN)])
def test_legacy_funds_may_not_subsidise_each_other(paying: FundId, receiving: FundId) -> None:
    error = refusal(refuse_cross_subsidy_between_legacy_funds, paying, receiving)
    assert error.field == "counterparty"
    assert "Jilin" in error.message
    assert str(paying) in error.message
    error = refusal(check_pair, Line.TRANSFER_OUT, None, paying, receiving)
    assert "Jilin" in error.message


@pytest.mark.parametrize(
    ("paying", "receiving"),
    [
        (NCMS, JILIN_CITY),
        (URBAN, JILIN_CITY),
        (URBAN, FundId.parse("urban_resident:220200")),
        (NCMS_COUNTY, FundId.parse("ncms:220100")),
        (JILIN_CITY, JILIN_CITY2),
    ],
)
def test_other_pairs_are_not_cross_subsidy(paying: FundId, receiving: FundId) -> None:
    refuse_cross_subsidy_between_legacy_funds(paying, receiving)


def test_a_legacy_cross_subsidy_is_refused_on_every_line() -> None:
    for line in (Line.TO_UPPER, Line.TO_LOWER, Line.TRANSFER_OUT):
        error = refusal(check_pair, line, None, NCMS_COUNTY, FundId.parse("urban_resident:220100"))
        assert "Jilin" in error.message


def test_pairs_across_provinces_are_refused() -> None:
    error = refusal(refuse_pair_across_provinces, CITY, FundId.parse("adjustment:220000"))
    assert error.field == "counterparty"
    assert "different provinces" in error.message
    refuse_pair_across_provinces(CITY, PROVINCE_ADJ)
    error = refusal(check_pair, Line.TRANSFER_OUT, None, CITY, JILIN_CITY)
    assert "different provinces" in error.message


@pytest.mark.parametrize(
    ("line", "paying", "receiving"),
    [
        (Line.TO_UPPER, CITY, PROVINCE_ADJ),
        (Line.TO_UPPER, CITY, PROVINCE_FUND),
        (Line.TO_UPPER, CITY, CITY_ADJ),
        (Line.TO_UPPER, COUNTY_FUND, CITY),
        (Line.TO_UPPER, COUNTY_FUND, PROVINCE_ADJ),
        (Line.TO_UPPER, PROVINCE_FUND, PROVINCE_ADJ),
        (Line.TO_LOWER, PROVINCE_ADJ, CITY),
        (Line.TO_LOWER, CITY_ADJ, CITY),
        (Line.TO_LOWER, CITY, COUNTY_FUND),
        (Line.TRANSFER_OUT, CITY, CITY2),
        (Line.TRANSFER_OUT, CITY, PROVINCE_ADJ),
    ],
)
def test_inter_level_direction_allows(line: Line, paying: FundId, receiving: FundId) -> None:
    check_inter_level_direction(line, paying, receiving)
    check_pair(line, None, paying, receiving)


@pytest.mark.parametrize(
    ("line", "paying", "receiving", "word"),
    [
        (Line.TO_UPPER, CITY, CITY2, "higher"),
        (Line.TO_UPPER, CITY, COUNTY_FUND, "higher"),
        (Line.TO_UPPER, PROVINCE_ADJ, CITY, "higher"),
        (Line.TO_UPPER, CITY_ADJ, CITY, "higher"),
        (Line.TO_UPPER, PROVINCE_ADJ, FundId.parse("adjustment:140100"), "higher"),
        (Line.TO_LOWER, CITY, PROVINCE_ADJ, "lower"),
        (Line.TO_LOWER, CITY, CITY2, "lower"),
        (Line.TO_LOWER, CITY, CITY_ADJ, "lower"),
        (Line.TO_LOWER, COUNTY_FUND, CITY, "lower"),
    ],
)
def test_inter_level_direction_refuses(
    line: Line, paying: FundId, receiving: FundId, word: str
) -> None:
    error = refusal(check_inter_level_direction, line, paying, receiving)
    assert error.field == "counterparty"
    assert f"{word} level" in error.message
    assert str(receiving) in error.message


def test_adjustment_purpose() -> None:
    check_adjustment_purpose(Purpose.ADJUSTMENT_LEVY, CITY, PROVINCE_ADJ)
    check_adjustment_purpose(Purpose.ADJUSTMENT_DRAW, PROVINCE_ADJ, CITY)
    check_adjustment_purpose(None, CITY, PROVINCE_FUND)
    levy = refusal(check_adjustment_purpose, Purpose.ADJUSTMENT_LEVY, CITY, PROVINCE_FUND)
    assert levy.field == "counterparty"
    assert "levy" in levy.message
    assert "resident:140000" in levy.message
    draw = refusal(check_adjustment_purpose, Purpose.ADJUSTMENT_DRAW, PROVINCE_FUND, CITY)
    assert draw.field == "fund"
    assert "draw" in draw.message
    assert "resident:140000" in draw.message
    # the same refusals through check_pair (the direction itself is right in both)
    again = refusal(check_pair, Line.TO_UPPER, Purpose.ADJUSTMENT_LEVY, CITY, PROVINCE_FUND)
    assert (again.field, again.message) == (levy.field, levy.message)
    error = refusal(check_pair, Line.TO_LOWER, Purpose.ADJUSTMENT_DRAW, PROVINCE_FUND, CITY)
    assert error.field == "fund"


@pytest.mark.parametrize(
    ("paying", "receiving"),
    [
        (NCMS, JILIN_CITY),
        (URBAN, JILIN_CITY),
        (NCMS_COUNTY, JILIN_CITY),
        (NCMS_COUNTY, JILIN_COUNTY),
        (NCMS, JILIN_PROVINCE),
    ],
)
def test_legacy_merge_into_the_resident_fund_of_its_area(paying: FundId, receiving: FundId) -> None:
    check_legacy_merge(paying, receiving)
    check_pair(Line.TRANSFER_OUT, Purpose.LEGACY_MERGE, paying, receiving)


@pytest.mark.parametrize(
    ("paying", "receiving", "field", "reason"),
    [
        (JILIN_CITY, JILIN_PROVINCE, "purpose", "only a legacy fund"),
        (FundId.parse("employee:220100"), JILIN_CITY, "purpose", "only a legacy fund"),
        (NCMS, JILIN_CITY2, "counterparty", "its own area"),
        (NCMS, JILIN_COUNTY, "counterparty", "its own area"),
        (NCMS, FundId.parse("adjustment:220100"), "counterparty", "its own area"),
        (NCMS, FundId.parse("employee:220100"), "counterparty", "its own area"),
        (NCMS, FundId.parse("ncms:220000"), "counterparty", "its own area"),
        (NCMS_COUNTY, FundId.parse("resident:220106"), "counterparty", "its own area"),
    ],
)
def test_legacy_merge_refusals(paying: FundId, receiving: FundId, field: str, reason: str) -> None:
    error = refusal(check_legacy_merge, paying, receiving)
    assert (error.field, reason in error.message) == (field, True)
    again = refusal(check_pair, Line.TRANSFER_OUT, Purpose.LEGACY_MERGE, paying, receiving)
    assert again.field == field


def test_legacy_merge_between_the_legacy_funds_is_the_jilin_refusal() -> None:
    error = refusal(check_pair, Line.TRANSFER_OUT, Purpose.LEGACY_MERGE, NCMS, URBAN)
    assert "Jilin" in error.message


def test_legacy_merge_skips_the_direction_rule_but_not_the_province_rule() -> None:
    error = refusal(
        check_pair, Line.TRANSFER_OUT, Purpose.LEGACY_MERGE, NCMS, FundId.parse("resident:140100")
    )
    assert "different provinces" in error.message


def test_every_refusal_is_a_domain_error_with_a_message() -> None:
    error = refusal(check_inter_level_direction, Line.TO_UPPER, CITY, CITY2)
    assert isinstance(error, DomainError)
    assert str(error) == error.message


@pytest.mark.parametrize(
    ("fen", "text"),
    [(0, "0.00"), (5, "0.05"), (123456789, "1,234,567.89"), (-100000001, "-1,000,000.01")],
)
def test_format_fen_grouped(fen: int, text: str) -> None:
    assert format_fen_grouped(fen) == text
