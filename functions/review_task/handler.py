"""Review task (waitForTaskToken): keep the task token beside the case so a reviewer can answer.

The review workflow waits on this state until ``POST /v1/cases/{case_id}/review`` sends
SendTaskSuccess with the token, or the policy's timeout passes. The return value is ignored.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lendguard.decision.wiring import run_review_task

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@logger.inject_lambda_context(log_event=False)  # the event carries the task token: never log it
def handler(event: dict, context: LambdaContext) -> dict:
    case = run_review_task(event)
    pending = case.review.pending if case.review else None
    logger.info("review task opened", extra={"case_id": case.case_id, "level": event.get("level")})
    metrics.add_dimension(name="level", value=str(event.get("level")))
    metrics.add_metric(name="ReviewTasksOpened", unit=MetricUnit.Count, value=1)
    return {"case_id": case.case_id, "task_id": pending.task_id if pending else None}
