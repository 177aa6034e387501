"""Conclude a review: the reviewers' answers, the timeout outcome or a failed step, onto the case."""

from typing import Any

from lendguard.decision.handlers import Telemetry, lambda_handler
from lendguard.decision.telemetry import decision_metrics
from lendguard.decision.wiring import run_review_conclude


def conclude(event: dict[str, Any], telemetry: Telemetry) -> dict[str, Any]:
    case = run_review_conclude(event)
    review = case.review
    telemetry.logger.info(
        "review concluded",
        extra={"case_id": case.case_id, "decision": case.decision, "review_status": review and review.status},
    )
    decision_metrics(telemetry.metrics, case.decision, case.status)
    return {
        "case_id": case.case_id,
        "status": case.status,
        "decision": case.decision,
        "review": {
            "status": review.status if review else None,
            "outcome": review.outcome if review else None,
        },
    }


handler = lambda_handler(conclude)
