"""A county's own fault is a receivable, and every amount owed is one receivable (issue 9, points
1 and 2), on every backend.

Nantong's city pool (resident:320600): 启东 (320681) and 如皋 (320682). Nantong 2019: 县（市）、区
未按规定补助到位、未严格执行缴费政策或未完成征收计划等情形形成的基金收入缺口，由县（市）、区政府负责
补足或追缴到位 — a county owes its whole income shortfall whatever the pool's result.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.bootstrap import App, bootstrap_app
from api.settings import Settings
from clearing import settlement
from clearing.catch_up import catch_up_schedule
from clearing.owed import Owed, owed_amounts
from clearing.pool_inputs import plan
from domain.funds import FundId
from domain.lines import Level, Line
from domain.postings import Posting
from tests.conftest import TEST_PROVINCES
from tests.scenario import posting

NANTONG = FundId.parse("resident:320600")
QIDONG, RUGAO = "320681", "320682"


def make_app(url: str) -> App:
    app = bootstrap_app(Settings(database_url=url))
    app.ledger.init(TEST_PROVINCES)
    app.read_models.create_tables()
    app.ledger.open_fund(NANTONG, first_year=2020, opening_balance_fen=1_000_000_00)
    return app


@pytest.fixture
def app(store_url: str) -> Iterator[App]:
    built = make_app(store_url)
    try:
        yield built
    finally:
        built.close()


def settle(app: App, year: int) -> list[Owed]:
    """Draft, approve and post the year; what the ledger then says is owed."""
    settlement.draft(app, "320000", year, "li")
    settlement.approve(app, "320000", year, "zhao")
    view = settlement.post(app, "320000", year, "zhao")
    return owed_now(app, year, view.result)


def owed_now(app: App, year: int, result: dict[str, object]) -> list[Owed]:
    app.read_models.catch_up()
    db = app.read_models.for_province("320000").db
    return owed_amounts(db, year, "posted", result)


def test_a_county_owes_its_shortfall_when_the_pool_ends_in_surplus(app: App) -> None:
    """Today: a county that left 100,000.00 of its subsidy unpaid owed nothing in a surplus."""
    app.ledger.import_postings(
        [
            posting(f"{NANTONG} contribution/individual 1000000.00 2025-11-02 C25 county={QIDONG}"),
            posting(f"{NANTONG} benefit/inpatient 500000.00 2025-09-30 B25"),
        ]
    )
    plan(app.ledger, NANTONG, 2025, county=QIDONG, amounts=(1_000_000_00, 100_000_00, 1),
         principal="wang")  # fmt: skip
    app.read_models.catch_up()
    pool = settlement.dry_run(app, "320000", 2025).to_json()["pools"][0]
    assert (pool["gap"], pool["own_fault"]) == ("0.00", "0.00")
    (county,) = pool["counties"]
    assert (county["county"], county["own_fault"], county["owed"]) == (QIDONG, "0.00", "100000.00")
    assert [(c["cause"], c["amount"]) for c in county["causes"]] == [
        ("subsidy_not_paid", "100000.00")
    ]
    owed = settle(app, 2025)
    assert [(o.debtor, o.source, o.owed_fen, o.reference) for o in owed] == [
        (QIDONG, "make-good", 100_000_00, "MAKEGOOD-2025-320681")
    ]


def test_faults_larger_than_the_gap_stay_owed_in_full(app: App) -> None:
    """Today: county faults of 60,720.00 were cut to the pool's gap of 50,000.00."""
    app.ledger.import_postings(
        [
            posting(f"{NANTONG} contribution/individual 960000.00 2025-11-02 C1 county={QIDONG}"),
            posting(f"{NANTONG} contribution/individual 500000.00 2025-11-02 C2 county={RUGAO}"),
            posting(f"{NANTONG} subsidy/standard@county 179280.00 2025-06-30 S2 county={RUGAO}"),
            posting(f"{NANTONG} benefit/inpatient 1689280.00 2025-09-30 B25"),
        ]
    )
    plan(app.ledger, NANTONG, 2025, county=QIDONG, amounts=(1_000_000_00, 0, 1), principal="w")
    plan(app.ledger, NANTONG, 2025, county=RUGAO, amounts=(500_000_00, 200_000_00, 1),
         principal="w")  # fmt: skip
    app.read_models.catch_up()
    pool = settlement.dry_run(app, "320000", 2025).to_json()["pools"][0]
    assert (pool["gap"], pool["own_fault"]) == ("50000.00", "50000.00")
    counties = {c["county"]: c for c in pool["counties"]}
    assert {k: c["owed"] for k, c in counties.items()} == {QIDONG: "40000.00", RUGAO: "20720.00"}
    assert {k: c["own_fault"] for k, c in counties.items()} == {
        QIDONG: "32938.08",  # 50,000.00 × 40,000 / 60,720 = 32,938.0764: the fen left over
        RUGAO: "17061.92",
    }
    assert counties[QIDONG]["causes"][0]["cause"] == "collection_plan_missed"
    assert counties[RUGAO]["causes"][0]["cause"] == "subsidy_not_paid"
    owed = settle(app, 2025)
    assert sum(o.owed_fen for o in owed if o.kind == "county") == 60_720_00


CATCH_UP_BOOKS = [
    f"{NANTONG} contribution/individual 600000.00 2020-11-02 C20-81 county={QIDONG}",
    f"{NANTONG} subsidy/standard@county 500000.00 2020-06-30 S20-81 county={QIDONG}",
    f"{NANTONG} contribution/individual 2500000.00 2020-11-02 C20-82 county={RUGAO}",
    f"{NANTONG} benefit/inpatient 3000000.00 2020-09-30 B20",
    f"{NANTONG} contribution/individual 1000000.00 2021-11-02 C21-81 county={QIDONG}",
    f"{NANTONG} contribution/individual 2400000.00 2021-11-02 C21-82 county={RUGAO}",
    f"{NANTONG} benefit/inpatient 3800000.00 2021-09-30 B21",
]
"""启东 raised 1,100.00 a head in 2020 for 1,000 residents: 100,000.00 owed, 20,000.00 a year."""


def catch_up_books(app: App) -> None:
    app.ledger.record_enrolment(NANTONG, 2020, QIDONG, 1000)
    app.ledger.record_enrolment(NANTONG, 2020, RUGAO, 2000)
    app.ledger.import_postings([posting(p) for p in CATCH_UP_BOOKS])
    plan(app.ledger, NANTONG, 2021, county=QIDONG, amounts=(1_050_000_00, 0, 1), principal="w")


def pay(app: App, reference: str, amount_fen: int, line: Line = Line.OTHER_INCOME) -> None:
    subsidy = line is Line.SUBSIDY
    app.ledger.import_postings(
        [
            Posting(
                fund=NANTONG,
                line=line,
                amount_fen=amount_fen,
                value_date=date(2022, 3, 1),
                reference=reference,
                county=QIDONG,
                sub_line="standard" if subsidy else None,
                level=Level.COUNTY if subsidy else None,
            )
        ]
    )


def schedule_of(app: App, year: int) -> tuple[int, int]:
    """启东's instalment of ``year`` as ``catch-up`` shows it: due, paid."""
    app.read_models.catch_up()
    db = app.read_models.for_province("320000").db
    county = next(c for c in catch_up_schedule(db, str(NANTONG)) if c.county == QIDONG)
    instalment = next(i for i in county.instalments if i.year == year)
    return instalment.due_fen, instalment.paid_fen


def test_catch_up_and_settle_owed_are_one_ledger(app: App) -> None:
    """Today: paying CATCHUP-… cleared catch-up while settle owed still showed the instalment
    inside the county's MAKEGOOD debt, and paying MAKEGOOD-… the reverse."""
    catch_up_books(app)
    owed = settle(app, 2021)
    rows = {o.reference: (o.source, o.owed_fen, o.paid_fen) for o in owed}
    assert rows == {
        "CATCHUP-320681-2021": ("catch-up", 20_000_00, 0),
        "MAKEGOOD-2021-320681": ("make-good", 50_000_00, 0),  # the collection plan missed
    }
    result = settlement.settlement_view(app, "320000", 2021).result
    pay(app, "CATCHUP-320681-2021", 20_000_00, Line.SUBSIDY)  # any income line pays
    by_ref = {o.reference: o for o in owed_now(app, 2021, result)}
    assert by_ref["CATCHUP-320681-2021"].outstanding_fen == 0
    assert schedule_of(app, 2021) == (20_000_00, 20_000_00)  # both say it, by construction
    assert by_ref["MAKEGOOD-2021-320681"].outstanding_fen == 50_000_00
    pay(app, "MAKEGOOD-2021-320681", 50_000_00, Line.CONTRIBUTION)
    by_ref = {o.reference: o for o in owed_now(app, 2021, result)}
    assert by_ref["MAKEGOOD-2021-320681"].outstanding_fen == 0
    assert schedule_of(app, 2021) == (20_000_00, 20_000_00)  # the make-good paid no instalment


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                ["CATCHUP-320681-2021", "MAKEGOOD-2021-320681", "MAKEGOOD-2021-320600"]
            ),
            st.sampled_from([Line.OTHER_INCOME, Line.SUBSIDY, Line.CONTRIBUTION]),
            st.integers(min_value=1, max_value=3_000_000),
        ),
        max_size=4,
    )
)
def test_every_amount_owed_appears_once_whatever_path_paid_it(
    payments: list[tuple[str, Line, int]],
) -> None:
    app = make_app("memory://")
    try:
        catch_up_books(app)
        before = settle(app, 2021)
        result = settlement.settlement_view(app, "320000", 2021).result
        for n, (reference, line, amount) in enumerate(payments):
            pay(app, f"{reference}-{n}", amount, line)  # a reference beginning with it pays
        after = owed_now(app, 2021, result)
        assert [(o.reference, o.owed_fen) for o in after] == [
            (o.reference, o.owed_fen) for o in before
        ]  # payments never add, drop or move a receivable
        assert len({o.reference for o in after}) == len(after)
        for o in after:
            assert o.paid_fen == sum(a for r, _, a in payments if r == o.reference)
        catch_up = next(o for o in after if o.source == "catch-up")
        assert schedule_of(app, 2021) == (catch_up.owed_fen, catch_up.paid_fen)
    finally:
        app.close()
