"""Compare a day's summary with its baselines and flag every figure against the policy's thresholds.

Baselines: the model's training distribution (``Baseline`` saved at training) for the score and
each model input, and the rolling window of the preceding days for everything. A figure whose
baseline is absent is reported with severity ``missing`` (never as PSI 0); a group with fewer than
``min_cases`` cases is shown but never flagged (``insufficient``).
"""

from __future__ import annotations

import math
from datetime import date
from typing import Literal

from pydantic import Field

from lendguard.core.base_model import Model
from lendguard.models.artifact import Baseline
from lendguard.models.psi import PsiTable, psi_from_baseline, psi_table
from lendguard.monitoring.delinquency import MEASURES, EarlyDelinquency
from lendguard.monitoring.summary import Summary
from lendguard.policy.schema import Band, MonitoringSettings

Family = Literal["business", "rules", "model", "features", "data", "vendors"]
Severity = Literal["ok", "warn", "alarm", "missing", "insufficient", "info"]
FAMILIES: tuple[str, ...] = ("business", "rules", "model", "features", "data", "vendors")
FLAGGED: tuple[str, ...] = ("warn", "alarm")


class CsiRow(Model):
    """One bin of a PSI: its contribution is the CSI of that bin."""

    bin: str
    expected_share: float
    actual_share: float
    contribution: float


class Figure(Model):
    """One monitored figure of one group (all cases, or an A/B arm)."""

    family: Family
    name: str
    arm: str | None = None
    value: float | None
    baseline: float | None = None
    shift: float | None = None
    against: Literal["window", "training", "absolute"] = "window"
    severity: Severity = "ok"
    note: str | None = None
    csi: list[CsiRow] = Field(default_factory=list)


def _level(value: float, band: Band) -> Severity:
    if value >= band.alarm:
        return "alarm"
    if value >= band.warn:
        return "warn"
    return "ok"


def _z(p1: float, n1: int, p0: float, n0: int) -> float:
    """Two-proportion z statistic of p1 (n1) against p0 (n0)."""
    pooled = (p1 * n1 + p0 * n0) / (n1 + n0)
    var = pooled * (1 - pooled) * (1 / n1 + 1 / n0)
    if var <= 0:
        return math.inf if p1 != p0 else 0.0
    return abs(p1 - p0) / math.sqrt(var)


def _csi(table: PsiTable) -> list[CsiRow]:
    return [
        CsiRow(bin=b.label, expected_share=b.expected_share, actual_share=b.actual_share, contribution=b.psi)
        for b in table.bins
    ]


class _Context:
    def __init__(self, settings: MonitoringSettings, arm: str | None, enough: bool) -> None:
        self.settings, self.arm, self.enough, self.out = settings, arm, enough, []  # type: list[Figure]

    def share_shift(
        self, family: Family, name: str, k1: int, n1: int, k0: int | None, n0: int | None, band: Band
    ) -> None:
        value = k1 / n1 if n1 else None
        if value is None:
            return
        if k0 is None or not n0:
            self.out.append(Figure(family=family, name=name, arm=self.arm, value=value, severity="missing",
                                   note="no baseline in the window"))  # fmt: skip
            return
        base = k0 / n0
        shift = value - base
        severity: Severity = _level(abs(shift), band)
        if severity != "ok" and _z(value, n1, base, n0) < self.settings.min_z:
            severity = "ok"  # within what chance explains at these counts
        if not self.enough:
            severity = "insufficient"
        self.out.append(Figure(family=family, name=name, arm=self.arm, value=value, baseline=base, shift=shift,
                               severity=severity))  # fmt: skip

    def psi(
        self, family: Family, name: str, table: PsiTable | None, band: Band, against: str, why: str
    ) -> None:
        if table is None:
            self.out.append(Figure(family=family, name=name, arm=self.arm, value=None, against=against,  # type: ignore[arg-type]
                                   severity="missing", note=why))  # fmt: skip
            return
        severity = _level(table.psi, band) if self.enough else "insufficient"
        self.out.append(Figure(family=family, name=name, arm=self.arm, value=table.psi, against=against,  # type: ignore[arg-type]
                               severity=severity, csi=_csi(table)))  # fmt: skip


def evaluate(
    day: Summary,
    window: Summary | None,
    training: Baseline | None,
    model_inputs: list[str],
    settings: MonitoringSettings,
    arm: str | None = None,
) -> list[Figure]:
    """Every figure of ``day`` with its baseline, shift and severity."""
    ctx = _Context(settings, arm, day.cases >= settings.min_cases)
    n = day.cases
    w = window if window is not None and window.cases > 0 else None
    for outcome, band in (("APPROVE", settings.approval_rate_shift), ("REVIEW", settings.review_rate_shift),
                          ("REJECT", settings.reject_rate_shift)):  # fmt: skip
        ctx.share_shift("business", f"{outcome.lower()}_rate", day.outcomes.get(outcome, 0), n,
                        w.outcomes.get(outcome, 0) if w else None, w.cases if w else None, band)  # fmt: skip
    for rule_id in sorted(day.rules):
        r = day.rules[rule_id]
        base = w.rules.get(rule_id) if w else None
        ctx.share_shift("rules", f"hit_rate:{rule_id}", r.hits, r.evaluated, base.hits if base else None,
                        base.evaluated if base else None, settings.rule_hit_rate_shift)  # fmt: skip
    for vendor in sorted(day.vendors):
        v = day.vendors[vendor]
        for what, k, band in (("error_rate", v.errors, settings.vendor_error_rate),
                              ("empty_rate", v.empty, settings.vendor_empty_rate)):  # fmt: skip
            rate = k / v.calls if v.calls else 0.0
            severity = _level(rate, band) if ctx.enough else "insufficient"
            ctx.out.append(Figure(family="vendors", name=f"{what}:{vendor}", arm=arm, value=rate,
                                  against="absolute", severity=severity))  # fmt: skip
        base_spend = (w.vendors[vendor].spend / w.cases) if w and vendor in w.vendors else None
        ctx.out.append(Figure(family="vendors", name=f"spend_per_application:{vendor}", arm=arm,
                              value=v.spend / n if n else 0.0, baseline=base_spend,
                              note="thresholds in infra/config (platform alarm)"))  # fmt: skip
    # model: the score against training and the window
    if day.scores:
        if training is None:
            ctx.psi("model", "score_psi", None, settings.score_psi, "training", "the model saved no baseline")
        elif training.score_scale != "points":
            ctx.psi(
                "model", "score_psi", None, settings.score_psi, "training", "baseline not on the points scale"
            )
        elif training.score_sample == "scored":
            # The baseline is the score of the training rows the policy scores: like for like.
            table = psi_from_baseline(training.score, training.score_n or training.n, day.scores)
            ctx.psi("model", "score_psi", table, settings.score_psi, "training", "")
        else:
            # An older model's baseline covers every application; only cases past the rejecting
            # rules are scored, so the riskiest decile is thinner online by design (PSI ~0.16 on
            # clean synthetic days). Reported, not flagged: the score is flagged against the window.
            table = psi_from_baseline(training.score, training.n, day.scores)
            ctx.out.append(Figure(family="model", name="score_psi", arm=arm, value=table.psi, against="training",
                                  severity="info", csi=_csi(table),
                                  note="training population includes cases the rules reject before scoring; "
                                       "retrain to save the scored population's baseline"))  # fmt: skip
        table = psi_table(w.scores, day.scores) if w and w.scores else None
        ctx.psi(
            "model", "score_psi_window", table, settings.score_psi, "window", "no scored case in the window"
        )
    # features: each model input
    for name in model_inputs:
        values = day.features.get(name)
        if not values:
            continue  # no case reached this input today: nothing to compare
        present = [v for v in values if v is not None]
        dist = training.features.get(name) if training else None
        if dist is None:
            ctx.psi("features", f"psi:{name}", None, settings.feature_psi, "training",
                    "no training baseline for this feature")  # fmt: skip
        else:
            ctx.psi("features", f"psi:{name}", psi_from_baseline(dist, training.n, values),  # type: ignore[union-attr]
                    settings.feature_psi, "training", "")  # fmt: skip
        base_values = w.features.get(name) if w else None
        window_table = psi_table(base_values, values) if base_values else None
        ctx.psi("features", f"psi_window:{name}", window_table, settings.feature_psi, "window",
                "no case reached this feature in the window")  # fmt: skip
        base_missing = sum(v is None for v in base_values) if base_values else None
        ctx.share_shift("data", f"missing_share:{name}", len(values) - len(present), len(values), base_missing,
                        len(base_values) if base_values else None, settings.missing_share_shift)  # fmt: skip
    return ctx.out


def delinquency_figures(table: EarlyDelinquency, settings: MonitoringSettings) -> list[Figure]:
    """``fpd_rate:BAND``, ``dpd7_rate:BAND``, ``dpd30_rate:BAND`` over the recent vintages, flagged
    against the policy's absolute thresholds (too few observable accounts: ``insufficient``)."""
    bands = {"fpd": settings.first_payment_default, "dpd7": settings.dpd7_rate, "dpd30": settings.dpd30_rate}
    out = []
    for row in table.rows:
        if row.vintage is not None:
            continue
        for measure in MEASURES:
            rate = getattr(row, measure)
            if rate.rate is None:
                continue  # not observable yet for any account of this band
            severity = (
                _level(rate.rate, bands[measure]) if rate.n >= settings.min_accounts else "insufficient"
            )
            out.append(Figure(family="business", name=f"{measure}_rate:{row.band}", arm=table.arm, value=rate.rate,
                              against="absolute", severity=severity,
                              note=f"{rate.k} of {rate.n} observable accounts, vintages {table.vintages[0]} to "
                                   f"{table.vintages[-1]}"))  # fmt: skip
    return out


class MonitorReport(Model):
    """The daily monitor's output (also the JSON written to S3 and the HTML report's source)."""

    first_day: date
    last_day: date
    window: tuple[date, date]
    cases: int
    window_cases: int
    model: str | None = None
    arms: list[str] = Field(default_factory=list)
    figures: list[Figure] = Field(default_factory=list)
    series: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="day -> rate name -> value, for the time-series plot"
    )
    score_histogram: dict[str, list[float]] = Field(default_factory=dict)
    early_delinquency: list[EarlyDelinquency] = Field(
        default_factory=list, description="Recent vintages by score band: all cases, then each arm"
    )
    early_delinquency_note: str | None = None
    message: str | None = None

    def flagged(self) -> list[Figure]:
        """Figures at warn or alarm."""
        return [f for f in self.figures if f.severity in FLAGGED]

    def flag_counts(self) -> dict[str, dict[str, int]]:
        """family -> severity -> count of flagged figures (every family and severity present, 0 or more)."""
        out = {family: {"warn": 0, "alarm": 0} for family in FAMILIES}
        for f in self.flagged():
            out[f.family][f.severity] += 1
        return out
