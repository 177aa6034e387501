"""Monitor: the daily monitor over yesterday's cases (EventBridge Scheduler, Asia/Shanghai)."""

from typing import Any

from lendguard.decision.handlers import Telemetry, lambda_handler
from lendguard.monitoring.service import run_scheduled


def monitor(event: dict[str, Any], telemetry: Telemetry) -> dict[str, Any]:
    result = run_scheduled(event, namespace=telemetry.metrics.namespace or "LendGuard")
    telemetry.logger.info("monitor report written", extra=result)
    return result


handler = lambda_handler(monitor)
