"""A FAILED case keeps what its vendors billed before the failure (issue 11: they reported 0)."""

from __future__ import annotations

from datetime import UTC, datetime

from lendguard.cases.record import failed_case

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)


def event(**state) -> dict:
    return {
        "case_id": "C1",
        "application": {"application_id": "A1", "applicant": {}, "submitted_at": "2026-11-29T10:59:00+08:00"},
        "received_at": "2026-11-29T03:00:00+00:00",
        "error": {"Error": "ResourceNotFoundException", "Cause": "lists table is gone"},
        **state,
    }


def vendor(name: str, cost: float) -> dict:
    return {"vendor": name, "group": "g", "service": "s", "status": "ok", "cost": cost, "billed": cost > 0}


def test_the_state_running_total_is_kept():
    case = failed_case(event(vendor_cost=4.1, trace={"vendors": [vendor("identity", 0.3)]}), NOW)
    assert case.status == "FAILED" and case.vendor_cost == 4.1


def test_without_a_total_the_trace_billed_calls_are_summed():
    case = failed_case(
        event(trace={"vendors": [vendor("identity", 0.3), vendor("bureau", 3.0), vendor("x", 0.0)]}), NOW
    )
    assert case.vendor_cost == 3.3


def test_a_failure_before_any_vendor_costs_nothing_and_the_claim_is_kept():
    case = failed_case(event(), NOW)
    assert case.vendor_cost == 0.0
    assert case.created_at == datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    assert case.submitted_at == datetime.fromisoformat("2026-11-29T10:59:00+08:00")
