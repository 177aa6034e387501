"""Finalize stage: write the case record; the state becomes the execution's output."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from lendguard.decision.state import DecisionState
from lendguard.decision.telemetry import decision_metrics
from lendguard.decision.wiring import run_finalize

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@logger.inject_lambda_context(log_event=False)
def handler(event: dict, context: LambdaContext) -> dict:
    state, case = run_finalize(DecisionState.model_validate(event))
    logger.info("case decided", extra={"case_id": case.case_id, "decision": case.decision})
    decision_metrics(metrics, case.decision, case.status)
    return state.model_dump(mode="json")
