"""The projection tables: one set per database, every row tagged with its province.

Text times are UTC ISO-8601 with microseconds (``2024-12-15T08:30:00.000000+00:00``), so that
they compare as strings the same way on SQLite and PostgreSQL.
"""

from __future__ import annotations

from domain.lines import INTER_LEVEL_EXPENSE, INTER_LEVEL_INCOME
from domain.regions import PROVINCES
from projections import sums
from projections.db import ProjectionDB

POSTING_COLUMNS = (
    "province",
    "fund",
    "fiscal_year",
    "month",
    "line",
    "sub_line",
    "level",
    "county",
    "amount_fen",
    "is_transfer",
    "restatement",
    "recorded_at",
    "notification_id",
    "reference",
)
FUND_COLUMNS = (
    "aggregate_id",
    "fund",
    "province",
    "first_year",
    "opening_balance_fen",
    "name",
    "recorded_at",
)
CLOSE_COLUMNS = ("fund", "year", "closed_at", "notification_id")
ENROLMENT_COLUMNS = ("fund", "year", "county", "enrolled", "recorded_at", "notification_id")

TABLES = {
    "fl_tracking": "province TEXT PRIMARY KEY, position BIGINT NOT NULL",
    "fl_applied": "province TEXT PRIMARY KEY, high BIGINT NOT NULL",
    "fl_funds": (
        "aggregate_id TEXT PRIMARY KEY, fund TEXT NOT NULL UNIQUE, province TEXT NOT NULL, "
        "first_year INTEGER NOT NULL, opening_balance_fen BIGINT NOT NULL, name TEXT, "
        "recorded_at TEXT NOT NULL"
    ),
    "fl_postings": (
        "province TEXT NOT NULL, fund TEXT NOT NULL, fiscal_year INTEGER NOT NULL, "
        "month INTEGER NOT NULL, line TEXT NOT NULL, sub_line TEXT, level TEXT, county TEXT, "
        "amount_fen BIGINT NOT NULL, is_transfer SMALLINT NOT NULL, "
        "restatement SMALLINT NOT NULL, recorded_at TEXT NOT NULL, "
        "notification_id BIGINT NOT NULL, reference TEXT NOT NULL"
    ),
    "fl_closes": (
        "fund TEXT NOT NULL, year INTEGER NOT NULL, closed_at TEXT NOT NULL, "
        "notification_id BIGINT NOT NULL, PRIMARY KEY (fund, year)"
    ),
    "fl_enrolment": (
        "fund TEXT NOT NULL, year INTEGER NOT NULL, county TEXT NOT NULL, "
        "enrolled BIGINT NOT NULL, recorded_at TEXT NOT NULL, notification_id BIGINT NOT NULL"
    ),
}

INTER_LEVEL_CONDITION = (
    "line IN (" + ", ".join(f"'{x.value}'" for x in INTER_LEVEL_INCOME + INTER_LEVEL_EXPENSE) + ")"
)
"""The postings between levels (remittances, levies, draws): a few rows among millions, which
the clearing house sums by reference prefix. A query that also states this condition, word for
word, may use the partial index ``fl_postings_inter_level`` (SQLite needs the same term)."""

INDEXES = (
    "CREATE INDEX IF NOT EXISTS fl_postings_fund_year ON fl_postings (fund, fiscal_year)",
    "CREATE INDEX IF NOT EXISTS fl_enrolment_fund_year ON fl_enrolment (fund, year)",
    # The clearing house reads a province's year at once (clearing.queries.ProvinceBooks).
    "CREATE INDEX IF NOT EXISTS fl_postings_province_year ON fl_postings (province, fiscal_year)",
    # The levies and draws found by reference prefix (clearing.queries._on_references).
    "CREATE INDEX IF NOT EXISTS fl_postings_inter_level ON fl_postings (line, fund) "
    f"WHERE {INTER_LEVEL_CONDITION}",
)

INDEX_NAMES = (
    "fl_postings_fund_year",
    "fl_enrolment_fund_year",
    "fl_postings_province_year",
    "fl_postings_inter_level",
    *sums.INDEX_NAMES,
)

DATA_TABLES = ("fl_postings", "fl_funds", "fl_closes", "fl_enrolment", sums.TABLE)

BY_FUND_TABLES = ("fl_closes", "fl_enrolment")
"""Tables whose rows name a fund but not its province (scoped through ``fl_funds``)."""


def create_tables(db: ProjectionDB) -> None:
    """Create the projection tables and one tracking row per province (idempotent).

    ``fl_applied`` keeps, per province, the highest position ever applied: when the tracking
    position was moved back below it, the projector removes the rows of the events it applies
    again before inserting them (:meth:`projections.runner.Projector._apply`). ``fl_sums`` is
    created last, filled from the postings already projected (:func:`projections.sums.ensure`)."""
    with db.transaction():
        for name, columns in TABLES.items():
            db.execute(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")
        for statement in INDEXES:
            db.execute(statement)
        for table, column in (("fl_tracking", "position"), ("fl_applied", "high")):
            known = {row[0] for row in db.query(f"SELECT province FROM {table}")}  # noqa: S608
            for province in PROVINCES:
                if province not in known:
                    db.execute(
                        f"INSERT INTO {table} (province, {column}) VALUES (%s, 0)",  # noqa: S608
                        (province,),
                    )
    sums.ensure(db)


def tables_exist(db: ProjectionDB) -> bool:
    """True once :func:`create_tables` ran on this database."""
    if db.dialect == "sqlite":
        sql = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'fl_tracking'"
        return bool(db.query(sql)[0][0])
    return db.query("SELECT to_regclass('fl_tracking') IS NOT NULL")[0][0] is True
