"""Named starts of the batch machines (the scheduled starter): start, or find the execution of that name."""

from __future__ import annotations

from lendguard.store.aws import client


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN an execution ``name`` of ``state_machine_arn`` has (``...:execution:<machine>:<name>``)."""
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


def start_named(state_machine_arn: str, name: str, payload: str) -> tuple[str, str | None]:
    """StartExecution named ``name``: (execution ARN, None) when started, or (its ARN, its status)
    when an execution of that name already exists (Step Functions keeps names for 90 days)."""
    sfn = client("stepfunctions")
    try:
        started = sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=payload)
    except sfn.exceptions.ExecutionAlreadyExists:
        arn = execution_arn(state_machine_arn, name)
        return arn, str(sfn.describe_execution(executionArn=arn)["status"])
    return str(started["executionArn"]), None
