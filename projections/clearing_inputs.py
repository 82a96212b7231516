"""The clearing inputs read model: assessment grades and county plans per pool and year.

One row per recorded event; the latest record (highest notification id) of a pool and year
(and county, for plans) is the one in force, and the earlier ones stay visible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from domain.clearing_inputs import PoolYear
from projections.decode import StoredNotification, utc_text
from projections.extras import Insert

ASSESSMENTS = "fl_assessments"
COUNTY_PLANS = "fl_county_plans"
ASSESSMENT_COLUMNS = (
    "province", "fund", "year", "grade", "score", "principal", "recorded_at", "notification_id",
)  # fmt: skip
PLAN_COLUMNS = (
    "province", "fund", "year", "county", "contributions_fen", "subsidies_fen", "spending_fen",
    "principal", "recorded_at", "notification_id",
)  # fmt: skip


class ClearingInputsProjection:
    """Assessments and county plans, fed by the ``PoolYear`` events."""

    tables: Mapping[str, str] = {
        ASSESSMENTS: (
            "province TEXT NOT NULL, fund TEXT NOT NULL, year INTEGER NOT NULL, "
            "grade TEXT NOT NULL, score TEXT, principal TEXT NOT NULL, "
            "recorded_at TEXT NOT NULL, notification_id BIGINT NOT NULL"
        ),
        COUNTY_PLANS: (
            "province TEXT NOT NULL, fund TEXT NOT NULL, year INTEGER NOT NULL, "
            "county TEXT NOT NULL, contributions_fen BIGINT NOT NULL, "
            "subsidies_fen BIGINT NOT NULL, spending_fen BIGINT NOT NULL, "
            "principal TEXT NOT NULL, recorded_at TEXT NOT NULL, notification_id BIGINT NOT NULL"
        ),
    }
    indexes: Sequence[str] = (
        f"CREATE INDEX IF NOT EXISTS {ASSESSMENTS}_fund_year ON {ASSESSMENTS} (fund, year)",
        f"CREATE INDEX IF NOT EXISTS {COUNTY_PLANS}_fund_year ON {COUNTY_PLANS} (fund, year)",
    )
    topics: frozenset[str] = frozenset(
        {PoolYear.AssessmentRecorded.TOPIC, PoolYear.CountyPlanSet.TOPIC}
    )

    def rows(
        self, province: str, n: StoredNotification, state: dict[str, Any], funds: Mapping[str, str]
    ) -> list[Insert]:
        """The row one assessment or plan adds."""
        del funds
        recorded_at = utc_text(state["timestamp"]["_data_"])
        head = (province, state["fund"], state["year"])
        if n.topic == PoolYear.AssessmentRecorded.TOPIC:
            grade = (*head, state["grade"], state["score"], state["principal"])
            return [(ASSESSMENTS, ASSESSMENT_COLUMNS, (*grade, recorded_at, n.notification_id))]
        plan = (
            *head,
            state["county"],
            state["contributions_fen"],
            state["subsidies_fen"],
            state["spending_fen"],
            state["principal"],
        )
        return [(COUNTY_PLANS, PLAN_COLUMNS, (*plan, recorded_at, n.notification_id))]


PROJECTION = ClearingInputsProjection()
