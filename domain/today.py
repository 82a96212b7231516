"""What "today" means for a fund: the day in Beijing, by a clock that tests can fix."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]
"""What time it is now (aware): the system clock in use, a fixed time in tests."""

CHINA = ZoneInfo("Asia/Shanghai")
"""The funds' fiscal calendar: months and years end at midnight in Beijing."""


def system_clock() -> datetime:
    """The system clock, in UTC."""
    return datetime.now(UTC)


def china_today(clock: Clock = system_clock) -> date:
    """Today's date in China (Asia/Shanghai) by ``clock``: what "today" means for a fund."""
    return clock().astimezone(CHINA).date()
