"""Conclude a review: the reviewers' answers, the timeout outcome or a failed step, onto the case."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from lendguard.decision.telemetry import decision_metrics
from lendguard.decision.wiring import run_review_conclude

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@logger.inject_lambda_context(log_event=False)
def handler(event: dict, context: LambdaContext) -> dict:
    case = run_review_conclude(event)
    review = case.review
    logger.info(
        "review concluded",
        extra={"case_id": case.case_id, "decision": case.decision, "review_status": review and review.status},
    )
    decision_metrics(metrics, case.decision, case.status)
    return {
        "case_id": case.case_id,
        "status": case.status,
        "decision": case.decision,
        "review": {
            "status": review.status if review else None,
            "outcome": review.outcome if review else None,
        },
    }
