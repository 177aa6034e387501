"""HTTP API: API Gateway (Lambda proxy) → the Powertools resolver in ``lendguard.http.app``."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lendguard.http.app import app

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
def handler(event: dict, context: LambdaContext) -> dict:
    response = app.resolve(event, context)
    # Requests by status class: a jump in 4xx means a loan app started sending bad input.
    metrics.add_metric(name=f"Http{int(response['statusCode']) // 100}xx", unit=MetricUnit.Count, value=1)
    return response
