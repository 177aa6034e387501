"""Shadow runs: challenger versions decide the case on the champion's data; recorded with the case."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lendguard.decision.state import DecisionState
from lendguard.decision.wiring import run_shadows

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@logger.inject_lambda_context(log_event=False)
def handler(event: dict, context: LambdaContext) -> dict:
    results = run_shadows(DecisionState.model_validate(event))
    metrics.add_metric(name="ShadowDecisions", unit=MetricUnit.Count, value=len(results))
    logger.info("shadows recorded", extra={"case_id": event.get("case_id"), "shadows": len(results)})
    return {"case_id": event.get("case_id"), "shadows": len(results)}
