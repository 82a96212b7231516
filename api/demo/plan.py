"""The demo province's figures per city and year, before they are cut into postings.

A plan holds only yearly totals (a few hundred numbers), so it is cheap to build whole and
both the generator and the tests read it. Everything is drawn from ``random.Random`` seeded
with a string made of the demo seed (never the global generator, never the clock), so the
same seed always plans the same province.

The story the figures tell (docs/domain.md §5, §6):

- enrolment per county from the data module, jittered ±5% by seed, falling 0.5-2% a year;
- funds raised = enrolled × the national standard (``standards.STANDARDS``); the needy's
  contributions are paid for them (财政代缴 ``paid_for_needy``, 医疗救助 ``medical_assistance``);
- the subsidy is due from each level by the shares in :mod:`api.demo.standards` (the same
  60% central and 50/25/25 split of the rest as the Shanxi policy file);
- benefits grow 6-10% a year, faster than funds raised, so that a few cities
  (:attr:`ProvincePlan.deficit_cities`) spend more than their income in the latest year;
- each pool pays a levy of 3% of last year's contribution and subsidy income into the
  provincial adjustment fund (the Shanxi clearing policy); the 2022 levy, whose base year the
  books do not hold, is 3% of 2021's funds raised at the 2021 standard (580 + 320 yuan);
- one county of a deficit city pays only part of its county-level subsidy in the latest year
  (:attr:`ProvincePlan.short_county`): a subsidy still outstanding, as a gap's own-fault part.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

from api.demo.shanxi import CITIES, City
from api.demo.split import permille_of, split_exact
from api.demo.standards import (
    FIRST_YEAR,
    LATEST_YEAR,
    LEVELS,
    STANDARDS,
    YEARS,
    levy_on,
    subsidy_due,
)
from domain.lines import Level

PROVINCE_SALT = "fundledger-demo"


@dataclass(frozen=True)
class CountyYear:
    """One county's figures for a year (fen, except enrolment)."""

    code: str
    enrolled: int
    individual_fen: int
    paid_for_needy_fen: int
    medical_assistance_fen: int
    county_subsidy_due_fen: int
    county_subsidy_received_fen: int
    benefit_fen: int

    @property
    def contribution_fen(self) -> int:
        return self.individual_fen + self.paid_for_needy_fen + self.medical_assistance_fen


@dataclass(frozen=True)
class CityYear:
    """One pool's figures for a year: what its statement will show (fen)."""

    city: City
    year: int
    counties: tuple[CountyYear, ...]
    upper_subsidy_fen: tuple[tuple[Level, int], ...]
    """Central, provincial and municipal subsidy for the year, due and received in full."""
    critical_illness_fen: int
    interest_fen: int
    levy_fen: int
    opening_balance_fen: int

    @property
    def enrolled(self) -> int:
        return sum(c.enrolled for c in self.counties)

    @property
    def contribution_fen(self) -> int:
        return sum(c.contribution_fen for c in self.counties)

    @property
    def subsidy_received_fen(self) -> int:
        county = sum(c.county_subsidy_received_fen for c in self.counties)
        return county + sum(amount for _, amount in self.upper_subsidy_fen)

    @property
    def benefit_fen(self) -> int:
        return sum(c.benefit_fen for c in self.counties)

    @property
    def income_subtotal_fen(self) -> int:
        return self.contribution_fen + self.subsidy_received_fen + self.interest_fen

    @property
    def expense_subtotal_fen(self) -> int:
        return self.benefit_fen + self.critical_illness_fen

    @property
    def closing_balance_fen(self) -> int:
        return (
            self.opening_balance_fen
            + self.income_subtotal_fen
            - self.expense_subtotal_fen
            - self.levy_fen
        )


@dataclass(frozen=True)
class CityPlan:
    """A pool's opening balance and its years."""

    city: City
    opening_balance_fen: int
    years: tuple[CityYear, ...]


@dataclass(frozen=True)
class ProvincePlan:
    """The whole demo province for one seed."""

    seed: int
    cities: tuple[CityPlan, ...]
    deficit_cities: frozenset[str]
    short_county: str
    short_permille: int


@dataclass(frozen=True)
class _Draws:
    """A city's random parameters, drawn in one fixed order so a seed always gives the same."""

    jitter: tuple[int, ...]
    benefit_jitter: tuple[int, ...]
    decline_permille: int
    needy_permille: int
    assisted_permille: int
    latest_expense_permille: int
    growth_permille: int
    critical_illness_permille: int
    interest_bp: int
    opening_months: int


def _draw(rng: Random, city: City, *, deficit: bool) -> _Draws:
    """Draw a city's parameters; a deficit city spends 103-108% of its latest funds raised."""
    count = len(city.counties)
    return _Draws(
        jitter=tuple(rng.randint(950, 1050) for _ in range(count)),
        benefit_jitter=tuple(rng.randint(900, 1100) for _ in range(count)),
        decline_permille=rng.randint(5, 20),
        needy_permille=rng.randint(40, 80),
        assisted_permille=rng.randint(300, 500),
        latest_expense_permille=rng.randint(1030, 1080) if deficit else rng.randint(900, 975),
        growth_permille=rng.randint(80, 100) if deficit else rng.randint(60, 90),
        critical_illness_permille=rng.randint(40, 55),
        interest_bp=rng.randint(110, 170),
        opening_months=rng.randint(4, 7) if deficit else rng.randint(6, 10),
    )


def plan_province(seed: int) -> ProvincePlan:
    """Plan the demo province for ``seed``: which cities run a deficit, and every figure."""
    rng = Random(f"{PROVINCE_SALT}/{seed}")  # noqa: S311 (demo data: reproducible by design)
    deficit = frozenset(c.code for c in rng.sample(CITIES, rng.randint(2, 3)))
    short_city = next(c for c in CITIES if c.code == min(deficit))
    short_county = rng.choice(short_city.counties).code
    short_permille = rng.randint(700, 850)
    cities = tuple(
        _plan_city(
            Random(f"{PROVINCE_SALT}/{seed}/{city.code}"),  # noqa: S311
            city,
            deficit=city.code in deficit,
            short=(short_county, short_permille),
        )
        for city in CITIES
    )
    return ProvincePlan(seed, cities, deficit, short_county, short_permille)


def _plan_city(rng: Random, city: City, *, deficit: bool, short: tuple[str, int]) -> CityPlan:
    """Plan one pool: enrolment and income forward, benefits back from the latest year."""
    draws = _draw(rng, city, deficit=deficit)
    enrolled = _enrolment(city, draws)
    raised = {
        year: sum(enrolled[year])
        * (STANDARDS[year].government_fen + STANDARDS[year].individual_fen)
        for year in YEARS
    }
    critical = {y: permille_of(raised[y], draws.critical_illness_permille) for y in YEARS}
    benefit = {
        LATEST_YEAR: permille_of(raised[LATEST_YEAR], draws.latest_expense_permille)
        - critical[LATEST_YEAR]
    }
    for year in reversed(YEARS[:-1]):
        benefit[year] = benefit[year + 1] * 1000 // (1000 + draws.growth_permille)
    first_expense = benefit[FIRST_YEAR] + critical[FIRST_YEAR]
    opening = first_expense * draws.opening_months // 12
    balance = opening
    levy_base = sum(enrolled[FIRST_YEAR]) * (
        STANDARDS[FIRST_YEAR - 1].government_fen + STANDARDS[FIRST_YEAR - 1].individual_fen
    )
    years = []
    for year in YEARS:
        counties = _counties(
            city, year, enrolled=enrolled[year], benefit_fen=benefit[year], draws=draws, short=short
        )
        city_year = CityYear(
            city=city,
            year=year,
            counties=counties,
            upper_subsidy_fen=_upper_subsidy(sum(enrolled[year]), year),
            critical_illness_fen=critical[year],
            interest_fen=max(0, balance) * draws.interest_bp // 10_000,
            levy_fen=levy_on(levy_base),
            opening_balance_fen=balance,
        )
        years.append(city_year)
        balance = city_year.closing_balance_fen
        levy_base = city_year.contribution_fen + city_year.subsidy_received_fen
    latest = years[-1]
    assert (latest.income_subtotal_fen < latest.expense_subtotal_fen) == deficit, city.code
    return CityPlan(city, opening, tuple(years))


def _enrolment(city: City, draws: _Draws) -> dict[int, list[int]]:
    """Residents enrolled per county (in data order) and year."""
    current = [permille_of(c.enrolled, j) for c, j in zip(city.counties, draws.jitter, strict=True)]
    enrolled = {}
    for year in YEARS:
        enrolled[year] = current
        current = [permille_of(n, 1000 - draws.decline_permille) for n in current]
    return enrolled


def _upper_subsidy(enrolled: int, year: int) -> tuple[tuple[Level, int], ...]:
    """Central, provincial and municipal subsidy, received in full."""
    due = subsidy_due(enrolled, year)
    return tuple((level, due[level]) for level in LEVELS if level is not Level.COUNTY)


def _counties(
    city: City,
    year: int,
    *,
    enrolled: list[int],
    benefit_fen: int,
    draws: _Draws,
    short: tuple[str, int],
) -> tuple[CountyYear, ...]:
    """Each county's contributions, county-level subsidy and share of the pool's benefits."""
    standard = STANDARDS[year]
    dues = split_exact(subsidy_due(sum(enrolled), year)[Level.COUNTY], enrolled)
    weights = [n * j for n, j in zip(enrolled, draws.benefit_jitter, strict=True)]
    benefits = split_exact(benefit_fen, weights)
    rows = []
    for county, people, due, spent in zip(city.counties, enrolled, dues, benefits, strict=True):
        needy = permille_of(people, draws.needy_permille)
        assisted = permille_of(needy, draws.assisted_permille)
        short_county, short_permille = short
        shortfall = county.code == short_county and year == LATEST_YEAR
        rows.append(
            CountyYear(
                code=county.code,
                enrolled=people,
                individual_fen=(people - needy) * standard.individual_fen,
                paid_for_needy_fen=(needy - assisted) * standard.individual_fen,
                medical_assistance_fen=assisted * standard.individual_fen,
                county_subsidy_due_fen=due,
                county_subsidy_received_fen=permille_of(due, short_permille) if shortfall else due,
                benefit_fen=spent,
            )
        )
    return tuple(rows)
