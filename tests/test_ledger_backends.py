"""The ledger's behaviour, the same on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

import pytest

from domain.authorship import Author
from domain.errors import (
    FundAlreadyRegistered,
    FundNotRegistered,
    PostingRefused,
    ReferenceConflict,
)
from domain.ledger import SNAPSHOT_INTERVAL
from domain.ledger_service import Ledger, RowErrors
from projections.statement import statement_for
from tests.scenario import (
    CITY,
    CITY2,
    JILIN_MERGED,
    NCMS,
    PROVINCE_ADJUSTMENT,
    URBAN,
    posting,
)


def open_funds(ledger: Ledger) -> None:
    ledger.open_fund(CITY, first_year=2023, opening_balance_fen=3_522_600, name="太原市")
    ledger.open_fund(CITY2, first_year=2023)
    ledger.open_fund(PROVINCE_ADJUSTMENT, first_year=2023)


def test_open_fund_is_idempotent_and_particulars_are_fixed(ledger: Ledger) -> None:
    fund, created = ledger.open_fund(CITY, first_year=2023, opening_balance_fen=100)
    again, created_again = ledger.open_fund(CITY, first_year=2023, opening_balance_fen=100)
    assert (created, created_again) == (True, False)
    assert again.version == fund.version == 1
    with pytest.raises(FundAlreadyRegistered):
        ledger.open_fund(CITY, first_year=2024, opening_balance_fen=100)


def test_posting_to_unregistered_fund_is_refused(ledger: Ledger) -> None:
    with pytest.raises(FundNotRegistered):
        ledger.post(posting("resident:140100 benefit 1.00 2024-01-31 B-1"))


def test_duplicate_is_skipped_and_conflict_refused(ledger: Ledger) -> None:
    open_funds(ledger)
    first = ledger.post(posting("resident:140100 benefit/inpatient 3000.50 2024-03-31 B-1"))
    again = ledger.post(posting("resident:140100 benefit/inpatient 3000.50 2024-03-31 B-1"))
    assert (first.status, again.status) == ("posted", "duplicate")
    assert again.voucher == first.voucher
    with pytest.raises(ReferenceConflict):
        ledger.post(posting("resident:140100 benefit/inpatient 3000.51 2024-03-31 B-1"))
    found = ledger.find_fund(CITY)
    assert found is not None
    assert found.version == 2
    assert found.balance_fen == 3_522_600 - 300_050


def test_inter_level_pair_is_written_on_both_funds(ledger: Ledger) -> None:
    open_funds(ledger)
    ledger.post(
        posting(
            "resident:140100 to_upper 100.00 2024-12-20 L-1 "
            "counterparty=adjustment:140000 purpose=adjustment_levy"
        )
    )
    city = statement_for(ledger, CITY, 2024).to_json()
    adjustment = statement_for(ledger, PROVINCE_ADJUSTMENT, 2024).to_json()
    assert city["expense"]["to_upper"] == "100.00"
    assert adjustment["income"]["from_lower"] == "100.00"
    assert adjustment["closing_balance"] == "100.00"
    assert city["closing_balance"] == "35126.00"


def test_to_upper_must_go_up(ledger: Ledger) -> None:
    open_funds(ledger)
    with pytest.raises(PostingRefused, match="higher level"):
        ledger.post(
            posting("resident:140100 to_upper 1.00 2024-12-20 L-1 counterparty=resident:140200")
        )


def test_reversal_nets_to_zero_once_only_on_both_sides(ledger: Ledger) -> None:
    open_funds(ledger)
    ledger.post(
        posting("resident:140100 to_upper 100.00 2024-12-20 L-1 counterparty=adjustment:140000")
    )
    ledger.post(posting("resident:140100 to_upper 100.00 2024-12-21 L-1R reverses=L-1"))
    assert statement_for(ledger, CITY, 2024).to_json()["expense"]["to_upper"] == "0.00"
    assert (
        statement_for(ledger, PROVINCE_ADJUSTMENT, 2024).to_json()["income"]["from_lower"] == "0.00"
    )
    with pytest.raises(PostingRefused, match="already reversed"):
        ledger.post(posting("resident:140100 to_upper 100.00 2024-12-22 L-1R2 reverses=L-1"))
    with pytest.raises(PostingRefused, match="itself a reversal"):
        ledger.post(posting("resident:140100 to_upper 100.00 2024-12-22 L-1R3 reverses=L-1R"))
    ledger.post(posting("resident:140100 benefit 5.00 2024-12-22 B-9"))
    with pytest.raises(PostingRefused, match="amount"):
        ledger.post(posting("resident:140100 benefit 4.00 2024-12-22 B-9R reverses=B-9"))


def test_legacy_funds_may_not_subsidise_each_other(ledger: Ledger) -> None:
    ledger.open_fund(URBAN, first_year=2016)
    ledger.open_fund(NCMS, first_year=2016)
    with pytest.raises(PostingRefused, match="Jilin"):
        ledger.post(
            posting(
                "urban_resident:220100 transfer_out 5.00 2017-01-05 T-1 counterparty=ncms:220100"
            )
        )


def test_legacy_merge_is_booked_against_opening_balance(ledger: Ledger) -> None:
    ledger.open_fund(NCMS, first_year=2016, opening_balance_fen=500_000)
    ledger.open_fund(JILIN_MERGED, first_year=2017)
    ledger.post(posting("resident:220100 contribution/individual 100.00 2017-11-01 C-1"))
    ledger.post(
        posting(
            "ncms:220100 transfer_out 5000.00 2017-06-30 M-1 "
            "counterparty=resident:220100 purpose=legacy_merge"
        )
    )
    merged = statement_for(ledger, JILIN_MERGED, 2017).to_json()
    legacy = statement_for(ledger, NCMS, 2017).to_json()
    assert merged["opening_balance_transfers"] == "5000.00"
    assert merged["income"]["transfer_in"] == "0.00"
    assert merged["ratios"]["current_surplus_rate"] == "1.000000"
    assert merged["closing_balance"] == "5100.00"
    assert legacy["expense"]["transfer_out"] == "0.00"
    assert legacy["closing_balance"] == "0.00"
    assert any("added to the opening balance (5000.00)" in n for n in merged["notes"])
    assert any("merged into another fund" in n and "(-5000.00)" in n for n in legacy["notes"])


def test_import_with_a_bad_row_writes_nothing(ledger: Ledger) -> None:
    open_funds(ledger)
    rows = [
        posting("resident:140100 contribution/individual 10.00 2024-11-01 C-1"),
        posting("resident:140100 subsidy 10.00 2024-11-01 S-1"),  # no level
        posting("resident:140100 benefit 10.00 2022-11-01 B-1"),  # before the first year
    ]
    with pytest.raises(RowErrors) as raised:
        ledger.import_postings(rows)
    assert [(e.index, e.error.field) for e in raised.value.errors] == [
        (1, "level"),
        (2, "value_date"),
    ]
    found = ledger.find_fund(CITY)
    assert found is not None
    assert found.version == 1


def test_import_in_chunks_then_reimport_changes_nothing(ledger: Ledger) -> None:
    open_funds(ledger)
    rows = [
        posting(f"resident:140100 contribution/individual 1.{i % 100:02d} 2024-11-01 C-{i}")
        for i in range(250)
    ]
    seen: list[int] = []
    report = ledger.import_postings(rows, chunk=100, progress=seen.append)
    assert (report.posted, report.duplicates) == (250, 0)
    assert seen[-1] == 250
    before = statement_for(ledger, CITY, 2024).to_json()
    again = ledger.import_postings(rows, chunk=100)
    assert (again.posted, again.duplicates) == (0, 250)
    assert statement_for(ledger, CITY, 2024).to_json() == before
    found = ledger.find_fund(CITY)
    assert found is not None
    assert found.version == 251


def test_chain_is_intact_after_postings(ledger: Ledger) -> None:
    open_funds(ledger)
    ledger.post(posting("resident:140100 benefit 1.00 2024-01-31 B-1"))
    links = ledger.chain(CITY)
    assert [link.version for link in links] == [1, 2]
    assert all(link.ok for link in links)
    assert links[1].event.prev_hash == links[0].event.chain_hash


def test_one_atomic_save_records_each_posting_s_author(ledger: Ledger) -> None:
    """``post_atomically`` (a settlement's draws) saves several postings, each with its author."""
    open_funds(ledger)
    ledger.post(posting("resident:140100 benefit 1.00 2024-01-31 B-0"))  # names nobody
    rows = [
        replace(posting("resident:140100 benefit 2.00 2024-02-01 B-1"), author=Author("li")),
        replace(
            posting(
                "resident:140100 to_upper 3.00 2024-02-02 L-1 "
                "counterparty=adjustment:140000 purpose=adjustment_levy"
            ),
            author=Author("wang", request_id="req-9"),
        ),
    ]
    outcomes = ledger.province("140000").post_atomically(rows, [])
    assert [o.status for o in outcomes] == ["posted", "posted"]
    city = ledger.chain(CITY)
    assert [(link.recorded_by, link.request_id) for link in city] == [
        (None, None),
        (None, None),
        ("li", None),
        ("wang", "req-9"),
    ]
    mirror = ledger.chain(PROVINCE_ADJUSTMENT)[-1]
    assert (mirror.recorded_by, mirror.request_id, mirror.ok) == ("wang", "req-9", True)
    assert all(link.ok for link in city)


def test_a_fund_is_snapshotted_at_each_interval_by_single_and_bulk_writes(ledger: Ledger) -> None:
    open_funds(ledger)
    province = ledger.province(CITY.province)

    def latest_snapshot() -> tuple[int, str] | None:
        found = list(province.snapshots.get(CITY.aggregate_id, desc=True, limit=1))
        return (found[0].originator_version, found[0].state["last_hash"]) if found else None

    def hash_at(version: int) -> str:
        return str(list(ledger.fund_events(CITY))[version - 1].chain_hash)

    for i in range(SNAPSHOT_INTERVAL - 2):  # versions 2 .. interval - 1: no boundary passed
        ledger.post(posting(f"resident:140100 interest 0.01 2024-01-01 I-{i}"))
    assert latest_snapshot() is None
    ledger.post(posting("resident:140100 interest 0.01 2024-01-01 I-AT"))  # version = interval
    assert latest_snapshot() == (SNAPSHOT_INTERVAL, hash_at(SNAPSHOT_INTERVAL))
    ledger.import_postings(
        [
            posting(f"resident:140100 interest 0.01 2024-01-02 J-{i}")
            for i in range(SNAPSHOT_INTERVAL + 10)
        ]
    )  # versions interval + 1 .. 2 × interval + 10: one boundary passed inside the import
    assert latest_snapshot() == (2 * SNAPSHOT_INTERVAL + 10, hash_at(2 * SNAPSHOT_INTERVAL + 10))
