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

import os
import uuid
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from lendguard import deployment
from lendguard.cases.record import CaseRecord
from lendguard.cases.response import DecisionResponse, response_from_case, response_from_state
from lendguard.cases.review import FieldConflict
from lendguard.core.application import parse_application
from lendguard.core.errors import Conflict, FieldError, InvalidInput, NotFound, json_object
from lendguard.decision.state import DecisionState
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
from lendguard.policy.schema import Policy
from lendguard.store import artifacts, cases, executions, idempotency

app = APIGatewayRestResolver()
app.include_router(lists_router)
app.include_router(cases_router)
app.use(middlewares=[guard])


def new_case_id(now: datetime) -> str:
    """Time-ordered, unique, and a valid Step Functions execution name."""
    return f"C{now:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:12]}"


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


@app.exception_handler(Conflict)
def _conflict(exc: Conflict) -> Response:
    # Some conflicts name the field at fault (e.g. the reviewer who already did the initial review).
    return _error(409, str(exc), getattr(exc, "details", None))


class _DirectCall:
    """The context Powertools idempotency reads when ``decide`` is called outside a Lambda
    (the CLI, tests): the in-progress record then expires after the API's own time limit."""

    function_name = "lendguard-direct"
    aws_request_id = "direct"

    def get_remaining_time_in_millis(self) -> int:
        return deployment.API_FUNCTION.timeout_s * 1000


def _policy() -> Policy:
    return artifacts.get_policy(
        os.environ[deployment.ENV_POLICY_ID], int(os.environ[deployment.ENV_POLICY_VERSION])
    )


def run_case(
    case_id: str, application: dict[str, Any], received_at: datetime
) -> tuple[int, DecisionResponse]:
    """Run the decision flow for a validated application as ``case_id``: (HTTP status, response).

    ``received_at`` is the server's receive time: every stage decides on it (ages, local hour),
    and the case keeps it, so a re-decision decides on the same time.
    """
    request = {"case_id": case_id, "application": application, "received_at": received_at.isoformat()}
    result = executions.run_decision(case_id, request)
    if result.status == "SUCCEEDED" and result.output is not None:
        return 200, response_from_state(DecisionState.model_validate(result.output))
    # The failure path recorded the case as FAILED with its cause; answer with that record.
    try:
        case = cases.get_case(case_id)
    except NotFound:
        raise RuntimeError(
            f"execution {result.execution_arn} ended {result.status}: {result.error}"
        ) from None
    return 502, response_from_case(case)


def decide(
    body: str | bytes | None, context: Any = None, received_at: datetime | None = None
) -> tuple[int, DecisionResponse]:
    """Validate an application, run the decision flow, and return (HTTP status, response).

    Invalid input raises :class:`InvalidInput` before any case or execution is created.
    Idempotent on ``application_id`` (Powertools idempotency, DynamoDB): the same application
    again gets the first answer and no new case; the same id with a different body raises
    :class:`Conflict` (409). A FAILED first answer whose case was since re-decided is followed
    to the case that replaced it. ``received_at`` (default: now) is when the API received it.
    """
    received = received_at or datetime.now(UTC)
    application = parse_application(body, _policy().products, received_at=received).model_dump(mode="json")

    def _decide_once(application: dict[str, Any]) -> dict[str, Any]:
        # The idempotent unit: what it returns is stored and handed back to every repeat.
        status, response = run_case(new_case_id(received), application, received)
        return {"status": status, "response": response.model_dump(mode="json")}

    config = IdempotencyConfig(
        event_key_jmespath="application_id",
        payload_validation_jmespath="@",  # the whole (normalised) application: a changed body is a 409
        raise_on_no_idempotency_key=True,
        expires_after_seconds=deployment.IDEMPOTENCY_TTL_SECONDS,
    )
    config.register_lambda_context(context or _DirectCall())
    once = idempotent_function(
        _decide_once,
        data_keyword_argument="application",
        persistence_store=idempotency.persistence(),
        config=config,
        key_prefix="lendguard.decide",
    )
    app_id = application["application_id"]
    try:
        outcome = once(application=application)
    except IdempotencyValidationError:
        raise FieldConflict(
            f"application_id {app_id} was already decided for a different application",
            [FieldError(field="application_id", message="already used with a different body; use a new id")],
        ) from None
    except IdempotencyAlreadyInProgressError:
        raise Conflict(
            f"application {app_id} is being decided right now; repeat the request shortly"
        ) from None
    status, response = int(outcome["status"]), DecisionResponse.model_validate(outcome["response"])
    return _follow_redecisions(status, response)


def _follow_redecisions(
    status: int, response: DecisionResponse, max_hops: int = 10
) -> tuple[int, DecisionResponse]:
    """A FAILED answer whose case was re-decided: the answer of the case that replaced it."""
    for _ in range(max_hops):
        if response.status != "FAILED":
            break
        try:
            case = cases.get_case(response.case_id)
            if not case.redecided_as:
                break
            newer = cases.get_case(case.redecided_as)
        except NotFound:
            break
        response = response_from_case(newer)
        status = 502 if newer.status == "FAILED" else 200
    return status, response


@app.post("/v1/decisions")
def post_decision() -> Response:
    status, response = decide(body_bytes(app), app.lambda_context)
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=response.model_dump_json()
    )


def redecide(case_id: str, body: str | bytes | dict[str, Any] | None) -> tuple[int, DecisionResponse]:
    """Decide a FAILED case again, as a new case linked to it (``redecided_from`` / ``redecided_as``).

    The application comes from the failed case's archive and is checked against the policy in
    force now, on the failed case's ``received_at`` (a re-decision decides as of the time the
    application came in). The old case is linked first with a conditional write, so two
    concurrent re-decisions of one case cannot both start.
    """
    request = parse_redecide_request(body)
    old = cases.get_case(case_id)
    if old.status != "FAILED":
        raise Conflict(f"case {case_id} is {old.status}; only a FAILED case can be re-decided")
    if old.redecided_as:
        raise Conflict(f"case {case_id} was already re-decided as {old.redecided_as}")
    if not old.application_ref:
        raise Conflict(f"case {case_id} has no archived application to decide again")
    try:
        raw = cases.load_application(old.application_ref)
    except NotFound as exc:
        raise Conflict(str(exc)) from None
    try:
        application = parse_application(raw, _policy().products, received_at=old.created_at).model_dump(
            mode="json"
        )
    except InvalidInput as exc:
        raise FieldConflict(
            f"the application of case {case_id} is not valid under the policy in force", exc.details
        ) from None
    new_id = new_case_id(datetime.now(UTC))
    cases.claim_link(case_id, "redecided_as", new_id, require_status="FAILED")
    status, _ = run_case(new_id, application, old.created_at)

    def link(stored: cases.StoredCase) -> tuple[CaseRecord, tuple[str, str] | None]:
        stored.case.redecided_from, stored.case.redecided_by = case_id, request.requested_by
        return stored.case, cases.current_task(stored)

    return status, response_from_case(cases.update_case(new_id, link))


@app.post("/v1/cases/<case_id>/redecide")
def post_redecide(case_id: str) -> Response:
    """Decide a FAILED case again: 200 (or 502 if it failed again) with the new case's answer."""
    raw = body_bytes(app)
    data = dict(json_object(raw, "invalid re-decision")) if raw else {}
    data["requested_by"] = actor_field(data.get("requested_by"), principal(app), "requested_by")
    status, response = redecide(check_case_id(case_id), data)
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
    return {"case_id": case_id, "execution_arn": case.execution_arn, "events": _jsonable(events)}


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
