"""Early delinquency of recent vintages by score band in the daily monitor (issue 17)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest

from lendguard.cases.record import CaseRecord
from lendguard.decision.state import Score
from lendguard.monitoring.delinquency import AccountOutcome, band_labels, early_delinquency
from lendguard.monitoring.job import run_monitor
from lendguard.monitoring.publish import DELINQUENCY_METRIC, flag_points
from lendguard.monitoring.view import RecordSource
from lendguard.offline.monitor_report import render_html
from lendguard.outcomes.events import LoanEvent
from lendguard.policy.schema import MonitoringSettings

AS_OF = date(2026, 6, 15)
BANDS = [555.0, 580.0, 610.0, 640.0, 670.0]


def _events(case_id: str, drawn: date, *later: tuple[str, date, dict[str, Any]]) -> list[LoanEvent]:
    out = [LoanEvent(event_id=f"{case_id}-d", case_id=case_id, loan_id="L1", type="drawn", date=drawn,
                     amount=Decimal("900"))]  # fmt: skip
    for i, (kind, day, fields) in enumerate(later):
        out.append(LoanEvent(event_id=f"{case_id}-{i}", case_id=case_id, loan_id="L1", type=kind,  # type: ignore[arg-type]
                             date=day, **fields))  # fmt: skip
    return out


def _due(day: date) -> tuple[str, date, dict[str, Any]]:
    return ("instalment_due", day, {"amount": Decimal("300")})


# case id -> (final points, arm, events); see the expected figures in the tests
PLAN: dict[str, tuple[float, str, list[LoanEvent]]] = {
    # 670+: paid its first instalment on time
    "a1": (
        700,
        "A",
        _events(
            "a1",
            date(2026, 4, 1),
            _due(date(2026, 5, 1)),
            ("repaid", date(2026, 5, 1), {"amount": Decimal("300")}),
        ),
    ),
    # 580-610: never paid (41 dpd by AS_OF): FPD, 7+ and 30+
    "a2": (600, "A", _events("a2", date(2026, 4, 5), _due(date(2026, 5, 5)))),
    # 580-610: 5 dpd, too young for any measure
    "a3": (600, "B", _events("a3", date(2026, 5, 20), _due(date(2026, 6, 10)))),
    # 580-610: 14 dpd: 7+ observable and bad, FPD and 30+ not observable yet
    "a4": (600, "B", _events("a4", date(2026, 5, 1), _due(date(2026, 6, 1)))),
    # an old vintage: not monitored
    "a5": (600, "B", _events("a5", date(2026, 1, 10), _due(date(2026, 2, 10)))),
    # 580-610: charged off before any instalment: 7+ and 30+, no FPD
    "a7": (600, "B", _events("a7", date(2026, 4, 10), ("charged_off", date(2026, 5, 20), {}))),
    # approved, never drawn
    "a6": (650, "A", []),
}


def _accounts(arm: str | None = None) -> list[AccountOutcome]:
    return [AccountOutcome(arm=a, points=p, events=e) for p, a, e in PLAN.values() if arm in (None, a)]


def _row(table, vintage, band):
    return next(r for r in table.rows if r.vintage == vintage and r.band == band)


def test_rates_by_vintage_and_band_count_only_observable_accounts() -> None:
    table = early_delinquency(_accounts(), AS_OF, BANDS, vintage_months=3, fpd_days=30)
    assert table.vintages == ["2026-04", "2026-05", "2026-06"]
    assert band_labels(BANDS) == ["<555", "555-580", "580-610", "610-640", "640-670", "670+"]
    mid = _row(table, None, "580-610")
    assert mid.accounts == 4  # a2, a3, a4, a7 (a5 is an old vintage)
    assert (mid.fpd.k, mid.fpd.n) == (1, 1)
    assert (mid.dpd7.k, mid.dpd7.n) == (3, 3)
    assert (mid.dpd30.k, mid.dpd30.n) == (2, 2)
    top = _row(table, None, "670+")
    assert (top.accounts, top.fpd.n, top.fpd.k, top.dpd30.n, top.dpd30.k) == (1, 1, 0, 1, 0)
    april, may = _row(table, "2026-04", "580-610"), _row(table, "2026-05", "580-610")
    assert (april.accounts, may.accounts) == (2, 2)
    assert (may.dpd7.k, may.dpd7.n, may.fpd.n, may.dpd30.n) == (1, 1, 0, 0)


def test_a_shorter_fpd_window_sees_more_first_payment_defaults() -> None:
    table = early_delinquency(_accounts(), AS_OF, BANDS, vintage_months=3, fpd_days=7)
    mid = _row(table, None, "580-610")
    assert (mid.fpd.k, mid.fpd.n) == (2, 2)  # a2 and a4 (first instalment 7 days unpaid); a3 too young


def _records() -> tuple[list[CaseRecord], dict[str, list[LoanEvent]]]:
    records = []
    for case_id, (points, arm, events) in PLAN.items():
        drawn = events[0].date if events else date(2026, 5, 1)
        created = datetime.combine(drawn - timedelta(days=1), time(4), tzinfo=UTC)
        records.append(_case(case_id, points, arm, created))
    # one case decided on the report's day, so the day has something to monitor
    records.append(_case("today", 640, "A", datetime.combine(AS_OF, time(4), tzinfo=UTC)))
    return records, {case_id: events for case_id, (_, _, events) in PLAN.items()}


def _case(case_id: str, points: float, arm: str, created: datetime) -> CaseRecord:
    score = Score(model_id="m", model_version=1, pd=0.05, points=points, final_points=points)
    return CaseRecord(
        case_id=case_id, application_id=f"APP-{case_id}", status="DECIDED", decision="APPROVE",
        automated_decision="APPROVE", created_at=created, score=score,
        policy={"id": "default", "version": 1, "arm": arm},
    )  # fmt: skip


@pytest.mark.parametrize("min_accounts", [1, 30])
def test_the_monitor_flags_them_per_band_and_arm_and_publishes_them(min_accounts: int) -> None:
    records, events = _records()
    source = RecordSource(records, {}, events)
    settings = MonitoringSettings(min_accounts=min_accounts)
    report = run_monitor(source, AS_OF, AS_OF, settings, outcomes=source, score_bands=BANDS)
    assert [t.arm for t in report.early_delinquency] == [None, "A", "B"]
    figures = {
        (f.arm, f.name): f for f in report.figures if f.name.split(":")[0].endswith("_rate") and ":" in f.name
    }
    fpd = figures[(None, "fpd_rate:580-610")]
    assert fpd.value == 1.0 and fpd.against == "absolute" and fpd.family == "business"
    top = figures[(None, "dpd30_rate:670+")]
    assert top.value == 0.0
    if min_accounts == 1:
        assert fpd.severity == "alarm" and top.severity == "ok"
        assert figures[("B", "dpd7_rate:580-610")].value == 1.0  # a4 and a7
        assert figures[("A", "fpd_rate:580-610")].severity == "alarm"  # a2
        assert report.flag_counts()["business"]["alarm"] >= 1
    else:
        # a handful of accounts: shown, never flagged
        assert {f.severity for f in figures.values()} == {"insufficient"}
    published = {
        (d["measure"], d["band"]): v for name, d, v in flag_points(report) if name == DELINQUENCY_METRIC
    }
    assert published[("fpd", "580-610")] == 1.0 and published[("dpd7", "580-610")] == 1.0
    assert all(key[1] in band_labels(BANDS) for key in published)  # bounded: measure x band
    page = render_html(report)
    assert "Early delinquency of recent vintages by score band" in page and "2026-04" in page


def test_without_outcomes_the_report_says_so() -> None:
    records, _ = _records()
    report = run_monitor(RecordSource(records, {}), AS_OF, AS_OF, MonitoringSettings())
    assert report.early_delinquency == [] and "not computed" in (report.early_delinquency_note or "")
