"""Per-rule counters of one case, their sums over days, and the periods of the stats route."""

from __future__ import annotations

from datetime import UTC, date, datetime

from lendguard.cases.record import CaseRecord
from lendguard.decision.rule_stats import case_counts, case_day, summarize
from lendguard.decision.state import RuleTrace, Trace
from lendguard.http.routes.rules import periods


def rule(rule_id: str, outcome: str, effect: str = "none") -> RuleTrace:
    return RuleTrace(rule_id=rule_id, stage="admission", action="reject", params={}, observed={},
                     outcome=outcome, effect=effect)  # fmt: skip


def case(decision: str, *rules: RuleTrace, at: datetime | None = None) -> CaseRecord:
    return CaseRecord(
        case_id="C1", application_id="A1", status="DECIDED", decision=decision,
        created_at=at or datetime(2026, 11, 29, 23, 30, tzinfo=UTC), trace=Trace(rules=list(rules)),
    )  # fmt: skip


def test_counts_of_a_case_rejected_by_one_rule():
    counts = case_counts(
        case(
            "REJECT",
            rule("A", "hit", "reject"),
            rule("B", "no_hit"),
            rule("C", "missing"),
            rule("D", "disabled"),
            rule("E", "skipped_white"),
        )
    )
    assert counts == {
        "cases": 1, "decision.REJECT": 1,
        "A|evaluated": 1, "A|hit": 1, "A|reject": 1, "A|unique_reject": 1,
        "B|evaluated": 1, "C|evaluated": 1, "C|missing": 1,
    }  # fmt: skip


def test_two_rejecting_rules_have_no_unique_reject_and_missing_data_can_reject():
    counts = case_counts(case("REJECT", rule("A", "hit", "reject"), rule("B", "missing", "reject")))
    assert counts["A|reject"] == counts["B|reject"] == 1
    assert not any(k.endswith("unique_reject") for k in counts)
    assert "B|hit" not in counts and counts["B|missing"] == 1


def test_the_day_is_the_utc_day_the_case_was_received():
    from datetime import timedelta, timezone

    shanghai = timezone(timedelta(hours=8))
    assert case_day(case("APPROVE", at=datetime(2026, 11, 30, 7, 0, tzinfo=shanghai))) == date(2026, 11, 29)


def test_summarize_adds_days_in_range_and_computes_rates():
    days = {
        date(2026, 11, 27): {
            "cases": 4,
            "decision.APPROVE": 3,
            "decision.REJECT": 1,
            "A|evaluated": 4,
            "A|hit": 1,
            "A|reject": 1,
            "A|unique_reject": 1,
        },
        date(2026, 11, 28): {"cases": 6, "decision.APPROVE": 6, "A|evaluated": 6, "B|evaluated": 2},
        date(2026, 11, 30): {"cases": 100, "A|evaluated": 100},
    }
    stats = summarize(date(2026, 11, 27), date(2026, 11, 29), days)
    assert stats.cases == 10 and stats.decisions == {"APPROVE": 9, "REJECT": 1}
    a, b = stats.rules
    assert (a.rule_id, a.evaluated, a.hit, a.unique_reject, a.hit_rate, a.unique_reject_rate) == (
        "A",
        10,
        1,
        1,
        0.1,
        0.1,
    )
    assert (b.rule_id, b.evaluated, b.hit, b.hit_rate) == ("B", 2, 0, 0.0)


def test_periods_split_the_range():
    start, end = date(2026, 1, 30), date(2026, 3, 2)
    assert periods(start, end, "total") == [(start, end)]
    assert periods(start, end, "month") == [
        (date(2026, 1, 30), date(2026, 1, 31)), (date(2026, 2, 1), date(2026, 2, 28)), (date(2026, 3, 1), end),
    ]  # fmt: skip
    weeks = periods(date(2026, 11, 25), date(2026, 12, 8), "week")  # Wednesday to a Tuesday
    assert weeks[0] == (date(2026, 11, 25), date(2026, 11, 29)) and weeks[-1] == (
        date(2026, 12, 7),
        date(2026, 12, 8),
    )
    assert len(periods(date(2026, 12, 30), date(2027, 1, 2), "day")) == 4
