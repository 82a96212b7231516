"""Clearing inputs recorded as events: one aggregate per pool and year (docs/domain.md §6).

What a year-end gap allocation needs beyond the postings: the pool's provincial performance
assessment (考核评价: a grade and an optional score) and, in a municipal pool, each county's
revenue/expense plan (年度收支计划). Commands check every rule (one function per rule, each
naming its seed) and the events' ``apply`` only assign. Whether a grade is one of the
province's policy grades is checked by the clearing service, which knows the policy. The
latest record wins: a new assessment or plan replaces the earlier one, which stays in the log.
Every event records who made it (class version 2, :mod:`domain.authored`); a record's
``principal`` is that author's name.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, ClassVar

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from domain.authored import (
    AUTHORED_CLASS_VERSION,
    author_fields,
    author_named,
    upcast_without_author,
)
from domain.authorship import Author
from domain.errors import DomainError, FundNotRegistered, InvalidInput
from domain.fund import LATEST_FIRST_YEAR
from domain.funds import FUNDLEDGER_NAMESPACE, FundId, Scheme
from domain.ledger import SAVE_RETRIES, ProvinceLedger
from domain.ledger_service import Ledger
from domain.money import MAX_FEN_EXCLUSIVE
from domain.regions import RegionLevel, contains, level_of

MAX_GRADE_LENGTH = 8
MAX_PRINCIPAL_LENGTH = 200
MAX_SCORE = 100
_SCORE = re.compile(r"^[0-9]{1,3}(?:\.[0-9]{1,2})?\Z")
_COUNTY = re.compile(r"^[0-9]{6}\Z")
POOL_SCHEMES = frozenset({Scheme.RESIDENT, Scheme.URBAN_RESIDENT, Scheme.NCMS})
"""Funds that pool risk and may have a gap: the merged resident fund and the legacy funds."""


class ClearingInputRefused(DomainError):
    """An assessment or county plan that breaks a rule."""


def pool_year_id(fund: FundId, year: int) -> uuid.UUID:
    """The aggregate id of a pool's clearing inputs for a year (a retry collides)."""
    return uuid.uuid5(FUNDLEDGER_NAMESPACE, f"pool-year:{fund}:{year}")


# --------------------------------------------------------------------------- the rules


def check_pool_fund(fund: FundId) -> None:
    """Only a pooling fund (resident, or a legacy fund in transition) is assessed or planned.

    Shanxi 2024 draft: the adjustment fund shares each *city's* gap (各市当期出现基金收支缺口);
    the adjustment fund itself and the employee fund are not pools of this clearing.
    """
    if fund.scheme not in POOL_SCHEMES:
        raise ClearingInputRefused(
            f"{fund} is not a resident pool: only resident, urban_resident and ncms funds "
            "take part in the gap allocation",
            field="fund",
        )


def check_grade_text(grade: str) -> str:
    """A grade is a short label (A, B, 优秀...); the policy's list is checked by the service.

    Shanxi 2024 draft: the sharing ratio depends on the provincial assessment (省级考核评价).
    """
    text = grade.strip()
    if not text or len(text) > MAX_GRADE_LENGTH:
        raise InvalidInput(f"a grade is 1 to {MAX_GRADE_LENGTH} characters", field="grade")
    return text


def check_score(score: str | None) -> str | None:
    """An optional assessment score: a decimal from 0 to 100 with at most two decimals."""
    if score is None:
        return None
    text = score.strip()
    if not _SCORE.match(text) or Decimal(text) > MAX_SCORE:
        raise InvalidInput(
            f"{score!r} is not a score from 0 to {MAX_SCORE} (at most two decimals)", field="score"
        )
    return text


def check_county_of_municipal_pool(fund: FundId, county: str) -> None:
    """A county plan is issued by a municipal pool to a county inside its city.

    Nantong 2019 (通政办发〔2019〕101号): the city makes one budget and issues each county
    (县（市）、区) a yearly revenue/expense plan (下达各县（市）、区年度收支计划).
    """
    if level_of(fund.region) is not RegionLevel.CITY:
        raise ClearingInputRefused(
            f"{fund} is not a municipal pool: county plans are issued by a city's pool",
            field="fund",
        )
    if not _COUNTY.match(county) or not contains(fund.region, county):
        raise InvalidInput(
            f"{county!r} is not a county inside the pool's region {fund.region}", field="county"
        )


def check_plan_amount(amount_fen: int, field: str) -> int:
    """A planned amount is zero or more fen, below 10^13 yuan."""
    assert isinstance(amount_fen, int), amount_fen
    if not 0 <= amount_fen < MAX_FEN_EXCLUSIVE:
        raise InvalidInput("a planned amount is 0 or more, below 10^13 yuan", field=field)
    return amount_fen


def check_principal(principal: str) -> str:
    """Every record names who made it."""
    text = principal.strip()
    if not text or len(text) > MAX_PRINCIPAL_LENGTH:
        raise InvalidInput(
            f"who records it is 1 to {MAX_PRINCIPAL_LENGTH} characters", field="principal"
        )
    return text


# --------------------------------------------------------------------------- the aggregate


class PoolYear(Aggregate, created_event_name="Created"):
    """The clearing inputs of one pool for one year: its assessment and its county plans."""

    TOPIC = "fundledger:PoolYear"

    class Event(Aggregate.Event):
        """Every event names its fund and year (the read model needs no lookup) and who
        recorded it."""

        TOPIC: ClassVar[str]
        class_version = AUTHORED_CLASS_VERSION
        fund: str
        year: int
        recorded_by: str | None
        request_id: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            upcast_without_author(state)

    class Created(Aggregate.Created):
        TOPIC = "fundledger:PoolYear.Created"
        class_version = AUTHORED_CLASS_VERSION
        fund: str
        year: int
        recorded_by: str | None
        request_id: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            upcast_without_author(state)

    class AssessmentRecorded(Event):
        """The province's assessment of the pool for the year (考核评价)."""

        TOPIC = "fundledger:PoolYear.AssessmentRecorded"
        grade: str
        score: str | None
        principal: str

        def apply(self, aggregate: Any) -> None:
            aggregate.grade = self.grade
            aggregate.score = self.score

    class CountyPlanSet(Event):
        """A county's yearly plan in a municipal pool (年度收支计划), in fen."""

        TOPIC = "fundledger:PoolYear.CountyPlanSet"
        county: str
        contributions_fen: int
        subsidies_fen: int
        spending_fen: int
        principal: str

        def apply(self, aggregate: Any) -> None:
            plan = (self.contributions_fen, self.subsidies_fen, self.spending_fen)
            aggregate.plans = {**aggregate.plans, self.county: plan}

    def __init__(self, *, fund: str, year: int) -> None:
        self.fund = fund
        self.year = year
        self.grade: str | None = None
        self.score: str | None = None
        self.plans: dict[str, tuple[int, int, int]] = {}

    @classmethod
    def begin(cls, fund: FundId, year: int, *, author: Author | None) -> PoolYear:
        return cls._create(
            cls.Created,
            id=pool_year_id(fund, year),
            fund=str(fund),
            year=year,
            **author_fields(author),
        )

    def record_assessment(self, grade: str, score: str | None, *, author: Author | None) -> bool:
        """Record the year's assessment; False when it repeats the current one."""
        check_pool_fund(FundId.parse(self.fund))
        grade, score = check_grade_text(grade), check_score(score)
        principal = check_principal(author.recorded_by if author else "")
        if (grade, score) == (self.grade, self.score):
            return False
        self.trigger_event(
            PoolYear.AssessmentRecorded,
            fund=self.fund,
            year=self.year,
            grade=grade,
            score=score,
            principal=principal,
            **author_fields(author),
        )
        return True

    def set_county_plan(
        self, county: str, plan: tuple[int, int, int], *, author: Author | None
    ) -> bool:
        """Set a county's plan (contributions, subsidies, spending); False when unchanged."""
        fund = FundId.parse(self.fund)
        check_pool_fund(fund)
        check_county_of_municipal_pool(fund, county)
        names = ("contributions", "subsidies", "spending")
        amounts = tuple(check_plan_amount(a, n) for a, n in zip(plan, names, strict=True))
        principal = check_principal(author.recorded_by if author else "")
        if self.plans.get(county) == amounts:
            return False
        contributions, subsidies, spending = amounts
        self.trigger_event(
            PoolYear.CountyPlanSet,
            fund=self.fund,
            year=self.year,
            county=county,
            contributions_fen=contributions,
            subsidies_fen=subsidies,
            spending_fen=spending,
            principal=principal,
            **author_fields(author),
        )
        return True


# --------------------------------------------------------------------------- commands


def record_assessment(
    ledger: Ledger,
    fund: FundId,
    year: int,
    *,
    grade: str,
    score: str | None,
    principal: str | None = None,
    author: Author | None = None,
) -> bool:
    """Record a pool's assessment for a year; False when it repeats the current one.

    ``author`` records it (``principal``, a name as text, until every caller passes one).
    """
    by = author_named(author, principal)
    return _run(ledger, fund, year, lambda p: p.record_assessment(grade, score, author=by), by)


def set_county_plan(
    ledger: Ledger,
    fund: FundId,
    year: int,
    *,
    county: str,
    plan: tuple[int, int, int],
    principal: str | None = None,
    author: Author | None = None,
) -> bool:
    """Set a county's plan in a municipal pool for a year; False when unchanged.

    ``author`` records it (``principal``, a name as text, until every caller passes one).
    """
    by = author_named(author, principal)
    return _run(ledger, fund, year, lambda p: p.set_county_plan(county, plan, author=by), by)


def set_county_plans(
    ledger: Ledger,
    fund: FundId,
    year: int,
    *,
    plans: Mapping[str, tuple[int, int, int]],
    principal: str | None = None,
    author: Author | None = None,
) -> bool:
    """Set several counties' plans of one pool and year in one save; False when none changed."""
    by = author_named(author, principal)

    def command(pool_year: PoolYear) -> bool:
        changed = [pool_year.set_county_plan(c, plans[c], author=by) for c in sorted(plans)]
        return any(changed)

    return _run(ledger, fund, year, command, by)


def find_pool_year(ledger: Ledger, fund: FundId, year: int) -> PoolYear | None:
    """The pool's clearing inputs for a year, or None when nothing was recorded."""
    return _find(ledger.province(fund.province), fund, year)


def _run(
    ledger: Ledger,
    fund: FundId,
    year: int,
    command: Callable[[PoolYear], bool],
    author: Author | None,
) -> bool:
    check_pool_fund(fund)
    app = ledger.province(fund.province)
    found = app.find_fund(fund)
    if found is None:
        raise FundNotRegistered(
            f"{fund} is not registered: open it first with 'fundledger funds open'", field="fund"
        )
    if not found.first_year <= year <= LATEST_FIRST_YEAR:
        raise InvalidInput(f"{fund} keeps its books from {found.first_year}", field="year")
    for attempt in range(SAVE_RETRIES):
        pool_year = _find(app, fund, year) or PoolYear.begin(fund, year, author=author)
        if not command(pool_year):
            return False
        try:
            app.save(pool_year)
        except IntegrityError:
            app.forget_cached([pool_year.id])
            if attempt == SAVE_RETRIES - 1:
                raise
            continue
        return True
    raise AssertionError("unreachable")


def _find(app: ProvinceLedger, fund: FundId, year: int) -> PoolYear | None:
    aggregate_id = pool_year_id(fund, year)
    app.forget_cached([aggregate_id])
    try:
        found: object = app.repository.get(aggregate_id)
    except AggregateNotFoundError:
        return None
    assert isinstance(found, PoolYear), type(found)
    return found
