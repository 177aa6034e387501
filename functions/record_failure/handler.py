"""Failure path: every uncaught stage error lands here and the case is recorded as FAILED."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from lendguard.decision.telemetry import decision_metrics
from lendguard.decision.wiring import run_record_failure

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@logger.inject_lambda_context(log_event=False)
def handler(event: dict, context: LambdaContext) -> dict:
    case = run_record_failure(event)
    logger.error("case failed", extra={"case_id": case.case_id, "error": case.error})
    decision_metrics(metrics, None, case.status)
    return case.model_dump(mode="json")
