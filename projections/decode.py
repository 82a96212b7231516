"""Turning stored fund events into projection rows, without building event objects.

Rebuilding a projection must be fast (issue 3 asks 100,000 events/s on PostgreSQL), so the
stored JSON is read directly, by topic, instead of through the library's mapper. The topics
come from the event classes, so a renamed class cannot silently fall out of the projection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson

from domain.fund import Fund
from domain.lines import Line, Purpose

POSTED_LINES: dict[str, str] = {
    cls.TOPIC: cls.LINE.value
    for cls in (
        Fund.ContributionReceived, Fund.SubsidyReceived, Fund.InterestEarned,
        Fund.OtherIncomeReceived, Fund.TransferredIn, Fund.ReceivedFromUpper,
        Fund.ReceivedFromLower, Fund.BenefitPaid, Fund.CriticalIllnessPremiumPaid,
        Fund.OtherExpensePaid, Fund.TransferredOut, Fund.GrantedToLower, Fund.RemittedToUpper,
        Fund.LegacyBalanceTransferredOut, Fund.LegacyBalanceTransferredIn,
    )
}  # fmt: skip
LEGACY_MERGE = Purpose.LEGACY_MERGE.value
_OF_A_FUND = frozenset({Fund.YearClosed.TOPIC, Fund.EnrolmentRecorded.TOPIC})
"""The other topics whose rows name the fund (a posting's and a reversal's are looked up in
the loop of :func:`decode`)."""
_LINES = frozenset(line.value for line in Line)


class StoredNotification(NamedTuple):
    """One row of a province's event log.

    ``aggregate_hex`` is the aggregate id as the store gives it as text (hex on SQLite, the
    dashed form on PostgreSQL): an opaque key, used the same way throughout one database.
    """

    notification_id: int
    aggregate_hex: str
    topic: str
    state: bytes


RawNotification = tuple[int, str, str, bytes]
"""(notification id, aggregate key, topic, state): a row of the event log as read."""


@dataclass
class Rows:
    """The projection rows of a batch of notifications."""

    postings: list[tuple[Any, ...]] = field(default_factory=list)
    funds: list[tuple[Any, ...]] = field(default_factory=list)
    closes: list[tuple[Any, ...]] = field(default_factory=list)
    enrolment: list[tuple[Any, ...]] = field(default_factory=list)
    unregistered: list[int] = field(default_factory=list)
    """The notification ids of fund events whose aggregate no opening registered (the event
    log was edited: :func:`decode` leaves them out, ``audit verify`` reports them)."""


UTC_TEXT_LENGTH = len("2024-12-15T08:30:00.000000+00:00")


def utc_text(value: str | datetime) -> str:
    """A recorded time as fixed-width UTC text (comparable as a string).

    The library stores UTC times as ``isoformat()``, already in this form unless the
    microseconds were zero: that common case is passed through without parsing.
    """
    if isinstance(value, str) and len(value) == UTC_TEXT_LENGTH and value.endswith("+00:00"):
        return value
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def decode(province: str, notifications: Sequence[RawNotification], funds: dict[str, str]) -> Rows:
    """Rows for a batch; ``funds`` maps aggregate keys to fund ids and is updated.

    The loop is written flat on purpose: it runs once per event of a rebuild.
    """
    rows = Rows()
    postings_append = rows.postings.append
    reversed_topic = Fund.PostingReversed.TOPIC
    for notification_id, key, topic, raw_state in notifications:
        state = orjson.loads(raw_state)
        recorded_at = state["timestamp"]["_data_"]
        if len(recorded_at) != UTC_TEXT_LENGTH or not recorded_at.endswith("+00:00"):
            recorded_at = utc_text(recorded_at)
        line = POSTED_LINES.get(topic)
        sign = 1
        if line is None and topic == reversed_topic:
            line, sign = state["line"], -1
            assert line in _LINES, line
        if line is not None:
            fund = funds.get(key)
            if fund is None:
                rows.unregistered.append(notification_id)
                continue
            value_date: str = state["value_date"]
            postings_append(
                (
                    province, fund, int(value_date[:4]), int(value_date[5:7]), line,
                    state["sub_line"], state["level"], state["county"],
                    sign * state["amount_fen"],
                    1 if state["purpose"] == LEGACY_MERGE else 0,
                    1 if state["restatement"] else 0,
                    recorded_at, notification_id, state["reference"],
                )
            )  # fmt: skip
        else:
            _decode_other(
                province,
                (notification_id, key, topic),
                state=state,
                recorded_at=recorded_at,
                funds=funds,
                rows=rows,
            )
    return rows


def _decode_other(
    province: str,
    where: tuple[int, str, str],
    *,
    state: dict[str, Any],
    recorded_at: str,
    funds: dict[str, str],
    rows: Rows,
) -> None:
    notification_id, key, topic = where
    if key not in funds and topic in _OF_A_FUND:
        rows.unregistered.append(notification_id)
    elif topic == Fund.Opened.TOPIC:
        funds[key] = state["fund"]
        rows.funds.append(
            (
                key, state["fund"], province, state["first_year"],
                state["opening_balance_fen"], state["name"], recorded_at,
            )
        )  # fmt: skip
    elif topic == Fund.YearClosed.TOPIC:
        rows.closes.append((funds[key], state["year"], recorded_at, notification_id))
    elif topic == Fund.EnrolmentRecorded.TOPIC:
        rows.enrolment.append(
            (
                funds[key], state["year"], state["county"], state["enrolled"],
                recorded_at, notification_id,
            )
        )  # fmt: skip
