"""Lambda handlers, made in one place: Powertools logger, tracer and metrics around one call.

``functions/<stage>/handler.py`` of a decision stage is one line,
``handler = stage_handler("<stage>")``; the workflow's other functions (finalize, the failure
path, the review steps) wrap their one call with :func:`lambda_handler`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from lendguard.core.stages import BY_NAME
from lendguard.decision import warmup
from lendguard.decision.telemetry import stage_metrics
from lendguard.decision.wiring import STAGE_RUNNERS

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


@dataclass(frozen=True)
class Telemetry:
    """The function's Powertools logger and metrics, handed to the body of a handler."""

    logger: Logger
    metrics: Metrics


def lambda_handler(
    body: Callable[[dict[str, Any], Telemetry], dict[str, Any]], function: str | None = None
) -> Handler:
    """A handler running ``body(event, telemetry)`` with logging, tracing and metrics.

    Events are never logged and the tracer records neither responses nor errors: both carry
    applications with personal data in clear. ``function`` names the warm-up
    (:mod:`lendguard.decision.warmup`): in SnapStart's before-snapshot hook where the runtime
    offers it, else on the first invocation; never at import.
    """
    telemetry = Telemetry(logger=Logger(), metrics=Metrics())
    tracer = Tracer()
    if function is not None:
        warmup.register_runtime_hooks(function)

    @telemetry.metrics.log_metrics
    @tracer.capture_lambda_handler(capture_response=False, capture_error=False)
    @telemetry.logger.inject_lambda_context(log_event=False)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        if function is not None:
            warmup.ensure_warm(function)
        return body(event, telemetry)

    return handler


def stage_handler(stage: str) -> Handler:
    """The handler of one registered stage (``lendguard.core.stages.STAGES``)."""
    if stage not in BY_NAME:
        raise ValueError(f"unknown stage {stage!r}; the registry has {', '.join(BY_NAME)}")
    run = STAGE_RUNNERS[stage]

    def body(event: dict[str, Any], telemetry: Telemetry) -> dict[str, Any]:
        state = run(event)
        telemetry.logger.append_keys(case_id=state.case_id)
        stage_metrics(telemetry.metrics, stage, state)
        return state.model_dump(mode="json")

    body.__qualname__ = f"{stage}_handler"
    return lambda_handler(body, function=stage)
