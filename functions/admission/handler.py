"""Admission stage: cheap own rules before anything is looked up or paid for."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from lendguard.decision.state import DecisionState
from lendguard.decision.telemetry import stage_metrics
from lendguard.decision.wiring import run_admission

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(log_event=False)  # applications hold personal data: never log events
def handler(event: dict, context: LambdaContext) -> dict:
    state = run_admission(DecisionState.model_validate(event))
    logger.append_keys(case_id=state.case_id)
    stage_metrics(metrics, "admission", state)
    return state.model_dump(mode="json")
