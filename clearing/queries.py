"""What the clearing house reads from the read models, beyond the statement.

Postings are found by reference prefix, since ``fl_postings`` keeps no purpose: the levies
this package posts are ``LEVY-<year>`` on each pool, the draws ``DRAW-<year>-...`` on the
adjustment fund, and Nantong's catch-up payments ``CATCHUP-<county>-<year>``. A manual top-up
or reversal that should count is given a reference with the same prefix.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import InvalidInput
from domain.funds import FundId, Scheme
from domain.lines import Line
from projections.db import ProjectionDB
from projections.queries import read_statement
from projections.statement import Statement

POOL_SCHEMES = (Scheme.RESIDENT, Scheme.URBAN_RESIDENT, Scheme.NCMS)


@dataclass(frozen=True)
class CountyPlan:
    """A county's plan for a year in a municipal pool, in fen (the latest record)."""

    county: str
    contributions_fen: int
    subsidies_fen: int
    spending_fen: int


def registered_funds(db: ProjectionDB, province: str, schemes: tuple[Scheme, ...]) -> list[str]:
    """The registered funds of a province with one of ``schemes``, in fund-id order."""
    rows = db.query("SELECT fund FROM fl_funds WHERE province = %s ORDER BY fund", (province,))
    wanted = {s.value for s in schemes}
    return [str(r[0]) for r in rows if str(r[0]).partition(":")[0] in wanted]


def first_year(db: ProjectionDB, fund: str) -> int | None:
    """The first year of a registered fund's books, or None when it is not registered."""
    rows = db.query("SELECT first_year FROM fl_funds WHERE fund = %s", (fund,))
    return int(rows[0][0]) if rows else None


def statement_or_none(db: ProjectionDB, fund: str, year: int) -> Statement | None:
    """The fund's statement, or None when the fund is not registered or has no such year."""
    start = first_year(db, fund)
    if start is None or year < start:
        return None
    return read_statement(db, fund, year)


def reference_total(
    db: ProjectionDB, fund: str, line: Line, prefix: str, year: int | None = None
) -> int:
    """The net amount on a line of a fund whose references begin with ``prefix``."""
    if "%" in prefix or "_" in prefix:
        raise InvalidInput(f"{prefix!r} is not a reference prefix", field="reference")
    sql = (
        "SELECT coalesce(sum(amount_fen), 0) FROM fl_postings "
        "WHERE fund = %s AND line = %s AND reference LIKE %s"
    )
    params: list[object] = [fund, line.value, prefix + "%"]
    if year is not None:
        sql += " AND fiscal_year = %s"
        params.append(year)
    return int(db.query(sql, params)[0][0])


def county_totals(
    db: ProjectionDB, fund: str, year: int, lines: tuple[Line, ...]
) -> dict[str, int]:
    """Per county, the year's net amount on ``lines`` (postings that name a county)."""
    totals: dict[str, int] = {}
    for line in lines:
        rows = db.query(
            "SELECT county, sum(amount_fen) FROM fl_postings WHERE fund = %s AND fiscal_year = %s "
            "AND line = %s AND county IS NOT NULL AND is_transfer = 0 GROUP BY county",
            (fund, year, line.value),
        )
        for county, total in rows:
            totals[str(county)] = totals.get(str(county), 0) + int(total)
    return totals


def latest_assessment(db: ProjectionDB, fund: str, year: int) -> tuple[str, str | None] | None:
    """The pool's latest assessment for the year: (grade, score), or None."""
    rows = db.query(
        "SELECT grade, score FROM fl_assessments WHERE fund = %s AND year = %s "
        "ORDER BY notification_id DESC LIMIT 1",
        (fund, year),
    )
    if not rows:
        return None
    grade, score = rows[0]
    return str(grade), None if score is None else str(score)


def county_plans(db: ProjectionDB, fund: str, year: int) -> list[CountyPlan]:
    """The latest plan of each county of the pool for the year, in county order."""
    rows = db.query(
        "SELECT county, contributions_fen, subsidies_fen, spending_fen FROM fl_county_plans "
        "WHERE fund = %s AND year = %s ORDER BY notification_id",
        (fund, year),
    )
    latest = {str(r[0]): CountyPlan(str(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in rows}
    return [latest[c] for c in sorted(latest)]


def enrolment(db: ProjectionDB, fund: str, year: int) -> dict[str, int]:
    """Residents enrolled per county for the year (the latest record of each county)."""
    rows = db.query(
        "SELECT county, enrolled FROM fl_enrolment WHERE fund = %s AND year = %s "
        "ORDER BY notification_id",
        (fund, year),
    )
    return {str(county): int(enrolled) for county, enrolled in rows}


def adjustment_fund(province: str) -> FundId:
    """The province's adjustment fund (调剂金): ``adjustment:<province>``."""
    return FundId(Scheme.ADJUSTMENT, province)
