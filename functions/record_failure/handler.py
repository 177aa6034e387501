"""Failure path: every uncaught stage error lands here and the case is recorded as FAILED."""

from typing import Any

from lendguard.decision.handlers import Telemetry, lambda_handler
from lendguard.decision.telemetry import decision_metrics
from lendguard.decision.wiring import run_record_failure


def record_failure(event: dict[str, Any], telemetry: Telemetry) -> dict[str, Any]:
    case = run_record_failure(event)
    # The error type only: a message may quote the application.
    error_type = (case.error or {}).get("error")
    telemetry.logger.error("case failed", extra={"case_id": case.case_id, "error": error_type})
    decision_metrics(telemetry.metrics, None, case.status)
    return case.model_dump(mode="json")


handler = lambda_handler(record_failure, function="record_failure")
