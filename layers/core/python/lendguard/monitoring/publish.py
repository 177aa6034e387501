"""The monitor's metrics: a fixed set of flag counts (family x severity) that alarms watch.

Rule ids and features change with a policy, without a deploy, so no alarm can name them: the
monitor counts flagged figures per family and severity (12 series, always all published, 0 when
clear) and the per-figure detail stays in the report.
"""

from __future__ import annotations

from lendguard.monitoring.evaluate import FAMILIES, MonitorReport

FLAG_METRIC = "MonitorFlags"
CASES_METRIC = "MonitorCases"
SEVERITIES: tuple[str, ...] = ("warn", "alarm")


def flag_points(report: MonitorReport) -> list[tuple[str, dict[str, str], float]]:
    """(metric, dimensions, value) for every family x severity, and the day's case count."""
    counts = report.flag_counts()
    points = [
        (FLAG_METRIC, {"family": family, "severity": severity}, float(counts[family][severity]))
        for family in FAMILIES
        for severity in SEVERITIES
    ]
    points.append((CASES_METRIC, {}, float(report.cases)))
    return points


def publish_flags(namespace: str, report: MonitorReport) -> None:
    """Emit :func:`flag_points` as EMF (Powertools ``single_metric``)."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    for name, dims, value in flag_points(report):
        with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=namespace) as metric:
            for key, dim in dims.items():
                metric.add_dimension(name=key, value=dim)
