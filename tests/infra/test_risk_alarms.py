"""Risk alarms: each alarm's metric, statistic, period and threshold; composites; topics; schedule."""

from __future__ import annotations

from typing import Any

import pytest

from infra.settings import load_config
from lendguard import deployment
from lendguard.monitoring.evaluate import FAMILIES
from lendguard.monitoring.publish import FLAG_METRIC
from tests.infra.test_stack import Synth


@pytest.fixture(scope="module", params=["dev", "prod"])
def synth(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return Synth(request.param, tmp_path_factory.mktemp(f"risk-{request.param}"))


def _alarms(s: Synth) -> dict[str, dict[str, Any]]:
    return {
        v["Properties"]["AlarmName"]: v["Properties"]
        for v in s.resources("AWS::CloudWatch::Alarm").values()
        if isinstance(v["Properties"].get("AlarmName"), str)
    }


def _dims(props: dict[str, Any]) -> dict[str, str]:
    return {d["Name"]: d["Value"] for d in props.get("Dimensions", [])}


def test_flag_alarms_one_per_family_and_severity(synth: Synth) -> None:
    alarms = _alarms(synth)
    for family in FAMILIES:
        for severity in ("warn", "alarm"):
            props = alarms[f"lendguard-{synth.env_name}-risk-{family}-{severity}"]
            assert props["MetricName"] == FLAG_METRIC and props["Namespace"] == "LendGuard"
            assert _dims(props) == {"service": "lendguard", "family": family, "severity": severity}
            assert props["Statistic"] == "Maximum" and props["Period"] == 86400
            assert props["Threshold"] == 1
            assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
            assert "AlarmActions" not in props  # the composites page, not each alarm


def test_platform_alarms_take_thresholds_from_the_env_config(synth: Synth) -> None:
    cfg = load_config(synth.env_name).risk_alarms
    alarms = _alarms(synth)
    period = cfg.period_minutes * 60
    for vendor in cfg.vendors:
        err = alarms[f"lendguard-{synth.env_name}-vendor-{vendor}-error-rate"]
        assert (err["MetricName"], err["Statistic"], err["Period"]) == ("VendorError", "Average", period)
        assert _dims(err) == {"service": "lendguard", "vendor": vendor}
        assert err["Threshold"] == cfg.vendor_error_rate
        empty = alarms[f"lendguard-{synth.env_name}-vendor-{vendor}-empty-rate"]
        assert (empty["MetricName"], empty["Statistic"], empty["Threshold"]) == (
            "VendorEmpty",
            "Average",
            cfg.vendor_empty_rate,
        )
        spend = alarms[f"lendguard-{synth.env_name}-vendor-{vendor}-spend-per-application"]
        assert spend["Threshold"] == cfg.vendor_spend_per_application
        by_id = {m["Id"]: m for m in spend["Metrics"]}
        assert by_id["spend"]["MetricStat"]["Metric"]["MetricName"] == "VendorSpend"
        assert (
            by_id["spend"]["MetricStat"]["Stat"] == "Sum" and by_id["spend"]["MetricStat"]["Period"] == period
        )
        assert by_id["apps"]["MetricStat"]["Stat"] == "SampleCount"
    p95 = alarms[f"lendguard-{synth.env_name}-decision-p95-latency"]
    assert (p95["MetricName"], p95["ExtendedStatistic"], p95["Period"], p95["Threshold"]) == (
        "EndToEndLatency",
        "p95",
        period,
        cfg.decision_p95_ms,
    )


def test_one_topic_per_severity_and_composites_page_once(synth: Synth) -> None:
    composites = {
        v["Properties"]["AlarmName"]: v["Properties"]
        for v in synth.resources("AWS::CloudWatch::CompositeAlarm").values()
    }
    alarm = composites[f"lendguard-{synth.env_name}-risk-alarm"]
    warn = composites[f"lendguard-{synth.env_name}-risk-warn"]
    assert len(alarm["AlarmActions"]) == 1 and len(warn["AlarmActions"]) == 1
    assert alarm["AlarmActions"] != warn["AlarmActions"]
    assert "NOT" in str(warn["AlarmRule"])  # quiet while the alarm composite fires


def test_daily_monitor_schedule_in_shanghai_time(synth: Synth) -> None:
    (schedule,) = [
        s for s in synth.resources("AWS::Scheduler::Schedule").values()
        if s["Properties"]["ScheduleExpression"] == deployment.MONITOR_SCHEDULE
    ]  # fmt: skip
    props = schedule["Properties"]
    assert props["ScheduleExpressionTimezone"] == "Asia/Shanghai"
    fn = synth.function_logical_id(deployment.MONITOR_FUNCTION)
    assert props["Target"]["Arn"] == {"Fn::GetAtt": [fn, "Arn"]}
