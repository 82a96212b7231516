"""The clearing house on every backend: levy, draft → approve → post, reports, what-if, replay.

Shanxi, 2024: two city pools and the provincial adjustment fund. Taiyuan (140100) runs a deep
gap, Datong (140200) a small one; the levy is 3% of last year's contribution and subsidy.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.bootstrap import App, bootstrap_app
from api.exports.settlement import FileFormat, render
from api.settings import Settings
from clearing import settlement
from clearing.levy import levy_plan, post_levies
from clearing.policy import load_policy
from clearing.pool_inputs import assess, plan
from clearing.queries import CountyPlan, county_plans
from domain.clearing_inputs import ClearingInputRefused
from domain.errors import FundNotRegistered, InvalidInput
from domain.funds import FundId
from domain.ledger_service import Ledger
from domain.settlement import SettlementRefused
from tests.conftest import TEST_PROVINCES
from tests.scenario import CITY, CITY2, PROVINCE_ADJUSTMENT, posting

PROVINCE = "140000"


def report(app: App, province: str, year: int, fmt: FileFormat) -> bytes:
    """The recorded settlement's file, as ``settle report`` writes it."""
    return render(settlement.settlement_view(app, province, year), fmt)


FUNDS = (CITY, CITY2, PROVINCE_ADJUSTMENT)
POSTINGS = [
    "resident:140100 contribution/individual 4000000.00 2023-11-02 C23 county=140105",
    "resident:140100 subsidy/standard@central 6000000.00 2023-06-30 S23",
    "resident:140100 benefit/inpatient 9000000.00 2023-03-31 B23",
    "resident:140200 contribution/individual 2000000.00 2023-11-02 C23",
    "resident:140200 benefit/inpatient 1900000.00 2023-03-31 B23",
    "resident:140100 contribution/individual 4000000.00 2024-11-02 C24 county=140105",
    "resident:140100 subsidy/standard@central 6000000.00 2024-06-30 S24 county=140105",
    "resident:140100 benefit/inpatient 11500000.00 2024-03-31 B24",
    "resident:140200 contribution/individual 2000000.00 2024-11-02 C24",
    "resident:140200 benefit/inpatient 2300000.00 2024-03-31 B24",
]


def make_app(url: str) -> App:
    app = bootstrap_app(Settings(database_url=url))
    app.ledger.init(TEST_PROVINCES)
    app.read_models.create_tables()
    return app


@pytest.fixture
def app(store_url: str) -> Iterator[App]:
    built = make_app(store_url)
    for fund, balance in ((CITY, 1_000_000_00), (CITY2, 500_000_00), (PROVINCE_ADJUSTMENT, 0)):
        built.ledger.open_fund(fund, first_year=2023, opening_balance_fen=balance)
    built.ledger.import_postings([posting(p) for p in POSTINGS])
    built.read_models.catch_up()
    try:
        yield built
    finally:
        built.close()


def levy(app: App) -> list[str]:
    levies = levy_plan(app.read_models, PROVINCE, 2024, load_policy(PROVINCE, 2024))
    return [p.status for p in post_levies(app.ledger, app.read_models, levies)]


def line(app: App, fund: FundId, key: str, year: int = 2024) -> int:
    return app.read_models.statement(fund, year).line(key)


def head(app: App) -> int:
    return int(app.ledger.province(PROVINCE).recorder.max_notification_id() or 0)


def test_the_levy_is_posted_once(app: App) -> None:
    assert levy(app) == ["posted", "posted"]
    after_first = head(app)
    assert levy(app) == ["already posted", "already posted"]
    assert head(app) == after_first
    assert line(app, CITY, "to_upper") == 300_000_00  # 3% of 10,000,000.00
    assert line(app, CITY2, "to_upper") == 60_000_00
    assert line(app, PROVINCE_ADJUSTMENT, "from_lower") == 360_000_00


def test_the_levy_stops_at_the_cap(app: App) -> None:
    """Six months of 2023's spending (10,900,000.00) is 5,450,000.00: the fund stops there."""
    app.ledger.import_postings(
        [posting("adjustment:140000 interest 5449000.00 2023-12-31 I-1")]
    )  # opening 2024: 5,449,000.00, room 1,000.00 shared 5:1
    plan_ = levy_plan(app.read_models, PROVINCE, 2024, load_policy(PROVINCE, 2024))
    assert plan_.cap_fen == 5_450_000_00
    assert [x.levy_fen for x in plan_.levies] == [833_33, 166_67]
    assert [x.due_fen for x in plan_.levies] == [300_000_00, 60_000_00]


def test_draft_approve_post(app: App) -> None:
    levy(app)
    view, changed = settlement.draft(app, PROVINCE, 2024, "li")
    assert changed
    assert view.status == "draft"
    assert settlement.draft(app, PROVINCE, 2024, "li")[1] is False  # the same draft again
    with pytest.raises(SettlementRefused, match="li drafted this settlement"):
        settlement.approve(app, PROVINCE, 2024, "li")
    with pytest.raises(SettlementRefused, match="is a draft"):
        settlement.post(app, PROVINCE, 2024, "zhao")
    approved, changed = settlement.approve(app, PROVINCE, 2024, "zhao")
    assert (approved.status, approved.approved_by, changed) == ("approved", "zhao", True)
    with pytest.raises(SettlementRefused, match="can no longer be redrafted"):
        settlement.draft(app, PROVINCE, 2024, "li")
    posted = settlement.post(app, PROVINCE, 2024, "zhao")
    assert posted.status == "posted"
    data = posted.to_json()
    draws = {p["fund"]: p["draw"] for p in data["pools"]}
    # requests 660,000.00 and 132,000.00 (grade C bands on an 18% gap rate) scaled to the
    # 360,000.00 the adjustment fund holds (this year's levies)
    assert data["adjustment_fund"] == {
        "fund": "adjustment:140000",
        "balance": "360000.00",
        "draws_total": "360000.00",
        "requested_total": "792000.00",
        "scale": "0.454545",
    }
    assert draws == {"resident:140100": "300000.00", "resident:140200": "60000.00"}
    # issue 9, point 7: each request before scaling, and who took a remaining fen (none here)
    assert [(p["request"], p["remaining_fen_taken"]) for p in data["pools"]] == [
        ("660000.00", 0), ("132000.00", 0),
    ]  # fmt: skip
    assert (
        "draw scaled pro rata to what the adjustment fund holds: request 660000.00 × balance "
        "÷ requests = 300000.00 rounded down = 300000.00 (以收定支)"
    ) in data["pools"][0]["rules"]
    assert line(app, PROVINCE_ADJUSTMENT, "to_lower") == 360_000_00
    assert line(app, CITY, "from_upper") == 300_000_00
    assert line(app, CITY2, "from_upper") == 60_000_00
    with pytest.raises(SettlementRefused, match="already posted by zhao"):
        settlement.post(app, PROVINCE, 2024, "zhao")
    assert line(app, PROVINCE_ADJUSTMENT, "to_lower") == 360_000_00


def test_every_part_adds_up_and_counties_carry_their_fault(app: App) -> None:
    levy(app)
    assess(app.ledger, CITY, 2024, grade="A", score="91.5", principal="wang")
    amounts = (5_000_000_00, 7_000_000_00, 0)
    plan(app.ledger, CITY, 2024, county="140105", amounts=amounts, principal="wang")
    # Shanxi's draft has no own-fault rule: a province that adopts Nantong's turns it on
    adopted = load_policy(PROVINCE, 2024).model_copy(update={"county_own_fault": True})
    assert not settlement.dry_run(app, PROVINCE, 2024).to_json()["pools"][0]["counties"]
    view = settlement.dry_run(app, PROVINCE, 2024, adopted)
    taiyuan = view.to_json()["pools"][0]
    assert taiyuan["gap"] == "1800000.00"
    assert taiyuan["own_fault"] == "1800000.00"
    assert taiyuan["counties"] == [
        {
            "county": "140105",
            "own_fault": "1800000.00",
            "owed": "2000000.00",  # the whole shortfall, though the gap is smaller
            "reason": "collection plan missed by 1000000.00 (planned 5000000.00, collected "
            "4000000.00); subsidy unpaid 1000000.00 (planned 7000000.00, received 6000000.00)",
            "causes": [
                {"cause": "collection_plan_missed", "amount": "1000000.00",
                 "detail": "collection plan missed by 1000000.00 (planned 5000000.00, "
                 "collected 4000000.00)", "reference": "MAKEGOOD-2024-140105"},
                {"cause": "subsidy_not_paid", "amount": "1000000.00",
                 "detail": "subsidy unpaid 1000000.00 (planned 7000000.00, received "
                 "6000000.00)", "reference": "MAKEGOOD-2024-140105"},
            ],
        }
    ]  # fmt: skip
    for pool in view.result["pools"]:
        parts = ("own_fault_fen", "draw_fen", "borne_by_balance_fen", "residual_to_government_fen")
        assert sum(pool[k] for k in parts) == pool["gap_fen"]


def test_a_grade_must_be_one_of_the_policy(app: App) -> None:
    levy(app)
    with pytest.raises(InvalidInput, match="not a grade"):
        assess(app.ledger, CITY, 2024, grade="E", score=None, principal="wang")
    assert assess(app.ledger, CITY, 2024, grade="B", score=None, principal="wang")
    assert not assess(app.ledger, CITY, 2024, grade="B", score=None, principal="wang")
    assert assess(app.ledger, CITY, 2024, grade="A", score="95", principal="wang")
    rules = settlement.dry_run(app, PROVINCE, 2024).result["pools"][0]["rules"]
    assert any("grade A" in r for r in rules)  # the latest record wins


def test_reports_are_byte_identical(app: App, store_url: str, tmp_path: Path) -> None:
    levy(app)
    settlement.draft(app, PROVINCE, 2024, "li")
    first = {f: report(app, PROVINCE, 2024, f) for f in ("json", "csv", "xlsx")}
    assert settlement.draft(app, PROVINCE, 2024, "li")[1] is False
    again = {f: report(app, PROVINCE, 2024, f) for f in ("json", "csv", "xlsx")}
    assert first == again
    assert first["xlsx"][:2] == b"PK"
    if store_url != "memory://":  # another process reading the same store
        other = make_app(store_url)
        try:
            assert report(other, PROVINCE, 2024, "xlsx") == first["xlsx"]
        finally:
            other.close()
    dry = settlement.dry_run(app, PROVINCE, 2024)
    assert render(dry, "json") == first["json"]


def test_the_inputs_hash_survives_posting(app: App) -> None:
    levy(app)
    drafted, _ = settlement.draft(app, PROVINCE, 2024, "li")
    settlement.approve(app, PROVINCE, 2024, "zhao")
    settlement.post(app, PROVINCE, 2024, "zhao")
    assert settlement.dry_run(app, PROVINCE, 2024).inputs_hash == drafted.inputs_hash


def test_a_stale_draft_is_not_approved_and_an_approval_is_posted_as_approved(app: App) -> None:
    levy(app)
    settlement.draft(app, PROVINCE, 2024, "li")
    app.ledger.import_postings([posting("resident:140200 benefit 1000.00 2024-12-30 B-LATE")])
    with pytest.raises(SettlementRefused, match="changed since the draft"):
        settlement.approve(app, PROVINCE, 2024, "zhao")
    _, changed = settlement.draft(app, PROVINCE, 2024, "li")
    assert changed
    assert settlement.approve(app, PROVINCE, 2024, "zhao")[0].status == "approved"
    approved = report(app, PROVINCE, 2024, "json")
    app.ledger.import_postings([posting("resident:140100 interest 1.00 2024-12-30 I-LATE")])
    posted = settlement.post(app, PROVINCE, 2024, "zhao")  # what was approved is posted
    assert (
        line(app, PROVINCE_ADJUSTMENT, "to_lower")
        == posted.result["adjustment_fund"]["draws_total_fen"]
    )
    assert report(app, PROVINCE, 2024, "json") == approved.replace(
        b'"status": "approved"', b'"status": "posted"'
    )


def test_what_if_writes_nothing(app: App, tmp_path: Path) -> None:
    levy(app)
    sequential = tmp_path / "sequential.toml"
    national = Path("clearing/policies/national.toml").read_text(encoding="utf-8")
    sequential.write_text(
        national.replace('province = "000000"', 'province = "140000"').replace(
            'version = "2018.1"', 'version = "what-if"'
        ),
        encoding="utf-8",
    )
    before = head(app)
    both = settlement.what_if(app, PROVINCE, 2024, sequential)
    assert head(app) == before
    assert settlement.find_settlement(app.ledger, PROVINCE, 2024) is None
    assert both.current.policy["version"] == "2024-draft.1"
    assert both.alternative.policy["version"] == "what-if"
    now = [p["draw_fen"] for p in both.current.result["pools"]]
    then = [p["draw_fen"] for p in both.alternative.result["pools"]]
    assert (now, then) == ([300_000_00, 60_000_00], [0, 0])  # own balances come first
    assert both.current.inputs_hash != both.alternative.inputs_hash


def test_posting_then_replaying_gives_the_same_balances(app: App) -> None:
    levy(app)
    settlement.draft(app, PROVINCE, 2024, "li")
    settlement.approve(app, PROVINCE, 2024, "zhao")
    settlement.post(app, PROVINCE, 2024, "zhao")
    keys = [(f, y) for f in FUNDS for y in (2023, 2024)]
    live = {k: app.read_models.statement(*k).to_json() for k in keys}
    recorded = report(app, PROVINCE, 2024, "json")
    app.read_models.rebuild()
    assert {k: app.read_models.statement(*k).to_json() for k in keys} == live
    assert report(app, PROVINCE, 2024, "json") == recorded
    closing = {str(f): live[(f, 2024)]["closing_balance"] for f in FUNDS}
    assert closing == {
        "resident:140100": "500000.00",
        "resident:140200": "300000.00",
        "adjustment:140000": "0.00",
    }


def test_the_latest_county_plan_wins(app: App) -> None:
    plan(app.ledger, CITY, 2024, county="140105", amounts=(1, 2, 3), principal="wang")
    plan(app.ledger, CITY, 2024, county="140105", amounts=(4, 5, 6), principal="wang")
    assert not plan(app.ledger, CITY, 2024, county="140105", amounts=(4, 5, 6), principal="li")
    app.read_models.catch_up()
    db = app.read_models.for_province(PROVINCE).db
    assert county_plans(db, str(CITY), 2024) == [CountyPlan("140105", 4, 5, 6)]
    assert len(db.query("SELECT * FROM fl_county_plans")) == 2  # the earlier one stays visible
    app.read_models.rebuild()
    assert county_plans(db, str(CITY), 2024) == [CountyPlan("140105", 4, 5, 6)]


def test_clearing_input_refusals(memory_ledger: Ledger) -> None:
    province_pool = FundId.parse("resident:140000")
    for fund in (CITY, PROVINCE_ADJUSTMENT, province_pool):
        memory_ledger.open_fund(fund, first_year=2023)
    with pytest.raises(ClearingInputRefused, match="not a municipal pool"):
        plan(memory_ledger, province_pool, 2024, county="140105", amounts=(0, 0, 0), principal="w")
    with pytest.raises(ClearingInputRefused, match="not a resident pool"):
        assess(memory_ledger, PROVINCE_ADJUSTMENT, 2024, grade="A", score=None, principal="w")
    with pytest.raises(InvalidInput, match="planned amount"):
        plan(memory_ledger, CITY, 2024, county="140105", amounts=(-1, 0, 0), principal="w")
    with pytest.raises(FundNotRegistered):
        assess(memory_ledger, CITY2, 2024, grade="A", score=None, principal="w")
    with pytest.raises(InvalidInput, match="keeps its books from 2023"):
        assess(memory_ledger, CITY, 2022, grade="A", score=None, principal="w")
    with pytest.raises(InvalidInput, match="who records it"):
        assess(memory_ledger, CITY, 2024, grade="A", score=None, principal="  ")
    with pytest.raises(InvalidInput, match="score"):
        assess(memory_ledger, CITY, 2024, grade="A", score="1e2", principal="w")
