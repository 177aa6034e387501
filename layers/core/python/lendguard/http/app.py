"""The HTTP API (API Gateway REST, Lambda proxy), on Powertools' resolver.

The deployed ``api`` function and ``lendguard serve`` run this same resolver, so request and
response bodies are the same locally and on AWS. Errors are JSON
``{"error": ..., "details": [{"field", "message"}]}`` with a 4xx status.

``POST /v1/decisions`` is idempotent on ``application_id`` (Powertools idempotency over the
IdempotencyTable); ``POST /v1/cases/{case_id}/redecide`` decides a FAILED case again. The other
case routes are in :mod:`lendguard.http.routes.cases`.

Every request passes :func:`lendguard.http.guard.guard` first (route table, caller, roles,
content type). Anything unexpected is a 500 JSON error with the request id, never the
exception's text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types

from lendguard.core.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound, json_object
from lendguard.core.lazy import lazy_module
from lendguard.http.guard import (
    HttpProblem,
    actor_field,
    body_bytes,
    error_response,
    guard,
    log_unexpected,
    principal,
    request_id,
)
from lendguard.http.routes.cases import check_case_id, parse_redecide_request
from lendguard.http.routes.cases import router as cases_router
from lendguard.http.routes.lists import router as lists_router
from lendguard.http.routes.loans import router as loans_router
from lendguard.http.routes.me import router as me_router
from lendguard.http.routes.monitor import router as monitor_router
from lendguard.http.routes.policies import router as policies_router
from lendguard.http.routes.privacy import router as privacy_router
from lendguard.http.routes.replay import router as replay_router
from lendguard.http.routes.rules import router as rules_router

# Services are imported on a route's first request, or by the warm-up (SnapStart's
# before-snapshot hook imports the decision route's): the handler's import stays near the floor.
service = lazy_module("lendguard.cases.service")
_masking = lazy_module("lendguard.cases.masking")
cases = lazy_module("lendguard.store.cases")
executions = lazy_module("lendguard.store.executions")

app = APIGatewayRestResolver()
app.include_router(lists_router)
app.include_router(cases_router)
app.include_router(loans_router)
app.include_router(rules_router)
app.include_router(policies_router)
app.include_router(privacy_router)
app.include_router(replay_router)
app.include_router(monitor_router)
app.include_router(me_router)
app.use(middlewares=[guard])


_error = error_response


@app.exception_handler(HttpProblem)
def _refused(exc: HttpProblem) -> Response:
    return _error(exc.status, exc.message, exc.details)


@app.exception_handler(Exception)
def _unexpected(exc: Exception) -> Response:
    # No exception text leaves the function: it may quote an application (personal data).
    rid = request_id(app.current_event)
    log_unexpected(exc, rid)
    return Response(
        status_code=500,
        content_type=content_types.APPLICATION_JSON,
        body={"error": "internal error", "request_id": rid,
              "details": [{"field": "(server)", "message": f"unexpected error; quote request id {rid}"}]},
    )  # fmt: skip


@app.exception_handler(InvalidInput)
def _invalid(exc: InvalidInput) -> Response:
    return _error(400, exc.message, exc.details)


@app.exception_handler(NotFound)
def _not_found(exc: NotFound) -> Response:
    return _error(404, str(exc))


@app.exception_handler(Forbidden)
def _forbidden(exc: Forbidden) -> Response:
    return _error(403, str(exc), exc.details)


@app.exception_handler(Conflict)
def _conflict(exc: Conflict) -> Response:
    # Some conflicts name the field at fault (e.g. the reviewer who already did the initial review).
    return _error(409, str(exc), getattr(exc, "details", None))


@app.post("/v1/decisions")
def post_decision() -> Response:
    status, response = service.decide(body_bytes(app), app.lambda_context)
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=response.model_dump_json()
    )


@app.post("/v1/cases/<case_id>/redecide")
def post_redecide(case_id: str) -> Response:
    """Decide a FAILED case again: 200 (or 502 if it failed again) with the new case's answer."""
    raw = body_bytes(app)
    data = dict(json_object(raw, "invalid re-decision")) if raw else {}
    data["requested_by"] = actor_field(data.get("requested_by"), principal(app), "requested_by")
    request = parse_redecide_request(data)
    status, response = service.redecide(check_case_id(case_id), request.requested_by)
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=response.model_dump_json()
    )


@app.get("/v1/cases/<case_id>/history")
def get_case_history(case_id: str) -> dict[str, Any]:
    case = cases.get_case(check_case_id(case_id))
    if not case.execution_arn:
        raise NotFound(f"case {case_id} has no execution recorded")
    events = executions.history(case.execution_arn)
    if events is None:  # deployed Express: the case's own stage trace is the timeline
        stages = [s.model_dump() for s in case.trace.stages] if case.trace else []
        return {"case_id": case_id, "execution_arn": case.execution_arn, "events": [], "stages": stages}
    # Each state's input and output carries the application: masked like the case record.
    masked = [_masking.mask_event(e) for e in events]
    return {"case_id": case_id, "execution_arn": case.execution_arn, "events": _jsonable(masked)}


@app.get("/v1/executions")
def get_executions() -> dict[str, Any]:
    raw_limit = app.current_event.get_query_string_value("limit", "50") or "50"
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 1000:
        raise InvalidInput(
            "invalid query", [FieldError(field="limit", message="must be an integer from 1 to 1000")]
        )
    out = []
    for e in executions.list_executions(int(raw_limit)):
        out.append({"case_id": e["name"], "execution_arn": e["executionArn"], "status": e["status"],
                    "started_at": e["startDate"], "stopped_at": e.get("stopDate")})  # fmt: skip
    return {"executions": _jsonable(out)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
