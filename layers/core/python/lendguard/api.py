"""The HTTP API (API Gateway REST, Lambda proxy), on Powertools' resolver.

The deployed ``api`` function and ``lendguard serve`` run this same resolver, so request and
response bodies are the same locally and on AWS. Errors are JSON
``{"error": ..., "details": [{"field", "message"}]}`` with a 4xx status.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types

from lendguard import deployment
from lendguard.application import parse_application
from lendguard.decisions import DecisionResponse, response_from_case, response_from_state
from lendguard.errors import Conflict, FieldError, InvalidInput, NotFound
from lendguard.routes.lists import router as lists_router
from lendguard.stages.state import DecisionState
from lendguard.store import artifacts, cases, executions

app = APIGatewayRestResolver()
app.include_router(lists_router)


def new_case_id(now: datetime) -> str:
    """Time-ordered, unique, and a valid Step Functions execution name."""
    return f"C{now:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:12]}"


def _error(status: int, message: str, details: list[FieldError] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"error": message, "details": [d.model_dump() for d in details or []]},
    )


@app.exception_handler(InvalidInput)
def _invalid(exc: InvalidInput) -> Response:
    return _error(400, exc.message, exc.details)


@app.exception_handler(NotFound)
def _not_found(exc: NotFound) -> Response:
    return _error(404, str(exc))


@app.exception_handler(Conflict)
def _conflict(exc: Conflict) -> Response:
    return _error(409, str(exc))


def decide(body: str | bytes | None) -> tuple[int, DecisionResponse]:
    """Validate an application, run the decision flow, and return (HTTP status, response).

    Invalid input raises :class:`InvalidInput` before any case or execution is created.
    """
    if not body:
        raise InvalidInput(
            "invalid application", [FieldError(field="(body)", message="request body is empty")]
        )
    policy = artifacts.get_policy(
        os.environ[deployment.ENV_POLICY_ID], int(os.environ[deployment.ENV_POLICY_VERSION])
    )
    application = parse_application(body, policy.products)
    now = datetime.now(UTC)
    case_id = new_case_id(now)
    request = {
        "case_id": case_id,
        "application": application.model_dump(mode="json"),
        "received_at": now.isoformat(),
    }
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


@app.post("/v1/decisions")
def post_decision() -> Response:
    status, response = decide(app.current_event.body)
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=response.model_dump_json()
    )


@app.get("/v1/cases/<case_id>")
def get_case(case_id: str) -> Response:
    case = cases.get_case(case_id)
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=case.model_dump_json())


@app.get("/v1/cases/<case_id>/history")
def get_case_history(case_id: str) -> dict[str, Any]:
    case = cases.get_case(case_id)
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
