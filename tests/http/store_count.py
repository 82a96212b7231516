"""Counting a province's stored events straight from the store, beside the server.

A refused request writes nothing (docs/contract.md, "Conventions"): the tests count the rows of
the province's events table before and after. A row count, not the highest notification id,
since a PostgreSQL sequence moves on a rolled-back insert too.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from urllib.parse import parse_qs, urlsplit, urlunsplit

import psycopg
from psycopg import sql


def events_table(province: str) -> str:
    """The events table of a province's ledger (one table per province)."""
    assert len(province) == 6, province
    assert province.isdigit(), province
    return f"ledger_{province}_events"


def count_events(db_url: str, province: str) -> int:
    """How many events the province has stored (0 when its table does not exist yet)."""
    table = events_table(province)
    if db_url.startswith("sqlite:///"):
        path = db_url[len("sqlite:///") :]
        with closing(sqlite3.connect(path, timeout=30)) as conn:
            exists = conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
            ).fetchone()[0]
            if not exists:
                return 0
            return int(conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
    parts = urlsplit(db_url)
    schema = parse_qs(parts.query).get("schema", ["public"])[0]
    plain = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    with psycopg.connect(plain, autocommit=True) as conn:
        found = conn.execute("SELECT to_regclass(%s)", (f'"{schema}"."{table}"',)).fetchone()
        if found is None or found[0] is None:
            return 0
        query = sql.SQL("SELECT count(*) FROM {}.{}").format(
            sql.Identifier(schema), sql.Identifier(table)
        )
        row = conn.execute(query).fetchone()
        assert row is not None
        return int(row[0])
