"""Monitoring days end at midnight Asia/Shanghai."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def day_of(at: datetime) -> date:
    """The Shanghai calendar day of an instant (naive instants are taken as UTC)."""
    if at.tzinfo is None:
        from datetime import UTC

        at = at.replace(tzinfo=UTC)
    return at.astimezone(SHANGHAI).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The instants ``[start, end)`` of a Shanghai day."""
    start = datetime.combine(day, time(0), tzinfo=SHANGHAI)
    return start, start + timedelta(days=1)


def window_before(day: date, days: int) -> tuple[date, date]:
    """First and last day of the ``days``-day window ending the day before ``day``."""
    return day - timedelta(days=days), day - timedelta(days=1)


def previous_day(now: datetime) -> date:
    """The last complete Shanghai day at ``now`` (what a run just after midnight reports on)."""
    return day_of(now) - timedelta(days=1)
