"""HTTP API: API Gateway (Lambda proxy) → the Powertools resolver in ``lendguard.http.app``."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lendguard import deployment
from lendguard.decision import warmup
from lendguard.http.app import app
from lendguard.http.guard import internal_error, log_unexpected

logger = Logger()
tracer = Tracer()
metrics = Metrics()
# Under SnapStart the decision route's services are imported before the snapshot; elsewhere each
# route imports its services on its first request (lendguard.core.lazy).
warmup.register_runtime_hooks(deployment.API_FUNCTION.name)


@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
def handler(event: dict, context: LambdaContext) -> dict:
    try:
        response = app.resolve(event, context)
    except Exception as exc:  # never a Lambda error (API Gateway's bare 502): a 500 with the request id
        rid = str((event.get("requestContext") or {}).get("requestId") or context.aws_request_id)
        log_unexpected(exc, rid)
        response = internal_error(rid)
    status = int(response["statusCode"])
    # Requests by status class: a jump in 4xx means a loan app started sending bad input.
    metrics.add_metric(name=f"Http{status // 100}xx", unit=MetricUnit.Count, value=1)
    if status == 500:
        metrics.add_metric(name="ApiUnexpectedErrors", unit=MetricUnit.Count, value=1)
    return response
