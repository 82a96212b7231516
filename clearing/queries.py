"""What the clearing house reads from the read models, beyond the statement.

Postings are found by reference prefix, since ``fl_postings`` keeps no purpose: the levies
this package posts are ``LEVY-<year>`` on each pool, the draws ``DRAW-<year>-...`` on the
adjustment fund, and Nantong's catch-up payments ``CATCHUP-<county>-<year>``. A manual top-up
or reversal that should count is given a reference with the same prefix.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from domain.errors import InvalidInput
from domain.funds import FundId, Scheme
from domain.lines import ALL_INCOME, INTER_LEVEL_EXPENSE, INTER_LEVEL_INCOME, Line
from projections.db import ProjectionDB, Row
from projections.queries import read_statement
from projections.schema import INTER_LEVEL_CONDITION
from projections.statement import Statement

POOL_SCHEMES = (Scheme.RESIDENT, Scheme.URBAN_RESIDENT, Scheme.NCMS)
INTER_LEVEL = frozenset(INTER_LEVEL_INCOME + INTER_LEVEL_EXPENSE)


@dataclass(frozen=True)
class CountyPlan:
    """A county's plan for a year in a municipal pool, in fen (the latest record)."""

    county: str
    contributions_fen: int
    subsidies_fen: int
    spending_fen: int


def registered_funds(db: ProjectionDB, province: str, schemes: tuple[Scheme, ...]) -> list[str]:
    """The registered funds of a province with one of ``schemes``, in fund-id order."""
    wanted = {s.value for s in schemes}
    if isinstance(db, ProvinceBooks) and db.province == province:
        return [f for f in sorted(db.funds) if f.partition(":")[0] in wanted]
    rows = db.query("SELECT fund FROM fl_funds WHERE province = %s ORDER BY fund", (province,))
    wanted = {s.value for s in schemes}
    return [str(r[0]) for r in rows if str(r[0]).partition(":")[0] in wanted]


def first_year(db: ProjectionDB, fund: str) -> int | None:
    """The first year of a registered fund's books, or None when it is not registered."""
    if isinstance(db, ProvinceBooks) and db.has_fund_year(fund):
        return db.funds[fund][0] if fund in db.funds else None
    rows = db.query("SELECT first_year FROM fl_funds WHERE fund = %s", (fund,))
    return int(rows[0][0]) if rows else None


def statement_or_none(db: ProjectionDB, fund: str, year: int) -> Statement | None:
    """The fund's statement, or None when the fund is not registered or has no such year."""
    start = first_year(db, fund)
    if start is None or year < start:
        return None
    if isinstance(db, ProvinceBooks) and db.has_fund_year(fund, year):
        return db.statement(fund, year)
    return read_statement(db, fund, year)


def reference_total(
    db: ProjectionDB, fund: str, line: Line, prefix: str, year: int | None = None
) -> int:
    """The net amount on a line of a fund whose references begin with ``prefix``."""
    if "%" in prefix or "_" in prefix:
        raise InvalidInput(f"{prefix!r} is not a reference prefix", field="reference")
    if isinstance(db, ProvinceBooks):
        known = db.references.get((line, prefix, year))
        if known is not None:
            return known.get(fund, 0)
    on, params = _on_references(line, prefix, year)
    sql = "SELECT coalesce(sum(amount_fen), 0) FROM fl_postings WHERE fund = %s" + on  # noqa: S608
    return int(db.query(sql, [fund, *params])[0][0])


def _on_references(line: Line, prefix: str, year: int | None) -> tuple[str, list[object]]:
    """The condition on a line's postings whose references begin with ``prefix`` (of the
    fiscal ``year`` when given), with its parameters."""
    on = " AND line = %s AND reference LIKE %s"
    if line in INTER_LEVEL:  # a few rows, in a partial index of their own
        on += " AND " + INTER_LEVEL_CONDITION
    params: list[object] = [line.value, prefix + "%"]
    if year is not None:
        on += " AND fiscal_year = %s"
        params.append(year)
    return on, params


def county_totals(
    db: ProjectionDB, fund: str, year: int, lines: tuple[Line, ...]
) -> dict[str, int]:
    """Per county, the year's net amount on ``lines`` (postings that name a county)."""
    totals: dict[str, int] = {}
    if isinstance(db, ProvinceBooks) and year == db.year and fund in db.funds:
        for line in lines:
            for county, total in db.county_lines.get((fund, line.value), {}).items():
                totals[county] = totals.get(county, 0) + total
        return totals
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
    if isinstance(db, ProvinceBooks) and year == db.year and fund in db.funds:
        return db.assessments.get(fund)
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
    if isinstance(db, ProvinceBooks) and year == db.year and fund in db.funds:
        latest = db.plans.get(fund, {})
        return [latest[c] for c in sorted(latest)]
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


_COUNTY_LINES = (Line.CONTRIBUTION.value, Line.SUBSIDY.value)


@dataclass
class ProvinceBooks:
    """A province's clearing inputs for one year, read in a few set-based queries.

    Issue 9: a draft used to ask about 375 small queries of a province (a statement, a
    reference total, a grade and the plans of each pool, one by one). :meth:`read` reads every
    registered fund of the province at once: the funds, their line sums per fiscal year up to
    ``year`` (from which every statement the clearing house needs is made: the main lines,
    the opening balance and the balances merged in), the sums on the reference prefixes
    ``references_wanted`` names, the year's latest grades and county plans, and the county sums
    of contributions and subsidies for the year. The helpers of this module answer from these
    when handed a ``ProvinceBooks``; anything else (another year, another prefix) is asked of
    the database, to which every query is passed on. The line and county sums are read from
    ``fl_sums`` (:mod:`projections.sums`), the sums on reference prefixes from ``fl_postings``.
    """

    db: ProjectionDB
    province: str
    year: int
    dialect: Literal["sqlite", "postgres"] = "sqlite"
    funds: dict[str, tuple[int, int]] = field(default_factory=dict)
    """fund → (first year, opening balance)."""
    lines: dict[tuple[str, int], dict[str, int]] = field(default_factory=dict)
    """(fund, fiscal year) → line → sum of the year's postings (legacy merges apart)."""
    transfers: dict[tuple[str, int], int] = field(default_factory=dict)
    """(fund, fiscal year) → the balance moved in (+) or out (−) by legacy merges."""
    references: dict[tuple[Line, str, int | None], dict[str, int]] = field(default_factory=dict)
    assessments: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    plans: dict[str, dict[str, CountyPlan]] = field(default_factory=dict)
    county_lines: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)

    def close(self) -> None:
        """The books own no connection: the database stays open for its owner."""

    def query(self, sql: str, params: Sequence[Any] = (), *, binary: bool = False) -> list[Row]:
        """Pass a query the books do not answer on to the database."""
        return self.db.query(sql, params, binary=binary)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self.db.execute(sql, params)

    def insert_many(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        self.db.insert_many(table, columns, rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.db.transaction():
            yield

    @classmethod
    def read(
        cls,
        db: ProjectionDB,
        province: str,
        year: int,
        references_wanted: Sequence[tuple[Line, str, int | None]] = (),
    ) -> ProvinceBooks:
        """Every figure of the province's funds the year's clearing reads, in six queries
        (plus one per reference prefix wanted)."""
        books = cls(db, province, year, db.dialect)
        for fund, start, opening in db.query(
            "SELECT fund, first_year, opening_balance_fen FROM fl_funds WHERE province = %s",
            (province,),
        ):
            books.funds[str(fund)] = (int(start), int(opening))
        if not books.funds:
            return books
        for fund, fiscal_year, line, is_transfer, total in db.query(
            "SELECT fund, fiscal_year, line, is_transfer, sum(amount_fen) FROM fl_sums "
            "WHERE province = %s AND fiscal_year <= %s GROUP BY 1, 2, 3, 4",
            (province, year),
        ):
            key = (str(fund), int(fiscal_year))
            if is_transfer:
                effect = int(total) if Line(line) in ALL_INCOME else -int(total)
                books.transfers[key] = books.transfers.get(key, 0) + effect
            else:
                by_line = books.lines.setdefault(key, {})
                by_line[str(line)] = by_line.get(str(line), 0) + int(total)
        for line, prefix, in_year in references_wanted:
            on, params = _on_references(line, prefix, in_year)
            sql = "SELECT fund, sum(amount_fen) FROM fl_postings WHERE province = %s" + on  # noqa: S608
            rows = db.query(sql + " GROUP BY fund", [province, *params])
            books.references[(line, prefix, in_year)] = {str(f): int(t) for f, t in rows}
        for fund, grade, score in db.query(
            "SELECT a.fund, a.grade, a.score FROM fl_assessments a "
            "JOIN fl_funds f ON f.fund = a.fund "
            "WHERE a.year = %s AND f.province = %s ORDER BY a.notification_id",
            (year, province),
        ):
            books.assessments[str(fund)] = (str(grade), None if score is None else str(score))
        for fund, county, contributions, subsidies, spending in db.query(
            "SELECT p.fund, p.county, p.contributions_fen, p.subsidies_fen, p.spending_fen "
            "FROM fl_county_plans p JOIN fl_funds f ON f.fund = p.fund "
            "WHERE p.year = %s AND f.province = %s ORDER BY p.notification_id",
            (year, province),
        ):
            books.plans.setdefault(str(fund), {})[str(county)] = CountyPlan(
                str(county), int(contributions), int(subsidies), int(spending)
            )
        books._read_county_lines()  # every fund's county sums of the year
        return books

    def _read_county_lines(self) -> None:
        for fund, county, line, total in self.db.query(
            "SELECT fund, county, line, sum(amount_fen) FROM fl_sums "
            "WHERE province = %s AND fiscal_year = %s AND line IN (%s, %s) "
            "AND county <> '' AND is_transfer = 0 GROUP BY 1, 2, 3",
            (self.province, self.year, *_COUNTY_LINES),
        ):
            by_county = self.county_lines.setdefault((str(fund), str(line)), {})
            by_county[str(county)] = int(total)

    def has_fund_year(self, fund: str, year: int | None = None) -> bool:
        """True when the books answer for the fund (and the year): a fund of the province,
        a year up to the one read."""
        return fund.partition(":")[2][:2] == self.province[:2] and (
            year is None or year <= self.year
        )

    def statement(self, fund: str, year: int) -> Statement:
        """The fund's statement of ``year`` on its main lines (no sub-lines, no restatement
        figures: the clearing house reads neither), as :func:`read_statement` gives them."""
        first, opening = self.funds[fund]
        balance = opening
        for earlier in range(first, year):
            balance += self.transfers.get((fund, earlier), 0)
            balance += sum(
                amount if Line(line) in ALL_INCOME else -amount
                for line, amount in self.lines.get((fund, earlier), {}).items()
            )
        return Statement(
            fund=fund,
            year=year,
            opening_balance_fen=balance,
            opening_balance_transfers_fen=self.transfers.get((fund, year), 0),
            lines_fen=dict(self.lines.get((fund, year), {})),
        )
