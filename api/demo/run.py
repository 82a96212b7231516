"""Write the demo province into a ledger: open the funds, record enrolment, post in batches.

Idempotent: opening a fund with the same particulars answers the open fund, enrolment is
recorded only on a fund with nothing on it yet, and a posting whose reference is already on
the fund with the same content is a duplicate, and a clearing input (assessment grade, county
plan, :mod:`api.demo.inputs`) that repeats the current one records nothing. So a second run on
the same store posts nothing. A store that holds a demo of another seed (other opening
balances) or another scale (other amounts under the same references) is refused before anything
is written to it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from itertools import islice

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from api.demo.generate import ADJUSTMENT_FUND, count_postings, postings_of, province_items
from api.demo.inputs import record_clearing_inputs
from api.demo.plan import CityPlan, ProvincePlan, plan_province
from api.demo.shanxi import ADJUSTMENT_FUND_NAME, PROVINCE, PROVINCE_NAME
from api.demo.standards import FIRST_YEAR, LATEST_YEAR, YEARS
from api.demo.summary import CitySummary, DemoSummary
from domain.authorship import Author
from domain.errors import InvalidInput, ReferenceConflict
from domain.funds import FundId, Scheme
from domain.ledger_service import ImportReport, Ledger, RowErrors
from domain.postings import Posting
from projections.statement import Statement, statement_for

BATCH = 20_000
"""Postings per import call: memory stays bounded whatever the scale."""

ProgressFn = Callable[[int], None]
StatementOf = Callable[[FundId, int], Statement]
"""A fund's statement for a year: the read models' (``ReadModels.statement``)."""

DEMO_AUTHOR = Author(recorded_by="demo")
"""Who the demo's writes record when no caller is named."""

ADJUSTMENT_OPENING_FEN = 0
"""The adjustment fund starts empty in the first year: the pools' levies fill it."""


def run_demo(
    ledger: Ledger,
    *,
    seed: int = 2024,
    scale: int = 1,
    province: str = PROVINCE,
    console: Console | None = None,
    chunk: int = 2_000,
    statement_of: StatementOf | None = None,
    author: Author = DEMO_AUTHOR,
) -> DemoSummary:
    """Build the synthetic province in ``ledger`` and answer what was done.

    Args:
        ledger: an initialised ledger.
        seed: the same seed gives the same province, to the fen.
        scale: each planned posting is written as ``scale`` postings with the same total.
        province: only Shanxi (140000) has demo data.
        console: where the progress bar goes (None: no progress bar).
        chunk: postings per save inside each batch.
        statement_of: where the summary's figures come from: the read models
            (``ReadModels.statement``, as the CLI passes). Without it they are folded from
            the funds' events (``statement_for``), for a bare ledger without read models.
        author: who every write of the demo records (the CLI passes its caller).

    Raises:
        InvalidInput: another province, a scale below 1, or a store holding another demo.
    """
    started = time.perf_counter()
    if province != PROVINCE:
        raise InvalidInput(
            f"the demo has data for {PROVINCE} ({PROVINCE_NAME}) only, not {province!r}",
            field="province",
        )
    if scale < 1:
        raise InvalidInput(f"the scale is a whole number from 1, not {scale}", field="scale")
    plan = plan_province(seed)
    opened = _open_funds(ledger, plan, author)
    report = _post_all(ledger, plan, scale=scale, console=console, chunk=chunk, author=author)
    record_clearing_inputs(ledger, plan, author)
    statement = statement_of or (lambda fund, year: statement_for(ledger, fund, year))
    adjustment = statement(ADJUSTMENT_FUND, LATEST_YEAR)
    return DemoSummary(
        province=PROVINCE,
        province_name=PROVINCE_NAME,
        seed=seed,
        scale=scale,
        years=YEARS,
        cities=tuple(_city_summary(statement, city) for city in plan.cities),
        funds=len(plan.cities) + 1,
        funds_opened=opened,
        posted=report.posted,
        duplicates=report.duplicates,
        seconds=time.perf_counter() - started,
        adjustment_fund=str(ADJUSTMENT_FUND),
        adjustment_levies_fen=adjustment.line("from_lower"),
        adjustment_closing_fen=adjustment.closing_balance_fen,
    )


def _funds(plan: ProvincePlan) -> list[tuple[FundId, int, str]]:
    """Every fund of the demo with its opening balance and name."""
    funds = [(ADJUSTMENT_FUND, ADJUSTMENT_OPENING_FEN, ADJUSTMENT_FUND_NAME)]
    for city in plan.cities:
        fund = FundId(Scheme.RESIDENT, city.city.code)
        funds.append((fund, city.opening_balance_fen, city.city.fund_name))
    return funds


def _open_funds(ledger: Ledger, plan: ProvincePlan, author: Author) -> int:
    """Open every fund (refusing first if any is already open otherwise); answer how many new."""
    funds = _funds(plan)
    for fund, opening, name in funds:
        found = ledger.find_fund(fund)
        if found is None:
            continue
        if (found.first_year, found.opening_balance_fen, found.name) != (FIRST_YEAR, opening, name):
            raise InvalidInput(
                f"{fund} is already open with other particulars: this store holds another "
                "demo (another --seed) or real books; run the demo on a new database",
                field="seed",
            )
    created_count = 0
    enrolment = {str(FundId(Scheme.RESIDENT, c.city.code)): c for c in plan.cities}
    for fund, opening, name in funds:
        opened, created = ledger.open_fund(
            fund, first_year=FIRST_YEAR, opening_balance_fen=opening, name=name, author=author
        )
        created_count += created
        city = enrolment.get(str(fund))
        if city is not None and opened.version == 1:
            _record_enrolment(ledger, fund, city, author)
    return created_count


def _record_enrolment(ledger: Ledger, fund: FundId, city: CityPlan, author: Author) -> None:
    """Each county's enrolment for each year (docs/domain.md §5), on a fund with nothing on it yet.

    Enrolment events are not idempotent (the latest record counts), so they are written only
    while the fund holds its opening event alone: a re-run finds the fund further on and
    records nothing again.
    """
    for year in city.years:
        for county in year.counties:
            ledger.record_enrolment(fund, year.year, county.code, county.enrolled, author=author)


def _post_all(
    ledger: Ledger,
    plan: ProvincePlan,
    *,
    scale: int,
    console: Console | None,
    chunk: int,
    author: Author,
) -> ImportReport:
    """Post every generated posting in batches of :data:`BATCH`, with a progress bar."""
    items = list(province_items(plan))
    total = count_postings(items, scale)
    postings = postings_of(items, scale)
    posted = duplicates = 0
    with Progress(
        TextColumn("demo postings"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=console is None,
    ) as progress:
        task = progress.add_task("posting", total=total)
        done = 0
        for batch in _batches(postings, BATCH):

            def advance(count: int, base: int = done) -> None:
                progress.update(task, completed=base + count)

            report = _import(ledger, batch, chunk=chunk, progress=advance, author=author)
            posted += report.posted
            duplicates += report.duplicates
            done += len(batch)
    assert done == total, (done, total)
    return ImportReport(posted=posted, duplicates=duplicates)


def _batches(postings: Iterator[Posting], size: int) -> Iterator[list[Posting]]:
    """Consecutive lists of at most ``size`` postings, drawn lazily."""
    while batch := list(islice(postings, size)):
        yield batch


def _import(
    ledger: Ledger, batch: list[Posting], *, chunk: int, progress: ProgressFn, author: Author
) -> ImportReport:
    """One batch; a reference already posted with other amounts means another ``--scale``."""
    try:
        return ledger.import_postings(batch, chunk=chunk, progress=progress, author=author)
    except RowErrors as error:
        conflicts = [e for e in error.errors if isinstance(e.error, ReferenceConflict)]
        if not conflicts:
            raise
        example = batch[conflicts[0].index]
        raise InvalidInput(
            f"{example.fund} already holds {example.reference} with other content: this store "
            "holds the demo at another --scale; run it on a new database",
            field="scale",
        ) from None


def _city_summary(statement_of: StatementOf, city: CityPlan) -> CitySummary:
    """The pool's latest year from its statement; enrolment from the plan (as recorded)."""
    fund = FundId(Scheme.RESIDENT, city.city.code)
    statement = statement_of(fund, LATEST_YEAR)
    return CitySummary(
        fund=str(fund),
        name=city.city.name,
        enrolled=city.years[-1].enrolled,
        income_subtotal_fen=statement.income_subtotal_fen,
        expense_subtotal_fen=statement.expense_subtotal_fen,
        current_surplus_fen=statement.current_surplus_fen,
        closing_balance_fen=statement.closing_balance_fen,
    )
