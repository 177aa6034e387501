"""The scheduled monitor on the local stack: reads the day's cases, writes the report to S3."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from lendguard.monitoring.days import day_of


def test_scheduled_run_writes_the_days_report(runtime, capsys) -> None:
    from lendguard.monitoring.service import run_scheduled
    from lendguard.offline.local.demo import run_demo
    from lendguard.settings import settings
    from lendguard.store.aws import client

    run_demo(12, 5, runtime.policy)
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
