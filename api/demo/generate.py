"""Cut the plan into postings: pure, deterministic, lazy.

Cash basis with the rhythm a fund officer knows (docs/domain.md §2, §3):

- individual contributions arrive mostly in the collection period (集中征缴期): about 88% in
  October-December (:data:`CONTRIBUTION_MONTHS`), per county, monthly from September and
  quarterly before (the few late payers of the year are remitted in bulk). On a cash basis
  they count in the year the cash arrives; the demo books a year's amount at that year's
  standard and enrolment, which is what the year's statement shows;
- contributions paid for the needy (财政代缴, 医疗救助资助) once a year per county, in the
  collection period;
- subsidies per level: an advance (预拨, 45-60%) mid-year and a true-up (清算) at year end;
  central, provincial and municipal money to the pool, county money per county;
- benefits monthly per county, inpatient and outpatient, slightly higher in December;
- the critical-illness premium in two instalments (April and October); interest quarterly
  (the 21st of the quarter's last month, when banks settle it);
- the adjustment levy once a year, on 31 December, as a ``to_upper`` pair into
  ``adjustment:140000`` under the reference ``LEVY-<year>``: the convention of the levy
  command, so ``fundledger levy --post`` finds the demo's levies already posted. The levy is
  one voucher per pool and year, so ``--scale`` does not split it.

References are unique per fund, readable and the same on every run:
``{year}-{code}-{region}-{month}-{part}``, e.g. ``2024-C-140105-11-001``, where ``region`` is
the county (or the city for pool-level money), ``part`` numbers the ``--scale`` parts and
``code`` is one of :data:`REFERENCE_CODES`.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from random import Random

from api.demo.plan import PROVINCE_SALT, CityYear, ProvincePlan
from api.demo.shanxi import PROVINCE
from api.demo.split import jittered, permille_of, split_even, split_exact
from domain.funds import FundId, Scheme
from domain.lines import Level, Line, Purpose
from domain.postings import Posting

ADJUSTMENT_FUND = FundId(Scheme.ADJUSTMENT, PROVINCE)

CONTRIBUTION_MONTHS: tuple[tuple[int, int], ...] = (
    (3, 50),
    (6, 22),
    (8, 18),
    (9, 30),
    (10, 180),
    (11, 330),
    (12, 370),
)
"""Individual contributions: (month remitted, per mille of the year); 88% in the fourth
quarter before a ±15% jitter per month, so never below 84%."""

BENEFIT_MONTH_PERMILLE = (78, 70, 82, 82, 82, 80, 84, 84, 82, 84, 86, 106)
"""Benefits by month: fewer in February (Spring Festival), more at the year-end settlement."""

REFERENCE_CODES: dict[str, str] = {
    "C": "contribution/individual 个人缴费",
    "CN": "contribution/paid_for_needy 财政代缴",
    "CA": "contribution/medical_assistance 医疗救助资助",
    "SC": "subsidy central 中央财政补助",
    "SP": "subsidy provincial 省级财政补助",
    "SM": "subsidy municipal 市级财政补助",
    "SX": "subsidy county 县级财政补助",
    "BI": "benefit/inpatient 住院",
    "BO": "benefit/outpatient 门诊",
    "DB": "critical_illness 大病保险保费",
    "IN": "interest 利息",
}
"""What each reference code stands for (the levy's reference is ``LEVY-<year>``)."""

_SUBSIDY: dict[Level, tuple[str, str, int, int]] = {
    Level.CENTRAL: ("SC", "中央", 5, 11),
    Level.PROVINCIAL: ("SP", "省级", 6, 12),
    Level.MUNICIPAL: ("SM", "市级", 7, 12),
    Level.COUNTY: ("SX", "县级", 8, 12),
}
"""Per level: reference code, name, month of the advance, month of the true-up."""


@dataclass(frozen=True)
class Item:
    """One posting before the ``--scale`` split."""

    code: str
    region: str
    value_date: date
    line: Line
    amount_fen: int
    sub_line: str | None = None
    level: Level | None = None
    county: str | None = None
    memo: str | None = None
    reference: str | None = None
    """A fixed reference (the levy's): the item is then never split by ``--scale``."""

    def parts(self, scale: int) -> list[int]:
        """The amounts of the postings this item becomes at ``scale``."""
        return [self.amount_fen] if self.reference else split_even(self.amount_fen, scale)


def levy_reference(year: int) -> str:
    """A pool's levy voucher for a year, as the levy command names it (unique per pool)."""
    return f"LEVY-{year}"


def month_end(year: int, month: int) -> date:
    """The last day of a month (the day a month's settlement is paid)."""
    return date(year, month, calendar.monthrange(year, month)[1])


def city_year_items(seed: int, city_year: CityYear) -> list[Item]:
    """Every posting of a pool's year, unsplit, in value-date order."""
    salt = f"{PROVINCE_SALT}/{seed}/{city_year.city.code}/{city_year.year}"
    rng = Random(salt)  # noqa: S311 (demo data, not secrets: reproducible by design)
    every = (
        *_contributions(rng, city_year),
        *_subsidies(rng, city_year),
        *_benefits(rng, city_year),
        *_pool_items(city_year),
    )
    items = [item for item in every if item.amount_fen > 0]
    items.sort(key=lambda item: (item.value_date, item.code, item.region))
    return items


def _contributions(rng: Random, cy: CityYear) -> Iterator[Item]:
    year = cy.year
    for county in cy.counties:
        months = [month for month, _ in CONTRIBUTION_MONTHS]
        weights = jittered(rng, [weight for _, weight in CONTRIBUTION_MONTHS], 850, 1150)
        for month, amount in zip(months, split_exact(county.individual_fen, weights), strict=True):
            yield Item(
                "C",
                county.code,
                month_end(year, month),
                Line.CONTRIBUTION,
                amount,
                sub_line="individual",
                county=county.code,
            )
        yield Item(
            "CN",
            county.code,
            month_end(year, 11),
            Line.CONTRIBUTION,
            county.paid_for_needy_fen,
            sub_line="paid_for_needy",
            county=county.code,
        )
        yield Item(
            "CA",
            county.code,
            date(year, 12, 15),
            Line.CONTRIBUTION,
            county.medical_assistance_fen,
            sub_line="medical_assistance",
            county=county.code,
        )


def _subsidies(rng: Random, cy: CityYear) -> Iterator[Item]:
    """An advance and a true-up per level; the county level per county (it may fall short)."""
    for level, received in cy.upper_subsidy_fen:
        yield from _advance_and_true_up(rng, cy, level, due=received, paid=received)
    for county in cy.counties:
        due, paid = county.county_subsidy_due_fen, county.county_subsidy_received_fen
        yield from _advance_and_true_up(
            rng, cy, Level.COUNTY, due=due, paid=paid, county=county.code
        )


def _advance_and_true_up(
    rng: Random, cy: CityYear, level: Level, *, due: int, paid: int, county: str | None = None
) -> Iterator[Item]:
    """The advance is 45-60% of what is due; the true-up is what was paid less the advance."""
    code, name, advance_month, true_up_month = _SUBSIDY[level]
    region = county or cy.city.code
    advance = min(permille_of(due, rng.randint(450, 600)), paid)
    where = "" if county is None else f" {county}"
    for month, amount, word in (
        (advance_month, advance, "预拨"),
        (true_up_month, paid - advance, "清算"),
    ):
        day = month_end(cy.year, month) if month != 12 else date(cy.year, 12, 25)
        yield Item(
            code,
            region,
            day,
            Line.SUBSIDY,
            amount,
            sub_line="standard",
            level=level,
            county=county,
            memo=f"{cy.year}年{name}财政城乡居民医保补助{word}{where}",
        )


def _benefits(rng: Random, cy: CityYear) -> Iterator[Item]:
    """Monthly benefits per county, split inpatient / outpatient by a per-pool ratio."""
    inpatient_permille = rng.randint(580, 660)
    for county in cy.counties:
        weights = jittered(rng, BENEFIT_MONTH_PERMILLE, 950, 1050)
        for month, amount in enumerate(split_exact(county.benefit_fen, weights), start=1):
            day = month_end(cy.year, month)
            inpatient = permille_of(amount, inpatient_permille)
            for code, sub_line, part in (
                ("BI", "inpatient", inpatient),
                ("BO", "outpatient", amount - inpatient),
            ):
                yield Item(
                    code,
                    county.code,
                    day,
                    Line.BENEFIT,
                    part,
                    sub_line=sub_line,
                    county=county.code,
                )


def _pool_items(cy: CityYear) -> Iterator[Item]:
    """Pool-level money: the critical-illness premium, interest and the levy."""
    year, city = cy.year, cy.city.code
    first = permille_of(cy.critical_illness_fen, 600)
    for month, amount in ((4, first), (10, cy.critical_illness_fen - first)):
        yield Item(
            "DB",
            city,
            month_end(year, month),
            Line.CRITICAL_ILLNESS,
            amount,
            memo=f"{year}年大病保险保费（{'首期' if month == 4 else '尾款'}）",
        )
    for quarter, amount in enumerate(split_exact(cy.interest_fen, [1, 1, 1, 1]), start=1):
        yield Item("IN", city, date(year, quarter * 3, 21), Line.INTEREST, amount)
    yield Item(
        "LEVY",
        city,
        date(year, 12, 31),
        Line.TO_UPPER,
        cy.levy_fen,
        memo=f"调剂金计提 {year}（上年基金收入的3%）",
        reference=levy_reference(year),
    )


def item_postings(fund: FundId, item: Item, scale: int) -> Iterator[Posting]:
    """An item as ``scale`` postings whose amounts add up to the item's, to the fen."""
    levy = item.line is Line.TO_UPPER
    day = item.value_date
    stem = f"{day.year}-{item.code}-{item.region}-{day.month:02d}"
    for part, amount in enumerate(item.parts(scale), start=1):
        yield Posting(
            fund=fund,
            line=item.line,
            amount_fen=amount,
            value_date=day,
            reference=item.reference or f"{stem}-{part:03d}",
            sub_line=item.sub_line,
            level=item.level,
            county=item.county,
            counterparty=ADJUSTMENT_FUND if levy else None,
            purpose=Purpose.ADJUSTMENT_LEVY if levy else None,
            memo=item.memo,
        )


def city_year_postings(seed: int, city_year: CityYear, scale: int) -> Iterator[Posting]:
    """A pool's year as postings, generated one at a time."""
    fund = FundId(Scheme.RESIDENT, city_year.city.code)
    for item in city_year_items(seed, city_year):
        yield from item_postings(fund, item, scale)


def province_items(plan: ProvincePlan) -> Iterator[tuple[FundId, Item]]:
    """Every item of the demo province with its fund: pool by pool, year by year, lazily.

    Items do not depend on ``--scale``: there are a few tens of thousands of them at most,
    so a caller may hold them to count the postings before it writes them.
    """
    for city in plan.cities:
        fund = FundId(Scheme.RESIDENT, city.city.code)
        for city_year in city.years:
            for item in city_year_items(plan.seed, city_year):
                yield fund, item


def postings_of(items: Iterable[tuple[FundId, Item]], scale: int) -> Iterator[Posting]:
    """The postings of ``items`` at ``scale``, generated one at a time."""
    for fund, item in items:
        yield from item_postings(fund, item, scale)


def province_postings(plan: ProvincePlan, scale: int) -> Iterator[Posting]:
    """Every posting of the demo province, lazily."""
    return postings_of(province_items(plan), scale)


def count_postings(items: Iterable[tuple[FundId, Item]], scale: int) -> int:
    """How many postings :func:`postings_of` yields for ``items`` (for the progress bar)."""
    return sum(len(item.parts(scale)) for _, item in items)
