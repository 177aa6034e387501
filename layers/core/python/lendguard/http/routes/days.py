"""Day-range query parameters (``from`` / ``to`` as ``YYYY-MM-DD``) shared by the loan and rule routes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta

from lendguard.core.errors import FieldError, InvalidInput


def utc_today() -> date:
    return datetime.now(UTC).date()


def check_parameters(params: Mapping[str, str], allowed: Sequence[str], errors: list[FieldError]) -> None:
    for name in sorted(set(params) - set(allowed)):
        errors.append(FieldError(field=name, message=f"unknown parameter; use {', '.join(allowed)}"))


def parse_day(params: Mapping[str, str], name: str, errors: list[FieldError]) -> date | None:
    """``params[name]`` as a date; a problem is appended to ``errors`` (None when absent or bad)."""
    raw = params.get(name)
    if raw is None:
        return None
    try:
        if len(raw) != 10:
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        errors.append(FieldError(field=name, message="must be a date in the form YYYY-MM-DD"))
        return None


def day_range(
    params: Mapping[str, str], errors: list[FieldError], *, max_days: int, default_days: int = 7
) -> tuple[date, date]:
    """``from``..``to`` (inclusive), defaulting to the ``default_days`` days up to today (UTC)."""
    start, end = parse_day(params, "from", errors), parse_day(params, "to", errors)
    end = end or utc_today()
    start = start or end - timedelta(days=default_days - 1)
    if end < start:
        errors.append(FieldError(field="to", message="must not be before from"))
    elif (end - start).days + 1 > max_days:
        errors.append(FieldError(field="to", message=f"the range may span at most {max_days} days"))
    return start, end


def raise_if(errors: list[FieldError], message: str = "invalid query") -> None:
    if errors:
        raise InvalidInput(message, errors)
