"""Validate stage: parse the application against the active policy and open the case."""

import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lendguard import deployment
from lendguard.decision.wiring import run_validate

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(log_event=False)  # applications hold personal data: never log events
def handler(event: dict, context: LambdaContext) -> dict:
    state = run_validate(
        event, os.environ[deployment.ENV_POLICY_ID], int(os.environ[deployment.ENV_POLICY_VERSION])
    )
    logger.append_keys(case_id=state.case_id)
    metrics.add_metric(name="Applications", unit=MetricUnit.Count, value=1)
    return state.model_dump(mode="json")
