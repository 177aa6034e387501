"""The scheduled monitor on the local stack: reads the day's cases, writes the report to S3."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from lendguard.monitoring.days import day_of


@pytest.fixture(scope="module")
def demo_day(runtime):
    """Twelve cases decided today on the local stack (once per module: application ids repeat)."""
    from lendguard.offline.local.demo import run_demo

    run_demo(12, 5, runtime.policy)
    return runtime


def test_scheduled_run_writes_the_days_report(demo_day, capsys) -> None:
    from lendguard.monitoring.service import run_scheduled
    from lendguard.settings import settings
    from lendguard.store.aws import client

    today = day_of(datetime.now(UTC))
    capsys.readouterr()
    result = run_scheduled({"day": today.isoformat()}, namespace="LendGuard")
    assert result["cases"] == 12 and result["day"] == today.isoformat()
    body = client("s3").get_object(Bucket=settings.data_bucket, Key=f"monitoring/{today.isoformat()}.json")[
        "Body"
    ]
    report = json.loads(body.read())
    assert report["cases"] == 12
    # below min_cases nothing is flagged; the figures are there
    assert {f["family"] for f in report["figures"]} >= {"business", "rules", "vendors", "features"}
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert sum("MonitorFlags" in b for b in emitted) == 12

    empty = run_scheduled({"day": "2020-01-01"}, namespace="LendGuard")
    assert empty["cases"] == 0


def test_the_api_serves_the_same_report_for_a_day(demo_day) -> None:
    from authn import resolve_as

    from lendguard.monitoring.service import compute_report

    today = day_of(datetime.now(UTC))
    status, _, text = resolve_as("GET", f"/v1/monitor?from={today}&to={today}", {}, None, "ops")
    assert status == 200, text
    served = json.loads(text)
    direct = compute_report(today, today)
    assert served["cases"] == direct.cases == 12
    assert {f["name"] for f in served["figures"]} == {f.name for f in direct.figures}
    assert any(f["name"].startswith("psi:") and f["value"] is not None for f in served["figures"])
    status, _, text = resolve_as("GET", f"/v1/monitor?from={today}", {}, None, "ops")
    assert status == 400 and json.loads(text)["details"][0]["field"] == "to"
