"""Issue 9 point 5: Jilin closed properly.

Fails on the code before the fix: ``urban_resident → resident → ncms`` was accepted although
``urban_resident → ncms`` is refused, a legacy fund could pay into the adjustment fund, and a
legacy fund's own balance could never bear its gap (no such policy setting).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.bootstrap import App, bootstrap_app
from api.settings import Settings
from clearing import settlement
from clearing.policy import load_policy
from domain.errors import PostingRefused
from domain.funds import FundId
from tests.scenario import JILIN_MERGED, NCMS, URBAN, posting

ADJUSTMENT = FundId.parse("adjustment:220000")
COUNTY_NCMS = FundId.parse("ncms:220102")


@pytest.fixture
def jilin(store_url: str) -> Iterator[App]:
    built = bootstrap_app(Settings(database_url=store_url))
    built.ledger.init(["220000"])
    built.read_models.create_tables()
    for fund in (URBAN, NCMS, JILIN_MERGED, ADJUSTMENT, COUNTY_NCMS):
        built.ledger.open_fund(fund, first_year=2016, opening_balance_fen=50_000_00)
    try:
        yield built
    finally:
        built.close()


def test_nothing_flows_back_into_a_legacy_fund_by_any_route(jilin: App) -> None:
    # the first leg (urban_resident -> the merged fund) is a legal transfer; the second,
    # the merged fund -> ncms, would hand the urban fund's money to the NCMS fund
    jilin.ledger.post(
        posting(f"{URBAN} transfer_out 5000.00 2017-03-01 T-1 counterparty={JILIN_MERGED}")
    )
    with pytest.raises(PostingRefused, match="receives nothing from the merged fund"):
        jilin.ledger.post(
            posting(f"{JILIN_MERGED} transfer_out 5000.00 2017-03-02 T-2 counterparty={NCMS}")
        )
    with pytest.raises(PostingRefused, match="receives nothing from the merged fund"):
        jilin.ledger.post(
            posting(f"{JILIN_MERGED} to_lower 5000.00 2017-03-02 T-3 counterparty={COUNTY_NCMS}")
        )
    # nor up into the adjustment fund, to come down again as the other fund's draw
    with pytest.raises(PostingRefused, match="pays nothing into the adjustment fund"):
        jilin.ledger.post(
            posting(f"{URBAN} to_upper 5000.00 2017-03-02 T-4 counterparty={ADJUSTMENT}")
        )
    # the direct pair stays refused; a fund of the same scheme still pays a county's NCMS fund
    with pytest.raises(PostingRefused, match="may not subsidise"):
        jilin.ledger.post(
            posting(f"{URBAN} transfer_out 5000.00 2017-03-02 T-5 counterparty={NCMS}")
        )
    jilin.ledger.post(posting(f"{NCMS} to_lower 1000.00 2017-03-02 T-6 counterparty={COUNTY_NCMS}"))
    jilin.read_models.catch_up()
    ncms = jilin.read_models.statement(NCMS, 2017)
    assert ncms.income_total_fen == 0  # nothing arrived on the NCMS fund from the others
    assert ncms.expense_total_fen == 1000_00


def test_whether_a_legacy_balance_bears_its_gap_first_is_a_policy_setting(jilin: App) -> None:
    # ncms:220100 2017: 100,000 in, 130,000 out: a gap of 30,000; its balance 50,000.
    # The county NCMS fund's gap of 60,000 is more than its balance of 50,000.
    jilin.ledger.import_postings(
        [
            posting(f"{NCMS} contribution 100000.00 2017-11-02 C17"),
            posting(f"{NCMS} benefit 130000.00 2017-09-30 B17"),
            posting(f"{COUNTY_NCMS} contribution 10000.00 2017-11-02 C17"),
            posting(f"{COUNTY_NCMS} benefit 70000.00 2017-09-30 B17"),
        ]
    )
    shipped = load_policy("220000", 2017)
    assert shipped.legacy_balance_first is False  # the Jilin text names only the government
    pools = {p["fund"]: p for p in settlement.dry_run(jilin, "220000", 2017).to_json()["pools"]}
    assert (pools[str(NCMS)]["borne_by_balance"], pools[str(NCMS)]["residual_to_government"]) == (
        "0.00",
        "30000.00",
    )
    own_first = shipped.model_copy(update={"legacy_balance_first": True})
    view = settlement.dry_run(jilin, "220000", 2017, own_first).to_json()
    pools = {p["fund"]: p for p in view["pools"]}
    ncms, county = pools[str(NCMS)], pools[str(COUNTY_NCMS)]
    assert (ncms["gap"], ncms["borne_by_balance"], ncms["residual_to_government"]) == (
        "30000.00", "30000.00", "0.00",
    )  # fmt: skip
    assert (county["gap"], county["borne_by_balance"], county["residual_to_government"]) == (
        "60000.00", "50000.00", "10000.00",
    )  # fmt: skip
    assert ncms["draw"] == county["draw"] == "0.00"
    assert any("own accumulated balance first" in rule for rule in ncms["rules"])
