"""The sums read model (``fl_sums``): the postings' totals per fund, year, month and line.

Every read that needs only the figures as they stand now (the restated statement, the ratios,
the monthly chart, subsidies received, the clearing house's books) sums ``fl_sums`` instead of
every row of ``fl_postings``: a million postings of a province come down to a few tens of
thousands of sums. A row holds, per key (province, fund, fiscal year, month, line, sub-line,
level, county, balance transfer or not, restatement or not), the net amount and the number of
postings; an absent sub-line, level or county is ``''`` (not NULL) so that the key is unique on
SQLite and PostgreSQL alike.

The projector keeps it in the transaction of each batch, after the position guard (a batch
rolled back for another projector's leaves no sum behind): the batch's postings are summed
per key and added with ``INSERT ... ON CONFLICT DO UPDATE``. When the position was moved back,
the province's sums are computed again from its postings (:func:`recompute`). A store
initialised before the table existed gets it, filled from ``fl_postings``, from
``fundledger init`` or the next catch-up (:func:`ensure`). ``audit verify`` compares it with a
GROUP BY of the postings (:mod:`projections.sums_audit`).

Reads "as of" a time or "as closed", and sums on reference prefixes, need the postings'
recorded times or references, and keep reading ``fl_postings``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from projections.db import ProjectionDB

TABLE = "fl_sums"
KEY = (
    "province", "fund", "fiscal_year", "month", "line", "sub_line", "level", "county",
    "is_transfer", "restatement",
)  # fmt: skip
"""A sum's key: the postings' columns but their amount, recorded time, id and reference."""
COLUMNS = (*KEY, "amount_fen", "postings")
DEFINITION = (
    "province TEXT NOT NULL, fund TEXT NOT NULL, fiscal_year INTEGER NOT NULL, "
    "month INTEGER NOT NULL, line TEXT NOT NULL, sub_line TEXT NOT NULL, level TEXT NOT NULL, "
    "county TEXT NOT NULL, is_transfer SMALLINT NOT NULL, restatement SMALLINT NOT NULL, "
    "amount_fen BIGINT NOT NULL, postings BIGINT NOT NULL"
)
INDEXES = (
    f"CREATE UNIQUE INDEX IF NOT EXISTS fl_sums_key ON fl_sums ({', '.join(KEY)})",
    "CREATE INDEX IF NOT EXISTS fl_sums_fund_year ON fl_sums (fund, fiscal_year)",
)
INDEX_NAMES = ("fl_sums_key", "fl_sums_fund_year")

GROUPED_POSTINGS = (
    "SELECT province, fund, fiscal_year, month, line, coalesce(sub_line, ''), "
    "coalesce(level, ''), coalesce(county, ''), is_transfer, restatement, sum(amount_fen), "
    "count(*) FROM fl_postings"
)
"""The postings summed per key (add a WHERE, then :data:`GROUP_BY_KEY`)."""
GROUP_BY_KEY = " GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10"

_INSERT = "INSERT INTO fl_sums (" + ", ".join(COLUMNS) + ") "
_ADD = (
    " ON CONFLICT (" + ", ".join(KEY) + ") DO UPDATE SET "
    "amount_fen = fl_sums.amount_fen + excluded.amount_fen, "
    "postings = fl_sums.postings + excluded.postings"
)
_UPSERT_ROWS = 1000
"""Rows per upsert statement (12 parameters each: well inside both backends' limits)."""

# Where a posting row (projections.schema.POSTING_COLUMNS) keeps what the sums need.
_PROVINCE, _FUND, _YEAR, _MONTH, _LINE, _SUB, _LEVEL, _COUNTY, _AMOUNT, _TRANSFER, _RESTATED = (
    range(11)
)


def exists(db: ProjectionDB) -> bool:
    """True once the table exists in this database."""
    if db.dialect == "sqlite":
        sql = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'fl_sums'"
        return bool(db.query(sql)[0][0])
    return db.query("SELECT to_regclass('fl_sums') IS NOT NULL")[0][0] is True


def ensure(db: ProjectionDB) -> bool:
    """Create the table and its indexes, filled from ``fl_postings``, when it does not exist
    (a store initialised before it); True when it was created.

    On PostgreSQL the transaction first locks ``fl_tracking`` against every projector's
    position guard, so that no batch commits postings between the fill and the table's
    first upsert (SQLite's ``BEGIN IMMEDIATE`` already keeps every other writer out).
    """
    if exists(db):
        return False
    with db.transaction():
        if db.dialect == "postgres":
            db.execute("LOCK TABLE fl_tracking IN SHARE ROW EXCLUSIVE MODE")
            if exists(db):  # another process created it while this one waited
                return False
        db.execute("CREATE TABLE IF NOT EXISTS fl_sums (" + DEFINITION + ")")
        for statement in INDEXES:
            db.execute(statement)
        db.execute("DELETE FROM fl_sums")
        db.execute(_INSERT + GROUPED_POSTINGS + GROUP_BY_KEY)
    return True


def summed(postings: Sequence[tuple[Any, ...]]) -> dict[tuple[Any, ...], list[int]]:
    """A batch's posting rows summed per key: key → [amount, number of postings]."""
    sums: dict[tuple[Any, ...], list[int]] = {}
    for row in postings:
        key = (
            row[_PROVINCE], row[_FUND], row[_YEAR], row[_MONTH], row[_LINE],
            row[_SUB] or "", row[_LEVEL] or "", row[_COUNTY] or "",
            row[_TRANSFER], row[_RESTATED],
        )  # fmt: skip
        found = sums.get(key)
        if found is None:
            sums[key] = [row[_AMOUNT], 1]
        else:
            found[0] += row[_AMOUNT]
            found[1] += 1
    return sums


def add(db: ProjectionDB, postings: Sequence[tuple[Any, ...]]) -> None:
    """Add a batch's postings to the sums (inside the batch's transaction)."""
    rows = [(*key, amount, count) for key, (amount, count) in summed(postings).items()]
    marks = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"
    for start in range(0, len(rows), _UPSERT_ROWS):
        chunk = rows[start : start + _UPSERT_ROWS]
        params = [value for row in chunk for value in row]
        db.execute(_INSERT + "VALUES " + ", ".join([marks] * len(chunk)) + _ADD, params)


def recompute(db: ProjectionDB, province: str) -> None:
    """The province's sums computed again from its postings (the position was moved back:
    a rare path, so the simplest correct one)."""
    db.execute("DELETE FROM fl_sums WHERE province = %s", (province,))
    db.execute(_INSERT + GROUPED_POSTINGS + " WHERE province = %s" + GROUP_BY_KEY, (province,))
