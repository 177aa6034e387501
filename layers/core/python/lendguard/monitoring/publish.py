"""The monitor's metrics: a fixed set of flag counts (family x severity) that alarms watch.

Rule ids and features change with a policy, without a deploy, so no alarm can name them: the
monitor counts flagged figures per family and severity (12 series, always all published, 0 when
clear) and the per-figure detail stays in the report.
"""

from __future__ import annotations

import re

from lendguard.monitoring.evaluate import FAMILIES, MonitorReport

FLAG_METRIC = "MonitorFlags"
CASES_METRIC = "MonitorCases"
# Early delinquency rates over all cases: dimensions measure (fpd, dpd7, dpd30) x score band
# (the policy's limits.score_bands, a handful, plus "<lowest"): bounded, never per case or vintage.
DELINQUENCY_METRIC = "EarlyDelinquencyRate"
_DELINQUENCY = re.compile(r"^(fpd|dpd7|dpd30)_rate:(.+)$")
SEVERITIES: tuple[str, ...] = ("warn", "alarm")


def flag_points(report: MonitorReport) -> list[tuple[str, dict[str, str], float]]:
    """(metric, dimensions, value) for every family x severity, the day's case count, and each
    early delinquency rate of all cases by measure and score band."""
    counts = report.flag_counts()
    points = [
        (FLAG_METRIC, {"family": family, "severity": severity}, float(counts[family][severity]))
        for family in FAMILIES
        for severity in SEVERITIES
    ]
    points.append((CASES_METRIC, {}, float(report.cases)))
    for f in report.figures:
        found = _DELINQUENCY.match(f.name)
        if found and f.arm is None and f.value is not None:
            points.append((DELINQUENCY_METRIC, {"measure": found.group(1), "band": found.group(2)}, f.value))
    return points


def publish_flags(namespace: str, report: MonitorReport) -> None:
    """Emit :func:`flag_points` as EMF (Powertools ``single_metric``)."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    for name, dims, value in flag_points(report):
        unit = MetricUnit.NoUnit if name == DELINQUENCY_METRIC else MetricUnit.Count
        with single_metric(name=name, unit=unit, value=value, namespace=namespace) as metric:
            for key, dim in dims.items():
                metric.add_dimension(name=key, value=dim)
