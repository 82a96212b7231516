"""The demo province's clearing inputs: each pool's assessment grade and its counties' plans.

What the year-end allocation reads beyond the postings (docs/domain.md §6):

- the provincial performance assessment (考核评价, Shanxi 2024 draft) of every city pool for
  every year, a grade from A to D drawn from the seed by a generator of its own (so the books
  the plan draws stay the same);
- each county's revenue/expense plan (年度收支计划) for the latest year: what the county was to
  collect, the county-level subsidy due and what it was to spend. Every county meets its plan
  but the one that paid only part of its subsidy (:attr:`ProvincePlan.short_county`), so the
  allocation shows that county's unpaid subsidy as its own-fault part of its city's gap.

Recording is idempotent: a grade or plan that repeats the current one records nothing, so a
second run of the demo writes nothing.
"""

from __future__ import annotations

from random import Random

from api.demo.plan import PROVINCE_SALT, ProvincePlan
from api.demo.standards import LATEST_YEAR, YEARS
from domain.authorship import Author
from domain.clearing_inputs import record_assessment, set_county_plans
from domain.funds import FundId, Scheme
from domain.ledger_service import Ledger

GRADES = "AABBBBCCCD"
"""The grades drawn from, weighted: most cities are assessed B or C."""


def assessment_grades(plan: ProvincePlan) -> dict[tuple[str, int], str]:
    """Each city pool's grade per year, the same for the same seed."""
    rng = Random(f"{PROVINCE_SALT}:{plan.seed}:assessment")  # noqa: S311 (demo data)
    return {
        (str(FundId(Scheme.RESIDENT, city.city.code)), year): rng.choice(GRADES)
        for city in plan.cities
        for year in YEARS
    }


def county_plans(plan: ProvincePlan) -> dict[str, dict[str, tuple[int, int, int]]]:
    """Per city pool, each county's latest-year plan: (contributions, subsidies, spending)."""
    plans: dict[str, dict[str, tuple[int, int, int]]] = {}
    for city in plan.cities:
        latest = city.years[-1]
        assert latest.year == LATEST_YEAR
        plans[str(FundId(Scheme.RESIDENT, city.city.code))] = {
            county.code: (
                county.contribution_fen,
                county.county_subsidy_due_fen,
                county.benefit_fen,
            )
            for county in latest.counties
        }
    return plans


def record_clearing_inputs(ledger: Ledger, plan: ProvincePlan, author: Author) -> int:
    """Record every grade and county plan not yet recorded; answer how many records changed."""
    changed = 0
    for (fund, year), grade in assessment_grades(plan).items():
        changed += record_assessment(
            ledger, FundId.parse(fund), year, grade=grade, score=None, author=author
        )
    for fund, plans in county_plans(plan).items():
        changed += set_county_plans(
            ledger, FundId.parse(fund), LATEST_YEAR, plans=plans, author=author
        )
    return changed
