"""The monitor publishes a fixed set of flag series whatever the report holds."""

from __future__ import annotations

import json
from datetime import date

import pytest

from lendguard.monitoring.evaluate import FAMILIES, Figure, MonitorReport
from lendguard.monitoring.publish import FLAG_METRIC, flag_points, publish_flags
from lendguard.store.monitor_reports import report_key


def _report(*figures: Figure) -> MonitorReport:
    d = date(2026, 3, 2)
    return MonitorReport(
        first_day=d, last_day=d, window=(d, d), cases=10, window_cases=5, figures=list(figures)
    )


def test_every_family_and_severity_is_published_even_when_clear() -> None:
    points = [p for p in flag_points(_report()) if p[0] == FLAG_METRIC]
    assert len(points) == len(FAMILIES) * 2
    assert all(value == 0 for _, _, value in points)


def test_flags_are_counted_by_family_and_severity() -> None:
    report = _report(
        Figure(family="features", name="psi:x", value=0.6, severity="alarm"),
        Figure(family="features", name="psi:y", value=0.3, severity="warn"),
        Figure(family="rules", name="hit_rate:R", value=0.3, severity="warn"),
        Figure(family="model", name="score_psi", value=0.2, severity="info"),
        Figure(family="features", name="psi:z", value=None, severity="missing"),
    )
    got = {(d["family"], d["severity"]): v for name, d, v in flag_points(report) if name == FLAG_METRIC}
    assert got[("features", "alarm")] == 1 and got[("features", "warn")] == 1
    assert got[("rules", "warn")] == 1 and got[("model", "warn")] == 0 and got[("model", "alarm")] == 0


def test_emf_has_only_family_and_severity_dimensions(capsys: pytest.CaptureFixture[str]) -> None:
    publish_flags(
        "LendGuard", _report(Figure(family="rules", name="hit_rate:SECRET_RULE", value=1, severity="alarm"))
    )
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    dims = {tuple(sorted(d)) for b in blobs for d in b["_aws"]["CloudWatchMetrics"][0]["Dimensions"]}
    # Powertools adds the service name (POWERTOOLS_SERVICE_NAME) to every metric
    assert dims <= {("family", "service", "severity"), ("service",)}
    assert "SECRET_RULE" not in json.dumps(blobs)


def test_report_keys() -> None:
    assert report_key(date(2026, 3, 2), date(2026, 3, 2)) == "monitoring/2026-03-02.json"
    assert report_key(date(2026, 3, 1), date(2026, 3, 2)) == "monitoring/2026-03-01_2026-03-02.json"
