"""Per-decision business metrics with bounded dimensions (CloudWatch EMF through Powertools).

Every dimension value comes from a closed set, so the number of metric series is fixed by the
budget below whatever applications arrive: products and rule ids beyond their caps, and any
channel, vendor or stage outside the known sets, are reported as ``other``. No case id, no free
text, no personal data is ever a dimension.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import get_args

from pydantic import ConfigDict

from lendguard.core.application import Channel
from lendguard.core.base_model import Model
from lendguard.core.stages import STAGE_NAMES, section_of
from lendguard.decision.state import DecisionState

OTHER = "other"
NONE = "none"
MAX_PRODUCTS = 8
"""Distinct product dimension values (a policy rarely has more than 2-3)."""
MAX_RULE_IDS = 60
"""Rule ids with their own series per case's policy; later rules share ``other``."""
MAX_VENDORS = 12
CHANNELS: tuple[str, ...] = (*get_args(Channel), OTHER)
OUTCOMES: tuple[str, ...] = ("APPROVE", "REVIEW", "REJECT", "FAILED")
STOPPED_AT: tuple[str, ...] = (*STAGE_NAMES, "completed")
SECTIONS: tuple[str, ...] = (
    "admission",
    "lists",
    "internal_data",
    "vendor_groups",
    "post_model",
    "scorecard",
    OTHER,
)
PD_BAND_EDGES: tuple[float, ...] = (0.02, 0.05, 0.10, 0.20, 0.30)
SCORE_BANDS: tuple[str, ...] = (
    "pd<0.02", "pd0.02-0.05", "pd0.05-0.10", "pd0.10-0.20", "pd0.20-0.30", "pd>=0.30", NONE,
)  # fmt: skip
_SAFE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class MetricPoint(Model):
    """One metric value and its dimensions (name → bounded value)."""

    model_config = ConfigDict(frozen=True)

    name: str
    unit: str
    value: float
    dimensions: tuple[tuple[str, str], ...] = ()


def cardinality_budget() -> dict[str, int]:
    """Upper bound on series per metric name: the product of each dimension's value count."""
    products = MAX_PRODUCTS + 1
    vendors = MAX_VENDORS + 1
    per_vendor = vendors
    return {
        "CaseDecisions": products * len(CHANNELS) * len(OUTCOMES),
        "CaseStoppedAt": len(STOPPED_AT),
        "CaseScoreBand": products * len(SCORE_BANDS),
        "RuleHit": len(SECTIONS) * (MAX_RULE_IDS + 1),
        "VendorLatency": per_vendor,
        "VendorError": per_vendor,
        "VendorTimeout": per_vendor,
        "VendorCacheHit": per_vendor,
        "VendorEmpty": per_vendor,
        "VendorSpend": per_vendor,
        "EndToEndLatency": 1,
    }


CARDINALITY_BUDGET = 1000
"""Series in the namespace this module may create at most (the README states it; a test holds it)."""


def score_band(pd: float | None) -> str:
    """The fixed PD band of a score (``none`` when the case was never scored)."""
    if pd is None:
        return NONE
    for edge, band in zip(PD_BAND_EDGES, SCORE_BANDS, strict=False):
        if pd < edge:
            return band
    return SCORE_BANDS[len(PD_BAND_EDGES)]


def _capped(value: object, allowed: Iterable[str]) -> str:
    text = str(value) if value is not None else ""
    return text if text in set(allowed) else OTHER


def _first_n(values: Iterable[str], n: int) -> list[str]:
    seen: list[str] = []
    for v in values:
        if v not in seen and _SAFE.match(v):
            seen.append(v)
        if len(seen) == n:
            break
    return seen


def case_metric_points(state: DecisionState, status: str, now: datetime | None = None) -> list[MetricPoint]:
    """Every per-decision metric of a finished case, dimensions already bounded."""
    app = state.application
    products = _first_n(sorted((state.policy.get("products") or {}).keys()), MAX_PRODUCTS)
    product = _capped(app.get("product"), products) if products else _capped(app.get("product"), [])
    if not products and isinstance(app.get("product"), str) and _SAFE.match(app["product"]):
        product = app["product"][:16]  # policy ref only: product ids are validated identifiers
    channel = _capped(app.get("channel"), CHANNELS)
    outcome = _capped(state.decision or status, OUTCOMES)
    points = [
        MetricPoint(
            name="CaseDecisions", unit="Count", value=1,
            dimensions=(("product", product), ("channel", channel), ("outcome", outcome)),
        ),
        MetricPoint(
            name="CaseStoppedAt", unit="Count", value=1,
            dimensions=(("stage", _capped(state.halted_at or "completed", STOPPED_AT)),),
        ),
        MetricPoint(
            name="CaseScoreBand", unit="Count", value=1,
            dimensions=(("product", product), ("band", score_band(state.score.pd if state.score else None))),
        ),
    ]  # fmt: skip
    # every rule once, in the section it belongs to (the trace never repeats a rule)
    rule_ids = _first_n((r.rule_id for r in state.trace.rules), MAX_RULE_IDS)
    counted: set[str] = set()
    for rule in state.trace.rules:
        if rule.rule_id in counted:
            continue
        counted.add(rule.rule_id)
        section = _capped(section_of(rule.stage), SECTIONS)
        rid = rule.rule_id if rule.rule_id in rule_ids else OTHER
        points.append(
            MetricPoint(
                name="RuleHit", unit="Count", value=int(rule.outcome == "hit"),
                dimensions=(("section", section), ("rule_id", rid)),
            )
        )  # fmt: skip
    vendors = _first_n(sorted({v.vendor for v in state.trace.vendors}), MAX_VENDORS)
    for call in state.trace.vendors:
        if call.status == "skipped":
            continue
        dims = (("vendor", call.vendor if call.vendor in vendors else OTHER),)
        own = [v for k, v in state.facts.items() if k.startswith(f"{call.vendor}.")]
        empty = call.status == "ok" and bool(own) and all(v is None for v in own)
        points += [
            MetricPoint(name="VendorLatency", unit="Milliseconds", value=call.latency_ms, dimensions=dims),
            MetricPoint(name="VendorError", unit="Count", value=int(call.status == "error"), dimensions=dims),
            MetricPoint(name="VendorTimeout", unit="Count", value=int(call.error_type == "timeout"), dimensions=dims),
            MetricPoint(name="VendorCacheHit", unit="Count", value=int(call.cache_hit), dimensions=dims),
            MetricPoint(name="VendorEmpty", unit="Count", value=int(empty), dimensions=dims),
            MetricPoint(name="VendorSpend", unit="None", value=call.cost, dimensions=dims),
        ]  # fmt: skip
    end = now or datetime.now(UTC)
    received = state.received_at if state.received_at.tzinfo else state.received_at.replace(tzinfo=UTC)
    points.append(
        MetricPoint(
            name="EndToEndLatency",
            unit="Milliseconds",
            value=max(0.0, (end - received).total_seconds() * 1000),
        )
    )
    return points


def publish_case_metrics(namespace: str, points: list[MetricPoint]) -> None:
    """Emit the points as EMF, one blob per dimension set (Powertools ``single_metric``)."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    for point in points:
        with single_metric(
            name=point.name, unit=MetricUnit(point.unit), value=point.value, namespace=namespace
        ) as metric:
            for key, value in point.dimensions:
                metric.add_dimension(name=key, value=value)
