"""``GET /v1/monitor?from=&to=``: the daily monitor's report over the deployment's cases.

The same computation the scheduled run makes (:func:`lendguard.monitoring.service.compute_report`:
case records, their archived facts, loan events, the deployed policy's thresholds and its
model's baseline), for the days ``from`` to ``to`` (Shanghai days, ``YYYY-MM-DD``; default
yesterday), without writing the report or publishing metrics. ``lendguard monitor`` renders it.
A large book takes longer than the API's 29 s: the scheduled run writes every day's report to S3.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router

from lendguard.core.errors import FieldError
from lendguard.http.routes.days import check_parameters, parse_day, raise_if
from lendguard.monitoring.days import previous_day

router = Router()
PARAMETERS = ("from", "to")
MAX_DAYS = 93


@router.get("/v1/monitor")
def get_monitor() -> Response:
    from lendguard.monitoring.service import compute_report

    params = dict(router.current_event.query_string_parameters or {})
    errors: list[FieldError] = []
    check_parameters(params, PARAMETERS, errors)
    now = datetime.now(UTC)
    first, last = parse_day(params, "from", errors), parse_day(params, "to", errors)
    if (first is None) != (last is None) and not errors:
        errors.append(FieldError(field="to" if last is None else "from", message="from and to go together"))
    first = first or previous_day(now)
    last = last or first
    if last < first:
        errors.append(FieldError(field="to", message="must not be before from"))
    elif (last - first).days + 1 > MAX_DAYS:
        errors.append(FieldError(field="to", message=f"the range may span at most {MAX_DAYS} days"))
    raise_if(errors)
    report = compute_report(first, last)
    return Response(
        status_code=200, content_type=content_types.APPLICATION_JSON, body=report.model_dump_json()
    )
