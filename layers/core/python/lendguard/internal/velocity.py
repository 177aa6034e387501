"""Velocity facts from per-day counts: applications per identifier and distinct ID numbers per
device / IP over the last 1, 7 and 30 days (today included, and this case with it: it was
counted when it opened, at Validate).

Days are calendar days in the borrowers' time zone (Asia/Shanghai), like every decision time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta

from lendguard.core.application import DECISION_TIMEZONE
from lendguard.core.facts import SHARED_KEYS, VELOCITY_KEYS, VELOCITY_WINDOWS

LONGEST_WINDOW = max(VELOCITY_WINDOWS)
# Items outlive the longest window by a day or two (DynamoDB TTL deletes lazily; reads filter).
TTL_DAYS = LONGEST_WINDOW + 2


def local_day(moment: datetime) -> date:
    """The borrower's calendar day of a decision time."""
    return moment.astimezone(DECISION_TIMEZONE).date()


def window_days(today: date, days: int = LONGEST_WINDOW) -> list[date]:
    """The ``days`` calendar days ending today, oldest first."""
    return [today - timedelta(days=i) for i in range(days - 1, -1, -1)]


def in_window(day: date, today: date, window: int) -> bool:
    return today - timedelta(days=window - 1) <= day <= today


def velocity_facts(
    counts: Mapping[str, Mapping[date, int] | None],
    ids: Mapping[str, Mapping[date, set[str]] | None],
    today: date,
) -> dict[str, int | None]:
    """``internal.apps_<key>_<w>d`` and ``internal.ids_on_<key>_<w>d`` for every window.

    ``counts`` maps a key of :data:`VELOCITY_KEYS` to its applications per day, ``ids`` a key of
    :data:`SHARED_KEYS` to the hashed ID numbers seen per day; a key the application does not
    carry (no IP), or whose data could not be read, maps to None and its facts are missing.
    """
    facts: dict[str, int | None] = {}
    for key in VELOCITY_KEYS:
        per_day = counts.get(key)
        for w in VELOCITY_WINDOWS:
            facts[f"internal.apps_{key}_{w}d"] = (
                None if per_day is None else sum(n for d, n in per_day.items() if in_window(d, today, w))
            )
    for key in SHARED_KEYS:
        sets = ids.get(key)
        for w in VELOCITY_WINDOWS:
            if sets is None:
                facts[f"internal.ids_on_{key}_{w}d"] = None
                continue
            seen: set[str] = set()
            for d, members in sets.items():
                if in_window(d, today, w):
                    seen |= members
            facts[f"internal.ids_on_{key}_{w}d"] = len(seen)
    return facts
