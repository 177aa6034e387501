"""The review workflow in Step Functions: start it for a case, hand a reviewer's answer to it.

The workflow (``statemachines/review.asl.json``, STANDARD) is started by the decision flow's
final Lambda rather than by a ``states:startExecution`` task: Express workflows end in
milliseconds and moto has no such integration. The execution name is the case id plus
``-review``, so a retried start finds the execution already there instead of starting another.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from lendguard.settings import settings
from lendguard.store.aws import client

EXECUTION_SUFFIX = "-review"
# SendTaskSuccess errors meaning the task no longer waits (answered, timed out, or never was).
_GONE = {"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"}


class TaskGone(RuntimeError):
    """The review task no longer accepts an answer; ``code`` is Step Functions' error."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code


def execution_name(case_id: str) -> str:
    return f"{case_id}{EXECUTION_SUFFIX}"


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN an execution named ``name`` has (or will have): known before it starts."""
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + ":" + name


def review_state_machine_arn() -> str:
    return settings.review_state_machine_arn


def start_review(case_id: str, payload: dict[str, Any]) -> str:
    """Start the review workflow for a case (once); return the execution ARN."""
    arn = review_state_machine_arn()
    name = execution_name(case_id)
    try:
        return client("stepfunctions").start_execution(
            stateMachineArn=arn, name=name, input=json.dumps(payload)
        )["executionArn"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
            raise
        return execution_arn(arn, name)  # a retried finalize: the first start stands


def send_answer(task_token: str, answer: dict[str, Any]) -> None:
    """Resume the waiting review task with a reviewer's answer; :class:`TaskGone` if it no longer waits."""
    try:
        client("stepfunctions").send_task_success(taskToken=task_token, output=json.dumps(answer))
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") in _GONE:
            raise TaskGone(str(error.get("Code")), str(error.get("Message") or "")) from None
        raise
