"""Reading the statement read model: by view (restated, as closed) and "as of" a time.

The value date decides the fiscal year and month; the recorded time decides what was known.
The restated statement of everything recorded is summed from ``fl_sums``
(:mod:`projections.sums`); a statement as of a time or as closed from ``fl_postings``.
``as_closed`` shows a year as it stood when its final accounts were approved (everything
recorded up to the close); ``restated`` (the default) includes every restatement since.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from domain.errors import FundNotRegistered, InvalidInput
from domain.lines import ALL_INCOME, Line
from projections.db import ProjectionDB
from projections.statement import Statement, line_keys

View = Literal["restated", "as_closed"]
FAR_FUTURE = "9999-12-31T23:59:59.999999+00:00"

_STATEMENT = (
    "SELECT CASE WHEN fiscal_year < %s THEN 1 ELSE 0 END, line, sub_line, level, "
    "is_transfer, restatement, sum(amount_fen) FROM "
)
_GROUP = " GROUP BY 1, 2, 3, 4, 5, 6"
"""A statement's sums, from ``fl_sums`` (everything recorded, restated) or ``fl_postings``
(as of a time, as closed): the same columns, an absent sub-line or level ``''`` in the sums
and NULL in the postings, which :func:`projections.statement.line_keys` reads alike."""


def registration(db: ProjectionDB, fund: str, as_of: str | None = None) -> tuple[int, int]:
    """The fund's first year and opening balance (fen) as registered, as of ``as_of``.

    Raises:
        FundNotRegistered: the fund was not registered (by then).
    """
    found = db.query(
        "SELECT first_year, opening_balance_fen FROM fl_funds "
        "WHERE fund = %s AND recorded_at <= %s",
        (fund, as_of or FAR_FUTURE),
    )
    if not found:
        raise FundNotRegistered(
            f"{fund} is not registered" + (f" as of {as_of}" if as_of else ""), field="fund"
        )
    return int(found[0][0]), int(found[0][1])


_BY_YEAR = (
    "SELECT fund, fiscal_year, line, sub_line, level, is_transfer, restatement, "
    "sum(amount_fen) FROM fl_postings WHERE fund IN ({}) AND recorded_at <= %s "
    "GROUP BY 1, 2, 3, 4, 5, 6, 7"
)
SUMMED_FUNDS_PER_QUERY = 500
"""Funds summed in one query by :func:`summed_postings`."""


def summed_postings(db: ProjectionDB, funds: Sequence[str]) -> dict[str, list[tuple[Any, ...]]]:
    """Every posting recorded of ``funds`` summed by fund, fiscal year and the columns a
    statement reads: what :func:`read_statement` sums from ``fl_postings`` (``from_postings``),
    for every year of many funds, in one query (each fund's statement query reads every page
    of the table its postings are spread over; the audit reads all its funds' years so)."""
    found: dict[str, list[tuple[Any, ...]]] = {fund: [] for fund in funds}
    for start in range(0, len(funds), SUMMED_FUNDS_PER_QUERY):
        chunk = list(funds[start : start + SUMMED_FUNDS_PER_QUERY])
        placeholders = ", ".join(["%s"] * len(chunk))
        for fund, *summed in db.query(_BY_YEAR.format(placeholders), [*chunk, FAR_FUTURE]):
            found[str(fund)].append(tuple(summed))
    return found


def read_statement(
    db: ProjectionDB,
    fund: str,
    year: int,
    *,
    view: View = "restated",
    as_of: str | None = None,
    from_postings: bool = False,
    summed: Sequence[tuple[Any, ...]] | None = None,
) -> Statement:
    """The statement of ``fund`` for ``year`` from the read model: the restated view of
    everything recorded from ``fl_sums`` unless ``from_postings`` (the audit compares the
    postings themselves with a replay, and the sums with the postings). ``summed``: the
    fund's rows of :func:`summed_postings`, read already (with ``from_postings``, restated,
    not as of a time), instead of its own query."""
    cutoff = as_of or FAR_FUTURE
    first_year, opening_fen = registration(db, fund, as_of)
    if year < first_year:
        raise InvalidInput(f"{fund} keeps its books from {first_year}, not {year}", field="year")
    closed = db.query(
        "SELECT closed_at FROM fl_closes WHERE fund = %s AND year = %s AND closed_at <= %s",
        (fund, year, cutoff),
    )
    closed_at = str(closed[0][0]) if closed else None
    if view == "as_closed":
        if closed_at is None:
            raise InvalidInput(
                f"{fund} {year} is not closed: there is no as-closed view", field="view"
            )
        cutoff = closed_at
    statement = Statement(fund=fund, year=year, view=view, as_of=as_of, closed_at=closed_at)
    rows = _statement_rows(
        db,
        fund,
        year,
        cutoff,
        fixed=view == "restated" and as_of is None,
        summed=summed,
        from_postings=from_postings,
    )
    balance_before = opening_fen
    for earlier, line_text, sub_line, level, is_transfer, restatement, total in rows:
        amount = int(total)
        effect = amount if Line(line_text) in ALL_INCOME else -amount
        if earlier:
            balance_before += effect
            if restatement:
                statement.opening_restatements_fen += effect
            continue
        if restatement:
            statement.restatements_fen += effect
        if is_transfer:
            statement.opening_balance_transfers_fen += effect
            continue
        for key in line_keys(line_text, sub_line, level):
            statement.lines_fen[key] = statement.lines_fen.get(key, 0) + amount
    statement.opening_balance_fen = balance_before
    return statement


def _statement_rows(
    db: ProjectionDB,
    fund: str,
    year: int,
    cutoff: str,
    *,
    fixed: bool,
    summed: Sequence[tuple[Any, ...]] | None,
    from_postings: bool,
) -> list[tuple[Any, ...]]:
    """The sums :func:`read_statement` folds (before the year, or of it; line, sub-line,
    level, transfer, restatement, amount): ``fixed`` is the restated view of everything
    recorded, which ``fl_sums`` answers unless ``from_postings``."""
    if summed is not None:
        if not (from_postings and fixed):
            raise ValueError("summed postings are the restated view of everything recorded")
        return [(1 if y < year else 0, *rest) for y, *rest in summed if y <= year]
    if fixed and not from_postings:
        return db.query(
            _STATEMENT + "fl_sums WHERE fund = %s AND fiscal_year <= %s" + _GROUP,
            (year, fund, year),
        )
    return db.query(
        _STATEMENT + "fl_postings WHERE fund = %s AND fiscal_year <= %s "
        "AND recorded_at <= %s" + _GROUP,
        (year, fund, year, cutoff),
    )
