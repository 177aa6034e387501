"""The daily monitor against a known drift (issue 17): income x 0.7 and the bureau failing 20%."""

from __future__ import annotations

import hashlib
import itertools
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from lendguard.cases.archive import archive_from_state
from lendguard.cases.record import case_from_state
from lendguard.core.application import parse_application
from lendguard.core.hashing import LOCAL_SECRET
from lendguard.decision.pipeline import Pipeline
from lendguard.monitoring.days import SHANGHAI
from lendguard.monitoring.evaluate import MonitorReport
from lendguard.monitoring.job import run_monitor
from lendguard.monitoring.view import RecordSource
from lendguard.offline.synthetic import synthetic_applications
from lendguard.vendors.base import ProviderRegistry, SimulatedProvider
from lendguard.vendors.errors import VendorError

N = 1500
BASE_DAY = date(2026, 3, 1)
DRIFT_DAY = date(2026, 3, 2)


class FailingBureau(SimulatedProvider):
    """The simulated bureau, failing (not retryable) for a fixed 20% of applications."""

    def fetch(self, subject, application):
        digest = hashlib.sha256(f"down:{application['application_id']}".encode()).digest()
        if int.from_bytes(digest[:4], "big") / 2**32 < 0.2:
            raise VendorError("simulated outage", retryable=False)
        return super().fetch(subject, application)


def _cases(policy, model, day: date, seed: int, *, drift: bool) -> list:
    ticks = itertools.count(step=10_000)  # the breaker never opens: each call fails on its own
    registry = ProviderRegistry(monotonic=lambda: float(next(ticks)))
    if drift:
        for vendor in policy.vendors:
            if vendor.id == "bureau":
                registry.register(vendor.id, FailingBureau(vendor))
    pipeline = Pipeline(policy, model, LOCAL_SECRET, providers=registry)
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=SHANGHAI).astimezone(UTC)
    out = []
    for i, raw in enumerate(synthetic_applications(N, seed=seed, now=noon)):
        raw["application_id"] = f"{raw['application_id']}-{seed}"
        if drift:
            raw["applicant"]["monthly_income"] = round(raw["applicant"]["monthly_income"] * 0.7, 2)
        state = pipeline.decide(parse_application(raw, policy.products), f"C{seed}-{i}", noon)
        # the monitor reads feature values from the case archive, the rest from the case record
        derived = archive_from_state(state, "DECIDED", noon, model.metadata.feature_names).derived
        out.append((case_from_state(state, noon + timedelta(seconds=1)), derived))
    return out


def _source(cases: list) -> RecordSource:
    return RecordSource([record for record, _ in cases], {record.case_id: part for record, part in cases})


@pytest.fixture(scope="module")
def clean_day(default_policy, default_model) -> list:
    return _cases(default_policy, default_model, BASE_DAY, seed=11, drift=False)


def _report(policy, model, records: list, day: date) -> MonitorReport:
    meta = model.metadata
    return run_monitor(
        _source(records),
        day,
        day,
        policy.monitoring,
        training=meta.baseline,
        model_inputs=meta.feature_names,
    )


def _figure(report: MonitorReport, name: str):
    return next(f for f in report.figures if f.name == name and f.arm is None)


def test_drift_is_flagged_and_untouched_features_are_not(default_policy, default_model, clean_day) -> None:
    drifted = _cases(default_policy, default_model, DRIFT_DAY, seed=12, drift=True)
    report = _report(default_policy, default_model, clean_day + drifted, DRIFT_DAY)
    income = _figure(report, "psi:applicant.monthly_income")
    assert income.value is not None and income.value >= 0.25
    assert income.severity in ("warn", "alarm")
    assert _figure(report, "psi_window:applicant.monthly_income").severity in ("warn", "alarm")
    assert _figure(report, "error_rate:bureau").severity in ("warn", "alarm")
    assert _figure(report, "error_rate:bureau").value == pytest.approx(0.2, abs=0.04)
    income_rule = _figure(report, "hit_rate:ADM_MIN_INCOME")
    assert (
        income_rule.severity in ("warn", "alarm") and income_rule.shift is not None and income_rule.shift > 0
    )
    for untouched in ("applicant.age", "application.term_months"):
        for kind in ("psi", "psi_window"):
            assert _figure(report, f"{kind}:{untouched}").severity == "ok", untouched
        assert _figure(report, f"missing_share:{untouched}").severity == "ok"
    assert report.flag_counts()["vendors"]["warn"] + report.flag_counts()["vendors"]["alarm"] >= 1


def test_a_second_clean_day_flags_nothing(default_policy, default_model, clean_day) -> None:
    second = _cases(default_policy, default_model, DRIFT_DAY, seed=13, drift=False)
    report = _report(default_policy, default_model, clean_day + second, DRIFT_DAY)
    assert report.cases == N and report.window_cases == N
    assert [(f.name, f.value, f.severity) for f in report.flagged()] == []
    assert all(f.severity != "missing" for f in report.figures if f.family != "vendors")


def test_no_cases_says_so_and_flags_nothing(default_policy, default_model, clean_day) -> None:
    report = _report(default_policy, default_model, clean_day, date(2026, 4, 1))
    assert report.cases == 0 and report.figures == [] and report.flagged() == []
    assert report.message is not None and "no cases" in report.message


def test_a_missing_feature_baseline_is_reported_missing_not_zero(
    default_policy, default_model, clean_day
) -> None:
    meta = default_model.metadata
    baseline = meta.baseline.model_copy(
        update={"features": {k: v for k, v in meta.baseline.features.items() if k != "applicant.age"}}
    )
    report = run_monitor(
        _source(clean_day), BASE_DAY, BASE_DAY, default_policy.monitoring, training=baseline,
        model_inputs=meta.feature_names,
    )  # fmt: skip
    age = _figure(report, "psi:applicant.age")
    assert age.severity == "missing" and age.value is None
    # the first day has no window: its shifts are missing, not zero
    assert _figure(report, "approve_rate").severity == "missing"


def test_cli_writes_json_and_html_and_flags_the_drift(
    default_policy, default_model, clean_day, tmp_path, browser
) -> None:
    from typer.testing import CliRunner

    from lendguard.offline.cli.main import app

    drifted = _cases(default_policy, default_model, DRIFT_DAY, seed=12, drift=True)
    cases_file = tmp_path / "cases.jsonl"
    cases_file.write_text(
        "\n".join(
            json.dumps({"case": c.model_dump(mode="json"), "derived": d.model_dump(mode="json")})
            for c, d in clean_day + drifted
        )
    )
    out = tmp_path / "report"
    result = CliRunner().invoke(
        app, ["monitor", "--date", DRIFT_DAY.isoformat(), "--file", str(cases_file), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "flagged:" in result.output and "features" in result.output and "vendors" in result.output
    report = MonitorReport.model_validate_json((out / "monitor.json").read_text())
    assert (
        report.cases == N
        and report.flag_counts()["features"]["warn"] + report.flag_counts()["features"]["alarm"] >= 1
    )
    page = (out / "monitor.html").read_text()
    assert "<script" not in page and "plot-psi" in page
    _check_in_chromium(browser, out / "monitor.html", tmp_path)

    empty = CliRunner().invoke(
        app, ["monitor", "--date", "2026-05-01", "--file", str(cases_file), "--out", str(out)]
    )
    assert empty.exit_code == 0 and "no cases" in empty.output


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--date", "2026-02-30"], "--date"),
        (["--date", "2026-03-01", "--from", "2026-03-01", "--to", "2026-03-02"], "--date"),
        (["--from", "2026-03-01"], "--to"),
        (["--from", "2026-03-02", "--to", "2026-03-01"], "--to"),
    ],
)
def test_cli_bad_dates_exit_2_naming_the_option(args: list[str], field: str, tmp_path) -> None:
    from typer.testing import CliRunner

    from lendguard.offline.cli.main import app

    result = CliRunner().invoke(
        app, ["monitor", *args, "--file", str(tmp_path / "none.json"), "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert field in result.output
    assert not (tmp_path / "monitor.json").exists()


def _check_in_chromium(browser, page_file, tmp_path) -> None:
    from browser import offline_only, open_offline

    page, errors, requests = open_offline(browser, page_file)
    for plot_id in ("plot-rates", "plot-psi", "plot-score"):
        box = page.locator(f"#{plot_id} svg").bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 100, plot_id
    assert page.locator("#table-rules tr.warn, #table-rules tr.alarm").count() >= 1
    page.screenshot(path=str(tmp_path / "monitor.png"), full_page=True)
    assert errors == []
    assert offline_only(requests) == []


def test_clean_score_matches_the_scored_population_baseline(default_policy, default_model, clean_day) -> None:
    report = _report(default_policy, default_model, clean_day, BASE_DAY)
    score = _figure(report, "score_psi")
    assert default_model.metadata.baseline.score_sample == "scored"
    assert score.against == "training" and score.severity == "ok"
    assert score.value is not None and score.value < 0.05, score.value


def test_every_figure_is_also_given_per_arm(default_policy, default_model, clean_day) -> None:
    second = _cases(default_policy, default_model, DRIFT_DAY, seed=13, drift=False)
    split = [
        (c.model_copy(update={"policy": {**(c.policy or {}), "arm": "A" if i % 2 else "B"}}), d)
        for i, (c, d) in enumerate(clean_day + second)
    ]  # copies: the clean day is shared by the module's tests
    report = _report(default_policy, default_model, split, DRIFT_DAY)
    assert report.arms == ["A", "B"]
    names = {arm: {f.name for f in report.figures if f.arm == arm} for arm in (None, "A", "B")}
    assert names[None] and names["A"] == names[None] and names["B"] == names[None]
