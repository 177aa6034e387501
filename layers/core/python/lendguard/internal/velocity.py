"""Velocity facts from per-day counts: applications per identifier and distinct ID numbers per
device / IP over the last 1, 7 and 30 days (today included, and this case with it: it was
counted when it opened, at Validate).

Days are calendar days in the borrowers' time zone (Asia/Shanghai), like every decision time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache

from lendguard.core.application import DECISION_TIMEZONE
from lendguard.core.facts import SHARED_KEYS, VELOCITY_KEYS, VELOCITY_WINDOWS

LONGEST_WINDOW = max(VELOCITY_WINDOWS)
# Items outlive the longest window by a day or two (DynamoDB TTL deletes lazily; reads filter).
TTL_DAYS = LONGEST_WINDOW + 2
# The fact names per key, window by window (in VELOCITY_WINDOWS' order), spelt once.
_APPS_FACTS = {key: tuple(f"internal.apps_{key}_{w}d" for w in VELOCITY_WINDOWS) for key in VELOCITY_KEYS}
_IDS_FACTS = {key: tuple(f"internal.ids_on_{key}_{w}d" for w in VELOCITY_WINDOWS) for key in SHARED_KEYS}


def local_day(moment: datetime) -> date:
    """The borrower's calendar day of a decision time."""
    return moment.astimezone(DECISION_TIMEZONE).date()


def window_days(today: date, days: int = LONGEST_WINDOW) -> list[date]:
    """The ``days`` calendar days ending today, oldest first."""
    return list(_window(today, days))


# Every case of a day asks for the same windows (30 days of velocity, a year of history): the
# day list is built once per day and window, not per case (365 date subtractions a case).
@lru_cache(maxsize=16)
def _window(today: date, days: int) -> tuple[date, ...]:
    return tuple(today - timedelta(days=i) for i in range(days - 1, -1, -1))


@lru_cache(maxsize=16)
def _window_starts(today: date) -> tuple[date, ...]:
    """The first day of each window of :data:`VELOCITY_WINDOWS` ending today."""
    return tuple(today - timedelta(days=w - 1) for w in VELOCITY_WINDOWS)


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
    starts = _window_starts(today)
    for key, names in _APPS_FACTS.items():
        per_day = counts.get(key)
        for start, name in zip(starts, names, strict=True):
            facts[name] = (
                None if per_day is None else sum(n for d, n in per_day.items() if start <= d <= today)
            )
    for key, names in _IDS_FACTS.items():
        sets = ids.get(key)
        for start, name in zip(starts, names, strict=True):
            if sets is None:
                facts[name] = None
                continue
            seen: set[str] = set()
            for d, members in sets.items():
                if start <= d <= today:
                    seen |= members
            facts[name] = len(seen)
    return facts
