"""One monitor run: read the cases, summarise, evaluate against the baselines, build the report."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from lendguard.models.artifact import Baseline
from lendguard.monitoring.days import window_before
from lendguard.monitoring.evaluate import MonitorReport, evaluate
from lendguard.monitoring.summary import Summary, summarize
from lendguard.monitoring.view import CaseSource, CaseView
from lendguard.policy.schema import MonitoringSettings

_RATES = ("APPROVE", "REVIEW", "REJECT")


def _series(views: list[CaseView]) -> dict[str, dict[str, float]]:
    per_day: dict[date, Counter[str]] = {}
    for v in views:
        per_day.setdefault(v.day, Counter())[v.outcome] += 1
    out: dict[str, dict[str, float]] = {}
    for day in sorted(per_day):
        counts = per_day[day]
        total = sum(counts.values())
        out[day.isoformat()] = {f"{o.lower()}_rate": counts[o] / total for o in _RATES} | {
            "cases": float(total)
        }
    return out


def run_monitor(
    source: CaseSource,
    first: date,
    last: date,
    settings: MonitoringSettings,
    training: Baseline | None = None,
    model_inputs: list[str] | None = None,
    model: str | None = None,
) -> MonitorReport:
    """The report of days ``first`` to ``last`` (Shanghai) against the training baseline and the
    ``settings.window_days`` days before ``first``. No cases: a report saying so, nothing flagged."""
    if last < first:
        raise ValueError("the last day is before the first")
    w_first, w_last = window_before(first, settings.window_days)
    current = list(source.cases_between(first, last))
    window = list(source.cases_between(w_first, w_last))
    report = MonitorReport(
        first_day=first, last_day=last, window=(w_first, w_last), cases=len(current), window_cases=len(window),
        model=model, series=_series(window + current),
    )  # fmt: skip
    if not current:
        report.message = f"no cases from {first} to {last}: nothing to monitor, nothing flagged"
        return report
    day_groups = summarize(current)
    window_groups = summarize(window)
    inputs = model_inputs if model_inputs is not None else sorted(day_groups[None].features)
    report.arms = sorted(k for k in day_groups if k is not None)
    for arm, summary in day_groups.items():
        base: Summary | None = window_groups.get(arm)
        report.figures += evaluate(summary, base, training, inputs, settings, arm=arm)
    report.score_histogram = {
        "day": day_groups[None].scores,
        "window": window_groups[None].scores if None in window_groups else [],
    }
    return report


def days_between(first: date, last: date) -> list[date]:
    """Every day from ``first`` to ``last`` inclusive."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
