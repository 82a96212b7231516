"""Subsidies due, received and outstanding per level (docs/domain.md §5), exact to the fen."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from api.bootstrap import App, bootstrap_app
from api.cli import app as cli
from api.settings import Settings
from domain.errors import InvalidInput, PostingRefused
from domain.funds import FundId
from projections.policy import load_policy
from projections.subsidies import LEVELS, level_shares, split_by_shares, subsidies_report
from tests.scenario import posting

CITY = FundId.parse("resident:140100")
CITY2 = FundId.parse("resident:140200")
OLD = FundId.parse("resident:140300")
GD_CITY = FundId.parse("resident:440100")
SHANXI_SHARES = level_shares(load_policy("140000"), "140000")


def test_level_shares() -> None:
    assert [SHANXI_SHARES[lv] for lv in LEVELS] == [
        Decimal("0.60"), Decimal("0.20"), Decimal("0.10"), Decimal("0.10"),
    ]  # fmt: skip
    guangdong = level_shares(load_policy("440000"), "440000")
    assert [guangdong[lv] for lv in LEVELS] == [
        Decimal("0.30"), Decimal("0.35"), Decimal("0.175"), Decimal("0.175"),
    ]  # fmt: skip
    assert sum(guangdong.values()) == 1


@pytest.mark.parametrize(
    ("total_fen", "parts"),
    [
        (0, [0, 0, 0, 0]),
        # 0.6, 0.2, 0.1, 0.1: the one fen goes to the largest remainder, central.
        (1, [1, 0, 0, 0]),
        # 1.8, 0.6, 0.3, 0.3: floors 1, 0, 0, 0; two fen left: central (.8), provincial (.6).
        (3, [2, 1, 0, 0]),
        # 3, 1, 0.5, 0.5: one fen left, a tie: municipal before county (the fixed order).
        (5, [3, 1, 1, 0]),
        (113_900_000, [68_340_000, 22_780_000, 11_390_000, 11_390_000]),
    ],
)
def test_split_by_shares(total_fen: int, parts: list[int]) -> None:
    split = split_by_shares(total_fen, SHANXI_SHARES)
    assert [split[lv] for lv in LEVELS] == parts


shares_strategy = st.lists(st.integers(0, 1000), min_size=4, max_size=4).filter(
    lambda xs: sum(xs) > 0
)


@given(total=st.integers(0, 10**15), weights=shares_strategy)
def test_a_split_adds_up_and_stays_within_a_fen(total: int, weights: list[int]) -> None:
    shares = {lv: Decimal(w) / sum(weights) for lv, w in zip(LEVELS, weights, strict=True)}
    split = split_by_shares(total, shares)
    assert sum(split.values()) == total
    for level in LEVELS:
        assert abs(split[level] - Fraction(shares[level]) * total) < 1


# ------------------------------------------------------------------ from the read model


@pytest.fixture
def fl(store_url: str) -> Iterator[App]:
    built = bootstrap_app(Settings(database_url=store_url))
    built.ledger.init(["140000", "440000"])
    built.read_models.create_tables()
    for fund in (CITY, CITY2, GD_CITY):
        built.ledger.open_fund(fund, first_year=2023)
    built.ledger.open_fund(OLD, first_year=2021)
    try:
        yield built
    finally:
        built.close()


def by_level(item: dict[str, Any]) -> dict[str, tuple[str, str, str, str]]:
    return {
        x["level"]: (x["due"], x["received"], x["outstanding"], x["earmarked_received"])
        for x in item["levels"]
    }


def test_due_received_outstanding(fl: App) -> None:
    for county, enrolled in (("140105", 1000), ("140106", 500), ("140105", 1200)):
        fl.ledger.record_enrolment(CITY, 2024, county, enrolled, correct=True)
    fl.ledger.record_enrolment(CITY, 2025, "140105", 999)
    fl.ledger.import_postings(
        [
            posting("resident:140100 subsidy/standard@central 500000.00 2024-03-31 S-1"),
            posting("resident:140100 subsidy/standard@central 183400.00 2024-12-20 S-2"),
            posting("resident:140100 subsidy/standard@provincial 200000.00 2024-06-30 P-1"),
            posting("resident:140100 subsidy@provincial 50000.00 2024-07-31 P-2"),
            posting("resident:140100 subsidy@provincial 50000.00 2024-08-01 P-2R reverses=P-2"),
            posting("resident:140100 subsidy/earmarked@county 10000.00 2024-09-30 E-1"),
            posting("resident:140100 subsidy/standard@central 1000.00 2025-01-31 S-3"),
            posting("resident:140200 subsidy/standard@central 1000.00 2024-05-31 S-1"),
        ]
    )
    fl.read_models.catch_up()
    db = fl.read_models.projectors[0].db
    items = [x.to_json() for x in subsidies_report(db, 2024, policy_for=load_policy)]
    assert [x["fund"] for x in items] == ["resident:140100", "resident:140200"]
    city, city2 = items
    # 1,000 replaced by 1,200 in 140105, plus 500: 1,700 × 670.00 = 1,139,000.00.
    assert (city["enrolled"], city["standard_per_person"]) == (1700, "670.00")
    assert (city["due"], city["received"], city["outstanding"]) == (
        "1139000.00",
        "883400.00",
        "255600.00",
    )
    assert city["earmarked_received"] == "10000.00"
    assert by_level(city) == {
        "central": ("683400.00", "683400.00", "0.00", "0.00"),
        "provincial": ("227800.00", "200000.00", "27800.00", "0.00"),
        "municipal": ("113900.00", "0.00", "113900.00", "0.00"),
        "county": ("113900.00", "0.00", "113900.00", "10000.00"),
    }
    assert [x["share"] for x in city["levels"]] == ["0.600000", "0.200000", "0.100000", "0.100000"]
    # Received without enrolment: nothing due, paid ahead.
    assert city2["enrolled"] == 0
    assert by_level(city2)["central"] == ("0.00", "1000.00", "-1000.00", "0.00")
    only = subsidies_report(db, 2025, policy_for=load_policy, fund="resident:140100")
    assert only[0].enrolled == 999
    assert only[0].to_json()["due"] == "699300.00"  # 999 × 700.00


def test_guangdong_shares_and_a_missing_standard(fl: App) -> None:
    fl.ledger.record_enrolment(GD_CITY, 2023, "440105", 3)
    fl.ledger.record_enrolment(OLD, 2021, "140302", 10)
    fl.read_models.catch_up()
    db = fl.read_models.projectors[0].db
    (guangdong,) = subsidies_report(db, 2023, policy_for=load_policy, fund=str(GD_CITY))
    # 3 × 640.00 = 1,920.00: 30%, 35%, 17.5%, 17.5%.
    assert {k: v[0] for k, v in by_level(guangdong.to_json()).items()} == {
        "central": "576.00", "provincial": "672.00", "municipal": "336.00", "county": "336.00",
    }  # fmt: skip
    with pytest.raises(
        InvalidInput, match=r"no subsidy standard for 2021 \(subsidy.standards.2021"
    ):
        subsidies_report(db, 2021, policy_for=load_policy)


# ------------------------------------------------------------------ the command line


def test_cli_enrolment_and_subsidies(sqlite_url: str) -> None:
    built = bootstrap_app(Settings(database_url=sqlite_url))
    built.ledger.init(["140000"])
    built.read_models.create_tables()
    built.ledger.open_fund(CITY, first_year=2024)
    built.ledger.post(posting("resident:140100 subsidy/standard@central 1000.00 2024-05-31 S-1"))
    built.close()
    runner = CliRunner()
    recorded = runner.invoke(
        cli, ["enrolment", "record", str(CITY), "--year", "2024", "--county", "140105",
              "--enrolled", "10", "--db", sqlite_url],
    )  # fmt: skip
    assert recorded.exit_code == 0, recorded.output
    assert "10 residents enrolled in 140105" in recorded.stdout
    outside = runner.invoke(
        cli, ["enrolment", "record", str(CITY), "--year", "2024", "--county", "150105",
              "--enrolled", "10", "--db", sqlite_url],
    )  # fmt: skip
    assert outside.exit_code == 2
    assert outside.stderr.startswith("county: '150105' is not inside the fund's region 140100")
    result = runner.invoke(
        cli, ["subsidies", "--year", "2024", "--format", "json", "--db", sqlite_url]
    )
    assert result.exit_code == 0, result.output
    (item,) = json.loads(result.stdout)
    assert (item["due"], item["received"], item["outstanding"]) == ("6700.00", "1000.00", "5700.00")
    as_csv = runner.invoke(
        cli, ["subsidies", "--year", "2024", "--format", "csv", "--db", sqlite_url]
    )
    assert as_csv.stdout.splitlines()[1] == (
        "resident:140100,2024,10,670.00,central,0.600000,4020.00,1000.00,3020.00,0.00"
    )
    assert as_csv.stdout.splitlines()[-1].startswith("resident:140100,2024,10,670.00,total,")


def test_enrolment_is_idempotent_corrected_explicitly_and_final_once_closed(fl: App) -> None:
    fl.ledger.record_enrolment(CITY, 2024, "140105", 1000)
    versions = len(list(fl.ledger.fund_events(CITY)))
    fl.ledger.record_enrolment(CITY, 2024, "140105", 1000)
    assert len(list(fl.ledger.fund_events(CITY))) == versions
    with pytest.raises(PostingRefused, match="already has 1000 residents enrolled"):
        fl.ledger.record_enrolment(CITY, 2024, "140105", 1200)
    fl.ledger.record_enrolment(CITY, 2024, "140105", 1200, correct=True)
    assert len(list(fl.ledger.fund_events(CITY))) == versions + 1
    found = fl.ledger.find_fund(CITY)
    assert found is not None
    assert found.enrolled_in(2024, "140105") == 1200
    fl.ledger.close_year(CITY, 2023, today=date(2025, 3, 1))
    fl.ledger.close_year(CITY, 2024, today=date(2025, 3, 1))
    with pytest.raises(PostingRefused, match="2024 is closed"):
        fl.ledger.record_enrolment(CITY, 2024, "140105", 1300, correct=True)
    with pytest.raises(PostingRefused, match="2024 is closed"):
        fl.ledger.record_enrolment(CITY, 2024, "140106", 10)
