"""Read models beyond the statement core, plugged into the same batched, tracked projector.

An extra projection names its tables and the event topics it reads; for each such event it
answers the rows to insert. Its rows are written in the same transaction as the batch's
tracking position, so it gets the same exactly-once guarantee.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from projections.decode import StoredNotification

Insert = tuple[str, Sequence[str], tuple[Any, ...]]
"""(table, columns, row)."""


class ExtraProjection(Protocol):
    """A read model fed by some event topics."""

    tables: Mapping[str, str]
    """Table name → column definitions (SQL shared by SQLite and PostgreSQL)."""
    indexes: Sequence[str]
    """``CREATE INDEX IF NOT EXISTS`` statements."""
    topics: frozenset[str]
    """The event topics this projection reads."""

    def rows(
        self, province: str, n: StoredNotification, state: dict[str, Any], funds: Mapping[str, str]
    ) -> list[Insert]:
        """The rows one event adds (``funds`` maps fund aggregate ids, hex, to fund ids)."""


def registered() -> tuple[ExtraProjection, ...]:
    """Every extra projection of the project."""
    from projections.budgets import PROJECTION as BUDGETS
    from projections.clearing_inputs import PROJECTION as CLEARING_INPUTS

    return (BUDGETS, CLEARING_INPUTS)
