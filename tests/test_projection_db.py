"""The projection connection's bulk insert (projections.db): a few rows go as one pipelined
INSERT, more as COPY, and both store the same values."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from projections.db import FEW_ROWS, Row, connect
from tests.conftest import postgres_schema

pytestmark = pytest.mark.postgres

COLUMNS = ("name", "amount", "day", "at", "flag", "note")


def _rows(count: int) -> list[Row]:
    return [
        (
            f"行-{i}",
            (-1) ** i * (10**15 + i),
            date(2024, 1 + i % 12, 1 + i % 28),
            datetime(2024, 5, 1, 8, i % 60, tzinfo=UTC),
            i % 2 == 0,
            None if i % 3 else "注",
        )
        for i in range(count)
    ]


@pytest.mark.parametrize("count", [1, FEW_ROWS, FEW_ROWS + 1, 3 * FEW_ROWS])
def test_few_and_many_rows_store_the_same_values(count: int) -> None:
    with postgres_schema() as url:
        db = connect(url)
        try:
            db.execute(
                "CREATE TABLE t (name text, amount bigint, day date, at timestamptz, "
                "flag boolean, note text)"
            )
            rows = _rows(count)
            with db.transaction():
                db.insert_many("t", COLUMNS, rows)
            stored = db.query("SELECT name, amount, day, at, flag, note FROM t")
            assert sorted(stored) == sorted(rows)
        finally:
            db.close()
