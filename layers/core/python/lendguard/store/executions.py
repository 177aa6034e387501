"""Step Functions executions of the decision flow: run one, list them, read a history."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from lendguard.core.base_model import Model
from lendguard.settings import settings
from lendguard.store.aws import client


class ExecutionResult(Model):
    execution_arn: str
    status: str
    output: dict[str, Any] | None = None
    error: str | None = None
    cause: str | None = None
    started_at: datetime | None = None
    stopped_at: datetime | None = None


def run_decision(case_id: str, request: dict[str, Any], timeout_s: float = 30.0) -> ExecutionResult:
    """Run the decision flow for one case and wait for its end.

    Deployed, this is StartSyncExecution on the Express machine. moto has no
    StartSyncExecution, so the local runtime (``LENDGUARD_EXECUTION_MODE=poll``) starts the
    execution and polls it; the execution name is always the case id.
    """
    arn = settings.decision_state_machine_arn
    sfn = client("stepfunctions")
    payload = json.dumps(request)
    if not settings.poll_executions:
        resp = sfn.start_sync_execution(stateMachineArn=arn, name=case_id, input=payload)
        return _result(resp)
    started = sfn.start_execution(stateMachineArn=arn, name=case_id, input=payload)
    return wait(started["executionArn"], timeout_s)


def wait(execution_arn: str, timeout_s: float = 30.0) -> ExecutionResult:
    """Poll an execution until it is no longer RUNNING."""
    sfn, deadline, delay = client("stepfunctions"), time.monotonic() + timeout_s, 0.002
    while True:
        desc = sfn.describe_execution(executionArn=execution_arn)
        if desc["status"] != "RUNNING":
            return _result(desc)
        if time.monotonic() > deadline:
            raise TimeoutError(f"execution {execution_arn} still running after {timeout_s}s")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.05)


def _result(desc: dict[str, Any]) -> ExecutionResult:
    output = desc.get("output")
    return ExecutionResult(
        execution_arn=desc["executionArn"],
        status=desc["status"],
        output=json.loads(output) if output else None,
        error=desc.get("error"),
        cause=desc.get("cause"),
        started_at=desc.get("startDate"),
        stopped_at=desc.get("stopDate"),
    )


def list_executions(limit: int = 100) -> list[dict[str, Any]]:
    """The newest executions of the decision flow (name = case id)."""
    arn = settings.decision_state_machine_arn
    out: list[dict[str, Any]] = []
    for page in client("stepfunctions").get_paginator("list_executions").paginate(stateMachineArn=arn):
        out.extend(page["executions"])
        if len(out) >= limit:
            break
    out.sort(key=lambda e: e["startDate"], reverse=True)
    return out[:limit]


def history(execution_arn: str) -> list[dict[str, Any]] | None:
    """The execution's events, oldest first; None where the service keeps none.

    Express executions have no GetExecutionHistory on AWS (their history goes to CloudWatch
    Logs); moto keeps it, so the local runtime shows the full timeline.
    """
    events: list[dict[str, Any]] = []
    paginator = client("stepfunctions").get_paginator("get_execution_history")
    try:
        for page in paginator.paginate(executionArn=execution_arn):
            events.extend(page["events"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in (
            "InvalidArn",
            "ExecutionDoesNotExist",
            "ValidationException",
        ):
            return None
        raise
    return events
