"""Issue 9 point 8: a province's settlement inputs are read in a few set-based queries.

Fails on the code before the fix: the inputs were read pool by pool (a statement, a levy
reference, a grade and the plans of each), so the number of queries grew with the pools. The
books read at once must give every statement exactly as ``read_statement`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from api.bootstrap import App, bootstrap_app
from api.settings import Settings
from clearing.inputs import build_inputs, draw_prefix
from clearing.levy import levy_reference
from clearing.policy import load_policy
from clearing.queries import ProvinceBooks
from domain.clearing_inputs import record_assessment, set_county_plans
from domain.funds import FundId
from domain.lines import EXPENSE_LINES, INCOME_LINES, Line
from projections.queries import read_statement
from tests.scenario import posting

PROVINCE = "140000"


@pytest.fixture
def fl(store_url: str) -> Iterator[App]:
    built = bootstrap_app(Settings(database_url=store_url))
    built.ledger.init([PROVINCE])
    built.read_models.create_tables()
    built.ledger.open_fund(
        FundId.parse("adjustment:140000"), first_year=2023, opening_balance_fen=10**10
    )
    try:
        yield built
    finally:
        built.close()


def add_pools(fl: App, first: int, last: int) -> None:
    for n in range(first, last + 1):
        fund = FundId.parse(f"resident:14{n:02d}00")
        fl.ledger.open_fund(fund, first_year=2023, opening_balance_fen=1_000_000_00)
        county = f"14{n:02d}01"
        fl.ledger.import_postings(
            [
                posting(f"{fund} contribution 500000.00 2023-11-02 C23 county={county}"),
                posting(f"{fund} benefit 450000.00 2023-09-30 B23"),
                posting(f"{fund} contribution 400000.00 2024-11-02 C24 county={county}"),
                posting(f"{fund} subsidy@county 100000.00 2024-06-30 S24 county={county}"),
                posting(f"{fund} benefit {600000 + n * 1000}.00 2024-09-30 B24"),
            ]
        )
        record_assessment(fl.ledger, fund, 2024, grade="AB"[n % 2], score=None, principal="t")
        plan = (450_000_00, 120_000_00, 500_000_00)
        set_county_plans(fl.ledger, fund, 2024, plans={county: plan}, principal="t")
    fl.read_models.catch_up()


def count_queries(fl: App, action: Callable[[], object]) -> int:
    db = fl.read_models.for_province(PROVINCE).db
    original = db.query
    asked = 0

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal asked
        asked += 1
        return original(*args, **kwargs)

    db.query = counting  # type: ignore[method-assign]
    try:
        action()
    finally:
        del db.query
    return asked


def test_the_queries_of_a_province_do_not_grow_with_its_pools(fl: App) -> None:
    policy = load_policy(PROVINCE, 2024)
    add_pools(fl, 1, 2)
    few = count_queries(fl, lambda: build_inputs(fl.read_models, PROVINCE, 2024, policy))
    add_pools(fl, 3, 11)
    inputs = build_inputs(fl.read_models, PROVINCE, 2024, policy)
    assert len(inputs.pools) == 11
    many = count_queries(fl, lambda: build_inputs(fl.read_models, PROVINCE, 2024, policy))
    assert many == few
    # the position of the province, the funds, the line sums, 2 references, grades, plans,
    # county sums
    assert many <= 10
    pool = next(p for p in inputs.pools if p.fund == "resident:140300")
    # 2024: 400,000 + 100,000 in, 603,000 out; balance 1,000,000 + 50,000 from 2023
    assert (pool.income_fen, pool.expense_fen, pool.balance_fen) == (
        500_000_00, 603_000_00, 1_050_000_00,
    )  # fmt: skip
    assert pool.grade == "B"
    assert pool.planned_expense_fen == 500_000_00
    fault = pool.county_faults[0]
    assert (fault.county, fault.amount_fen) == ("140301", 50_000_00 + 20_000_00)


def test_the_books_read_at_once_give_every_statement(fl: App) -> None:
    add_pools(fl, 1, 3)
    fund = FundId.parse("resident:140100")
    merged = FundId.parse("ncms:140100")
    fl.ledger.open_fund(merged, first_year=2023, opening_balance_fen=300_00)
    fl.ledger.post(
        posting(
            f"{merged} transfer_out 200.00 2024-01-05 M1 counterparty={fund} purpose=legacy_merge"
        )
    )
    fl.read_models.catch_up()
    db = fl.read_models.for_province(PROVINCE).db
    books = ProvinceBooks.read(
        db, PROVINCE, 2024, ((Line.TO_UPPER, levy_reference(2024), None),
                             (Line.TO_LOWER, draw_prefix(2024), 2024)),
    )  # fmt: skip
    for name in books.funds:
        for year in (2023, 2024):
            expected = read_statement(db, name, year)
            got = books.statement(name, year)
            assert got.opening_balance_fen == expected.opening_balance_fen, (name, year)
            assert got.opening_balance_transfers_fen == expected.opening_balance_transfers_fen
            assert got.closing_balance_fen == expected.closing_balance_fen
            for line in (*INCOME_LINES, *EXPENSE_LINES, Line.TO_UPPER, Line.TO_LOWER):
                assert got.line(line.value) == expected.line(line.value), (name, year, line)
