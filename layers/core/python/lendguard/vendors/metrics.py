"""Per-vendor metrics: calls, cache hits, replays, errors, skips, latency and spend.

Each vendor call becomes one CloudWatch EMF record with the dimension ``vendor`` (Powertools
``EphemeralMetrics``, so the function's own metric set and its ``stage`` dimension are left
alone). Pipelines without AWS (benchmarks, backtests) use :class:`NullVendorMetrics`, or
:class:`VendorStats` to aggregate in memory.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from typing import Protocol

from lendguard.decision.state import VendorCall
from lendguard.settings import settings

logger = logging.getLogger(__name__)


class VendorMetrics(Protocol):
    def record(self, call: VendorCall) -> None:
        """Account for one vendor call as recorded in the trace."""
        ...


class NullVendorMetrics:
    """Records nothing."""

    def record(self, call: VendorCall) -> None:
        return None


def _counts(call: VendorCall) -> dict[str, float]:
    called = call.status != "skipped" and not call.cache_hit and not call.replayed
    return {
        "VendorCalls": float(called),
        "VendorCacheHits": float(call.cache_hit),
        "VendorReplays": float(call.replayed),
        "VendorErrors": float(call.status == "error"),
        "VendorSkipped": float(call.status == "skipped"),
        "VendorBreakerOpen": float(call.error_type == "circuit_open"),
        "VendorAttempts": float(call.attempts),
        "VendorSpend": call.cost,
    }


class EmfVendorMetrics:
    """Publishes through Powertools Metrics (CloudWatch EMF on standard output)."""

    def __init__(self, namespace: str | None = None):
        self.namespace = namespace or settings.metrics_namespace

    def record(self, call: VendorCall) -> None:
        try:
            self._emit(call)
        except Exception:  # a metrics fault must never fail a decision
            logger.exception("vendor %s: metrics not emitted", call.vendor)

    def _emit(self, call: VendorCall) -> None:
        from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

        metrics = EphemeralMetrics(namespace=self.namespace)
        metrics.add_dimension(name="vendor", value=call.vendor)
        for name, value in _counts(call).items():
            unit = MetricUnit.NoUnit if name == "VendorSpend" else MetricUnit.Count
            metrics.add_metric(name=name, unit=unit, value=value)
        if call.status == "ok" and not call.cache_hit and not call.replayed:
            # Latency only of answers that went to the vendor: cache hits would flatter it.
            metrics.add_metric(name="VendorLatency", unit=MetricUnit.Milliseconds, value=call.latency_ms)
        metrics.flush_metrics()


class VendorStats:
    """Aggregates the same metrics in memory, per vendor (tests, benchmarks)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.latencies_ms: dict[str, list[float]] = defaultdict(list)

    def record(self, call: VendorCall) -> None:
        with self._lock:
            totals = self.totals[call.vendor]
            for name, value in _counts(call).items():
                totals[name] += value
            if call.status == "ok" and not call.cache_hit and not call.replayed:
                self.latencies_ms[call.vendor].append(call.latency_ms)
