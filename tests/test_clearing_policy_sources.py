"""The shipped clearing policies hold only the rules their sources have, each naming its source
(issue 9, point 6); settlements cite the real source."""

from __future__ import annotations

from importlib import resources

import pytest

from api.bootstrap import bootstrap_app
from api.settings import Settings
from clearing import settlement
from clearing.policy import RULE_KEYS, load_policy, parse_policy
from domain.errors import InvalidInput
from tests.conftest import TEST_PROVINCES
from tests.scenario import JILIN_MERGED, posting

POLICIES = resources.files("clearing") / "policies"


SHIPPED = ("140000", "220000", "320000", "610000", "440000")


@pytest.mark.parametrize("province", SHIPPED)
def test_each_rule_a_shipped_policy_sets_names_its_source(province: str) -> None:
    """Issue 9, point 6: a rule texts cite the file's own source for it."""
    policy = load_policy(province, 2025)
    setting = {"sharing", *(["levy"] if policy.levy.ratio else [])}
    if policy.eligibility.require_levy_paid_in_full:
        setting.add("eligibility")
    if policy.caps.overspend_cover_share is not None:
        setting.add("caps")
    if policy.levy.cap_months is not None:
        setting.add("levy.cap_months")
    assert setting <= set(policy.sources), sorted(setting - set(policy.sources))
    assert set(policy.sources) <= set(RULE_KEYS)


def test_shanxi_carries_only_the_rules_of_the_shanxi_draft() -> None:
    """Today: Nantong's own fault and Guangyuan's levy-paid-in-full eligibility were shipped
    in the Shanxi policy, which the Shanxi draft does not contain."""
    shanxi = load_policy("140000", 2025)
    assert shanxi.county_own_fault is False
    assert shanxi.eligibility.require_levy_paid_in_full is False
    assert "county_own_fault" not in shanxi.sources
    assert load_policy("320000", 2025).county_own_fault  # still there for Nantong


def test_an_unknown_rule_in_sources_is_refused() -> None:
    text = (POLICIES / "320000.toml").read_text(encoding="utf-8") + 'bands = "x"\n'
    with pytest.raises(InvalidInput, match="sources"):
        parse_policy(text, "320000.toml")


def test_a_jilin_settlement_cites_jilin_not_nantong(store_url: str) -> None:
    """Today the merged Jilin fund's rule said "(Nantong 2019, Art. 38)"."""
    app = bootstrap_app(Settings(database_url=store_url))
    try:
        app.ledger.init(TEST_PROVINCES)
        app.read_models.create_tables()
        app.ledger.open_fund(JILIN_MERGED, first_year=2017)
        app.ledger.import_postings(
            [
                posting(f"{JILIN_MERGED} contribution/individual 100000.00 2017-11-02 C17"),
                posting(f"{JILIN_MERGED} benefit/inpatient 130000.00 2017-09-30 B17"),
            ]
        )
        app.read_models.catch_up()
        (pool,) = settlement.dry_run(app, "220000", 2017).result["pools"]
        text = " ".join(pool["rules"])
        assert "Nantong" not in text
        assert "no adjustment fund" in text
        assert "Jilin 2016" in text
    finally:
        app.close()
