"""One monitor run: read the cases, summarise, evaluate against the baselines, build the report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta

from lendguard.models.artifact import Baseline
from lendguard.monitoring.days import window_before
from lendguard.monitoring.delinquency import AccountOutcome, earliest_case_day, early_delinquency
from lendguard.monitoring.evaluate import MonitorReport, delinquency_figures, evaluate
from lendguard.monitoring.summary import Summary, summarize
from lendguard.monitoring.view import CaseSource, CaseView, OutcomeSource
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
    outcomes: OutcomeSource | None = None,
    score_bands: Sequence[float] | None = None,
) -> MonitorReport:
    """The report of days ``first`` to ``last`` (Shanghai) against the training baseline and the
    ``settings.window_days`` days before ``first``. No cases: a report saying so, nothing flagged.

    With ``outcomes`` and the policy's ``score_bands``, early delinquency of the recent vintages
    (as of ``last``) by score band, for all cases and each arm."""
    if last < first:
        raise ValueError("the last day is before the first")
    w_first, w_last = window_before(first, settings.window_days)
    current = list(source.cases_between(first, last))
    window = list(source.cases_between(w_first, w_last))
    report = MonitorReport(
        first_day=first, last_day=last, window=(w_first, w_last), cases=len(current), window_cases=len(window),
        model=model, series=_series(window + current),
    )  # fmt: skip
    if outcomes is not None and score_bands is not None:
        _add_delinquency(report, outcomes, last, settings, score_bands)
    else:
        report.early_delinquency_note = "not computed: no repayment outcomes were given to this run"
    if not current:
        report.message = f"no cases from {first} to {last}: nothing to monitor, nothing flagged"
        report.figures = []
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


def _add_delinquency(
    report: MonitorReport, outcomes: OutcomeSource, as_of: date, settings: MonitoringSettings,
    score_bands: Sequence[float],
) -> None:  # fmt: skip
    accounts = list(outcomes.approved_between(earliest_case_day(as_of, settings.vintage_months), as_of))
    arms = sorted({a.arm for a in accounts if a.arm is not None})
    groups: list[tuple[str | None, list[AccountOutcome]]] = [(None, accounts)]
    groups += [(arm, [a for a in accounts if a.arm == arm]) for arm in arms]
    for arm, members in groups:
        table = early_delinquency(
            members, as_of, score_bands, settings.vintage_months, settings.fpd_days, arm
        )
        report.early_delinquency.append(table)
        report.figures += delinquency_figures(table, settings)
    if not any(row.accounts for row in report.early_delinquency[0].rows):
        report.early_delinquency_note = (
            f"no account drawn in the recent vintages ({', '.join(report.early_delinquency[0].vintages)})"
        )


def days_between(first: date, last: date) -> list[date]:
    """Every day from ``first`` to ``last`` inclusive."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
