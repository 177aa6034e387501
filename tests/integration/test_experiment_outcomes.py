"""``GET /v1/policies/{id}/experiments`` joins repayment outcomes (issue 14): once loan events
arrive, each arm shows the bad rate of its approved, labelled cases with a Wilson interval."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
from authn import resolve_as

from lendguard.lifecycle.experiments import wilson

TODAY = datetime.now(UTC).date()
DRAWN = TODAY - timedelta(days=250)  # matured for a 6-month window
YOUNG = TODAY - timedelta(days=30)


def get(target: str) -> tuple[int, Any]:
    status, _, text = resolve_as("GET", target, {}, None, "ops")
    return status, json.loads(text)


def _case(case_id: str, arm: str, version: int, decision: str) -> Any:
    from lendguard.cases.record import CaseRecord

    created = datetime.combine(DRAWN - timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return CaseRecord(
        case_id=case_id, application_id=f"APP-{case_id}", status="DECIDED", decision=decision,
        automated_decision=decision, created_at=created, decided_at=created,
        policy={"id": "exp", "version": version, "arm": arm, "experiment": "income-test"},
    )  # fmt: skip


def _events(case_id: str, drawn: date, *later: tuple[str, int, dict[str, Any]]) -> list[Any]:
    """A draw of 3,000 and then ``(type, days after the draw, fields)`` events."""
    from lendguard.outcomes.events import LoanEvent

    out = [LoanEvent(event_id=f"{case_id}-d", case_id=case_id, loan_id="L1", type="drawn", date=drawn,
                     amount=Decimal("3000"))]  # fmt: skip
    for i, (kind, days, fields) in enumerate(later):
        out.append(LoanEvent(event_id=f"{case_id}-{i}", case_id=case_id, loan_id="L1", type=kind,  # type: ignore[arg-type]
                             date=drawn + timedelta(days=days), **fields))  # fmt: skip
    return out


SETTLED = ("settled", 200, {})
# arm A: one bad of three labelled (A4 is young and current: no label yet; A5 never drew)
# arm B: two bad of three labelled (a charge-off and 45 days past due); B4 rejected
PLAN: dict[str, tuple[str, int, str, list[tuple[str, int, dict[str, Any]]] | None, date]] = {
    "A1": (
        "A",
        1,
        "APPROVE",
        [("overdue", 60, {"days_past_due": 35}), ("repaid", 62, {"amount": Decimal("900")})],
        DRAWN,
    ),  # 37 days past due at worst: the repayment cures it
    "A2": ("A", 1, "APPROVE", [SETTLED], DRAWN),
    "A3": ("A", 1, "APPROVE", [SETTLED], DRAWN),
    "A4": ("A", 1, "APPROVE", [], YOUNG),
    "A5": ("A", 1, "APPROVE", None, DRAWN),
    "B1": ("B", 2, "APPROVE", [("charged_off", 120, {})], DRAWN),
    "B2": ("B", 2, "APPROVE", [("overdue", 90, {"days_past_due": 45})], DRAWN),
    "B3": ("B", 2, "APPROVE", [SETTLED], DRAWN),
    "B4": ("B", 2, "REJECT", None, DRAWN),
}


@pytest.fixture(scope="module")
def cases(runtime) -> Any:
    from lendguard.store import cases as store

    for case_id, (arm, version, decision, _, _) in PLAN.items():
        store.put_case(_case(case_id, arm, version, decision))
    return runtime


def _arms(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["arm"]: a for a in body["arms"]}


def test_bad_rates_per_arm_appear_once_loan_events_arrive(cases) -> None:
    from lendguard.store import outcomes

    status, before = get("/v1/policies/exp/experiments")
    assert (
        status == 200 and before["outcomes_available"] is False and "no repayment outcomes" in before["note"]
    )
    assert all(a["bad_rate"] is None for a in before["arms"])

    for case_id, (_, _, _, later, drawn) in PLAN.items():
        if later is not None:
            for event in _events(case_id, drawn, *later):
                assert outcomes.put_event(event) == "recorded"

    status, after = get("/v1/policies/exp/experiments")
    assert status == 200 and after["outcomes_available"] is True, after
    assert after["bad_definition"] == "ever_dpd>=30 within 6"
    arms = _arms(after)
    assert (arms["A"]["labelled"], arms["A"]["bad"]) == (3, 1)
    assert (arms["B"]["labelled"], arms["B"]["bad"]) == (3, 2)
    assert arms["A"]["bad_rate"] == pytest.approx(1 / 3) and arms["B"]["bad_rate"] == pytest.approx(2 / 3)
    for arm, (bad, n) in (("A", (1, 3)), ("B", (2, 3))):
        interval = wilson(bad, n)
        assert interval is not None
        assert arms[arm]["bad_rate_ci95"] == pytest.approx({"low": interval.low, "high": interval.high})

    # a stricter definition: 45 days past due and a charge-off are bad at 40+, 37 is not
    status, strict = get("/v1/policies/exp/experiments?bad=" + quote("ever_dpd>=40 within 6"))
    assert status == 200 and strict["bad_definition"] == "ever_dpd>=40 within 6"
    assert (_arms(strict)["A"]["bad"], _arms(strict)["B"]["bad"]) == (0, 2)


def test_a_bad_definition_that_does_not_parse_is_a_400_naming_it(cases) -> None:
    status, body = get("/v1/policies/exp/experiments?bad=" + quote("dpd 30"))
    assert status == 400 and body["details"][0]["field"] == "bad"
