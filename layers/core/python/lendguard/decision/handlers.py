"""The Lambda handler of a decision stage, made once for all of them.

``functions/<stage>/handler.py`` is one line, ``handler = stage_handler("<stage>")``: Powertools
logger, tracer and metrics around the stage's entry point from :mod:`lendguard.decision.wiring`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from lendguard.core.stages import BY_NAME
from lendguard.decision.telemetry import stage_metrics
from lendguard.decision.wiring import STAGE_RUNNERS

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def stage_handler(stage: str) -> Handler:
    """The handler of one registered stage (``lendguard.core.stages.STAGES``)."""
    if stage not in BY_NAME:
        raise ValueError(f"unknown stage {stage!r}; the registry has {', '.join(BY_NAME)}")
    run = STAGE_RUNNERS[stage]
    logger, tracer, metrics = Logger(), Tracer(), Metrics()

    @metrics.log_metrics
    # The state holds the application in clear: never record it (or errors quoting it) in X-Ray.
    @tracer.capture_lambda_handler(capture_response=False, capture_error=False)
    @logger.inject_lambda_context(log_event=False)  # applications hold personal data: never log events
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        state = run(event)
        logger.append_keys(case_id=state.case_id)
        stage_metrics(metrics, stage, state)
        return state.model_dump(mode="json")

    handler.__qualname__ = f"{stage}_handler"
    return handler
