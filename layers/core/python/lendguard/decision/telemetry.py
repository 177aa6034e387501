"""Metrics every stage emits (CloudWatch EMF through Powertools Metrics)."""

from __future__ import annotations

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from lendguard.core.stages import BY_NAME, section_of
from lendguard.decision.state import DecisionState


def stage_metrics(metrics: Metrics, stage: str, state: DecisionState) -> None:
    """Stage latency, rejects, rule hits and (for the data stage) vendor calls, cost and errors."""
    metrics.add_dimension(name="stage", value=stage)
    for entry in state.trace.stages:
        if entry.stage == stage:
            metrics.add_metric(name="StageLatency", unit=MetricUnit.Milliseconds, value=entry.elapsed_ms)
            metrics.add_metric(
                name="StageRejects", unit=MetricUnit.Count, value=int(entry.outcome == "reject")
            )
    if stage == "validate":
        metrics.add_metric(name="Applications", unit=MetricUnit.Count, value=1)
    # Each rule counted once, by the stage that runs its section (post_model inside decision,
    # the vendor groups inside external_data): the trace carries every earlier stage's rules too.
    sections = BY_NAME[stage].sections
    hits = sum(1 for r in state.trace.rules if r.outcome == "hit" and section_of(r.stage) in sections)
    metrics.add_metric(name="RuleHits", unit=MetricUnit.Count, value=hits)
    if stage == "external_data":
        calls = [v for v in state.trace.vendors if v.status != "skipped"]
        metrics.add_metric(name="VendorCalls", unit=MetricUnit.Count, value=len(calls))
        metrics.add_metric(
            name="VendorErrors", unit=MetricUnit.Count, value=sum(v.status == "error" for v in calls)
        )
        metrics.add_metric(name="VendorSpend", unit=MetricUnit.Count, value=state.vendor_cost)


def decision_metrics(metrics: Metrics, decision: str | None, status: str) -> None:
    """One count per finished case, by outcome."""
    metrics.add_dimension(name="outcome", value=decision or status)
    metrics.add_metric(name="Decisions", unit=MetricUnit.Count, value=1)
