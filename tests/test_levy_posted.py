"""``levy --post`` shows what was posted and what is still due (issue 9, point 6), every backend.

Today a levy of 50,000.00 posted earlier, when the levy computed now is 52,037.04, was shown as
"already posted" beside 52,037.04: as if that had been posted.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from api.bootstrap import App, bootstrap_app
from api.settings import Settings
from api.usecases import clearing
from clearing.levy import levy_reference
from domain.access import Principal, Role
from domain.funds import FundId
from domain.lines import Line, Purpose
from domain.postings import Posting
from tests.conftest import TEST_PROVINCES
from tests.scenario import PROVINCE_ADJUSTMENT, posting

CITY = FundId.parse("resident:140100")


@pytest.fixture
def app(store_url: str) -> Iterator[App]:
    built = bootstrap_app(Settings(database_url=store_url))
    built.ledger.init(TEST_PROVINCES)
    built.read_models.create_tables()
    built.ledger.open_fund(CITY, first_year=2023)
    built.ledger.open_fund(PROVINCE_ADJUSTMENT, first_year=2023)
    built.ledger.import_postings(
        [
            posting("resident:140100 contribution/individual 1734568.00 2023-11-02 C23"),
            posting("resident:140100 benefit/inpatient 1000000.00 2023-03-31 B23"),
        ]
    )
    try:
        yield built
    finally:
        built.close()


def test_an_earlier_smaller_levy_shows_posted_and_still_due(app: App) -> None:
    app.ledger.import_postings(
        [
            Posting(fund=CITY, line=Line.TO_UPPER, amount_fen=50_000_00,
                    value_date=date(2024, 12, 31), reference=levy_reference(2024),
                    counterparty=PROVINCE_ADJUSTMENT, purpose=Purpose.ADJUSTMENT_LEVY)
        ]
    )  # fmt: skip
    app.read_models.catch_up()
    office = Principal("li", Role.PROVINCIAL, "140000")
    (row,) = clearing.post_levy(app, office, "140000", 2024).rows
    assert row["levy"] == "52037.04"  # 3% of 1,734,568.00
    assert (row["posted"], row["still_due"]) == ("50000.00", "2037.04")
    assert row["status"] == "already posted 50000.00, 2037.04 still due"
