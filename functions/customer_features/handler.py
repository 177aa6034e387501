"""Customer features: the nightly feature table (EventBridge Scheduler, Asia/Shanghai)."""

from typing import Any

from lendguard.decision.handlers import Telemetry, lambda_handler
from lendguard.internal.job import run_feature_job


def customer_features(event: dict[str, Any], telemetry: Telemetry) -> dict[str, Any]:
    result = run_feature_job(event)
    telemetry.logger.info("customer features written", extra=result)
    return result


handler = lambda_handler(customer_features)
