"""The scheduled start of a batch run: the execution named from (job, run date).

EventBridge Scheduler's templated Step Functions target cannot compute an execution name (and
a name cannot hold the fire time's colons), so each schedule invokes this small function with
``{"job", "scheduled_time"}`` (``<aws.scheduler.scheduled-time>`` substituted). It reads the fire
time as the Asia/Shanghai run date and starts the job's machine as ``<job>-<YYYY-MM-DD>``
(:func:`lendguard.batch.dates.execution_name`) with ``{"scheduled_time"}``, from which the
planner derives the same day. A second fire of the same day (the scheduler's retry, Lambda's
async retry) finds that execution running or done and starts nothing; after a failed attempt it
starts the next name (``-r2``...), whose planner resumes the run (the run record's conditional
write still guards against two executions holding one run).
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any

from pydantic import ConfigDict, ValidationError, field_validator

from lendguard import deployment
from lendguard.batch.dates import business_date, execution_name
from lendguard.core.base_model import Model
from lendguard.core.errors import InvalidInput
from lendguard.decision.handlers import Handler, Telemetry, lambda_handler
from lendguard.store.batch_starts import start_named

MAX_ATTEMPTS = 20
HELD = frozenset({"RUNNING", "SUCCEEDED"})  # an execution that has the run or finished it


class ScheduledStart(Model):
    """What a schedule sends (``deployment.batch_schedule_input``), the context attribute substituted."""

    model_config = ConfigDict(extra="forbid")

    job: str
    scheduled_time: datetime

    @field_validator("job")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in deployment.BATCH_STATE_MACHINES:
            raise ValueError(f"one of {', '.join(deployment.BATCH_STATE_MACHINES)}")
        return value


class StartOutcome(Model):
    job: str
    run_date: str
    execution_name: str
    execution_arn: str
    started: bool  # False: an execution of this day already runs or succeeded


def start_scheduled(event: dict[str, Any]) -> StartOutcome:
    """Start the job's run of the fire time's business day under its (job, run date) name."""
    try:
        start = ScheduledStart.model_validate(event)
    except ValidationError as exc:
        raise InvalidInput.from_validation_error("invalid scheduled start", exc) from None
    day = business_date(start.scheduled_time)
    arn = os.environ[deployment.BATCH_STATE_MACHINES[start.job].env_var]
    payload = json.dumps({"scheduled_time": start.scheduled_time.isoformat()})
    for attempt in range(1, MAX_ATTEMPTS + 1):
        name = execution_name(start.job, day, dry_run=False, attempt=attempt)
        execution, status = start_named(arn, name, payload)
        if status is None or status in HELD:
            return StartOutcome(job=start.job, run_date=day.isoformat(), execution_name=name,
                                execution_arn=execution, started=status is None)  # fmt: skip
    raise RuntimeError(f"{MAX_ATTEMPTS} executions of {start.job} for {day.isoformat()} already failed")


def _starter(event: dict[str, Any], telemetry: Telemetry) -> dict[str, Any]:
    outcome = start_scheduled(event)
    telemetry.logger.info("scheduled batch start", extra=outcome.model_dump())
    return outcome.model_dump()


starter_handler: Handler = lambda_handler(_starter)
