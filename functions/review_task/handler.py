"""Review task (waitForTaskToken): keep the task token beside the case so a reviewer can answer.

The review workflow waits on this state until ``POST /v1/cases/{case_id}/review`` sends
SendTaskSuccess with the token, or the policy's timeout passes. The return value is ignored.
The event carries the task token: it is never logged (no handler logs its event).
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from lendguard.decision.handlers import Telemetry, lambda_handler
from lendguard.decision.wiring import run_review_task


def open_task(event: dict[str, Any], telemetry: Telemetry) -> dict[str, Any]:
    case = run_review_task(event)
    pending = case.review.pending if case.review else None
    telemetry.logger.info("review task opened", extra={"case_id": case.case_id, "level": event.get("level")})
    telemetry.metrics.add_dimension(name="level", value=str(event.get("level")))
    telemetry.metrics.add_metric(name="ReviewTasksOpened", unit=MetricUnit.Count, value=1)
    return {"case_id": case.case_id, "task_id": pending.task_id if pending else None}


handler = lambda_handler(open_task)
