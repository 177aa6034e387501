"""``GET /v1/rules/stats?from=&to=&period=``: per-rule evaluated / hit / unique-reject counts and rates.

Read from the per-day aggregates that finalize maintains (:mod:`lendguard.decision.rule_stats`,
:mod:`lendguard.store.daily`): one Query per day of the range, never a scan of the cases.
``from`` / ``to`` are UTC days (default: the last 7 days); ``period`` (``day``, ``week``,
``month`` or ``total``, default ``day``) splits the range; ``total`` is always included.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router

from lendguard.core.errors import FieldError
from lendguard.core.lazy import lazy_module
from lendguard.http.routes.days import check_parameters, day_range, raise_if

# Imported on the route's first request.
rule_stats = lazy_module("lendguard.decision.rule_stats")
daily = lazy_module("lendguard.store.daily")

router = Router()
PARAMETERS = ("from", "to", "period")
PERIODS = ("day", "week", "month", "total")


def periods(start: date, end: date, period: str) -> list[tuple[date, date]]:
    """The range cut into days, ISO weeks (Monday first) or calendar months, clipped to the range."""
    if period == "total":
        return [(start, end)]
    out: list[tuple[date, date]] = []
    cursor = start
    while cursor <= end:
        if period == "day":
            stop = cursor
        elif period == "week":
            stop = cursor + timedelta(days=6 - cursor.weekday())
        else:
            following = date(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1)
            stop = following - timedelta(days=1)
        stop = min(stop, end)
        out.append((cursor, stop))
        cursor = stop + timedelta(days=1)
    return out


@router.get("/v1/rules/stats")
def get_rule_stats() -> Response:
    params = dict(router.current_event.query_string_parameters or {})
    errors: list[FieldError] = []
    check_parameters(params, PARAMETERS, errors)
    start, end = day_range(params, errors, max_days=daily.MAX_DAYS)
    period = params.get("period", "day")
    if period not in PERIODS:
        errors.append(FieldError(field="period", message=f"must be one of {', '.join(PERIODS)}"))
    raise_if(errors)
    counters = daily.read_counters(rule_stats.NAMESPACE, rule_stats.KEY, start, end)
    body = {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "period": period,
        "total": rule_stats.summarize(start, end, counters).model_dump(mode="json"),
        "periods": [
            rule_stats.summarize(a, b, counters).model_dump(mode="json")
            for a, b in periods(start, end, period)
        ],
    }
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=json.dumps(body))
