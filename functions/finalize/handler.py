"""Finalize: write the case record; the state becomes the execution's output."""

from typing import Any

from lendguard.decision.case_metrics import case_metric_points, publish_case_metrics
from lendguard.decision.handlers import Telemetry, lambda_handler
from lendguard.decision.state import DecisionState
from lendguard.decision.telemetry import decision_metrics
from lendguard.decision.wiring import run_finalize


def finalize(event: dict[str, Any], telemetry: Telemetry) -> dict[str, Any]:
    state, case = run_finalize(DecisionState.model_validate(event))
    telemetry.logger.info("case decided", extra={"case_id": case.case_id, "decision": case.decision})
    decision_metrics(telemetry.metrics, case.decision, case.status)
    publish_case_metrics(telemetry.metrics.namespace or "lendguard", case_metric_points(state, case.status))
    return state.model_dump(mode="json")


handler = lambda_handler(finalize, function="finalize")
