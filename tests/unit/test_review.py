"""The review rules on plain models: who may answer which level, which limit, what the case becomes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from lendguard.cases import review
from lendguard.cases.record import CaseRecord
from lendguard.core.errors import Conflict, InvalidInput
from lendguard.core.fees import Fee
from lendguard.decision.offer import issue_offer
from lendguard.decision.state import Reason
from lendguard.policy.schema import ReviewSettings

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


@pytest.fixture
def case(default_policy) -> CaseRecord:
    """A REVIEW case with a 6,000 offer whose initial review task is open."""
    product = default_policy.products["revolving"]
    offer = issue_offer(6000, 0.21, 12, product, NOW, date(2026, 11, 22), basis="table")
    record = CaseRecord(
        case_id="C-review", application_id="A-1", status="PENDING_REVIEW", decision="REVIEW",
        automated_decision="REVIEW", created_at=NOW, decided_at=NOW, product="revolving",
        policy={"id": "default", "version": 1}, offer=offer,
        submitted_at=datetime(2026, 11, 22, 10, 0, tzinfo=UTC).astimezone(),
        reasons=[Reason(code="PM_HIGH_DTI", message="High debt burden relative to income")],
    )  # fmt: skip
    settings = ReviewSettings(timeout_seconds=3600, final_review_above=5000)
    record.review = review.open_review(settings, "arn:aws:states:::execution:review:C-review-review")
    return review.open_task(record, "initial", "token-1", NOW)


def request(**fields) -> review.ReviewRequest:
    return review.parse_request({"reviewer": "alice", "decision": "APPROVE", **fields})


def answer_initial(case, default_policy, **fields):
    answer = review.check_answer(case, request(**fields), default_policy, NOW)
    review.record_answer(case, answer)
    return answer


def test_opening_a_task_records_it_once(case):
    pending = case.review.pending
    assert pending.level == "initial" and pending.task_id == review.task_id("token-1")
    assert pending.expires_at == NOW + timedelta(hours=1)
    assert "token-1" not in case.model_dump_json()  # the token itself never enters the record
    review.open_task(case, "initial", "token-1", NOW)  # a retried Lambda
    assert [e.event for e in case.review.history] == ["task_opened"]


def test_approving_above_the_policy_amount_needs_a_final_review(case, default_policy):
    answer = answer_initial(case, default_policy)
    assert answer.limit == 6000 and answer.final_review_required
    assert case.review.pending is None


def test_a_lower_limit_below_the_amount_needs_no_final_review(case, default_policy):
    answer = answer_initial(case, default_policy, limit=4000)
    assert answer.limit == 4000 and not answer.final_review_required


def test_the_same_reviewer_cannot_do_both_levels(case, default_policy):
    answer_initial(case, default_policy)
    review.open_task(case, "final", "token-2", NOW)
    with pytest.raises(review.FieldConflict) as exc:
        review.check_answer(case, request(), default_policy, NOW)
    assert [d.field for d in exc.value.details] == ["reviewer"]
    final = review.check_answer(case, request(reviewer="bob", limit=5500), default_policy, NOW)
    assert final.level == "final" and not final.final_review_required


def test_the_final_reviewer_cannot_raise_the_initial_limit(case, default_policy):
    answer_initial(case, default_policy, limit=5800)
    review.open_task(case, "final", "token-2", NOW)
    with pytest.raises(InvalidInput) as exc:
        review.check_answer(case, request(reviewer="bob", limit=6000), default_policy, NOW)
    assert exc.value.details[0].field == "limit" and "5800" in exc.value.details[0].message


def test_an_answer_for_another_level_or_an_answered_task_is_a_conflict(case, default_policy):
    with pytest.raises(review.FieldConflict) as exc:
        review.check_answer(case, request(level="final"), default_policy, NOW)
    assert exc.value.details[0].field == "level"
    answer_initial(case, default_policy, limit=4000)
    with pytest.raises(Conflict, match="already answered by alice"):
        review.check_answer(case, request(reviewer="carol"), default_policy, NOW)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": "APPROVE"}, "reviewer"),
        ({"reviewer": "alice", "decision": "MAYBE"}, "decision"),
        ({"reviewer": "al ice", "decision": "APPROVE"}, "reviewer"),
        ({"reviewer": "alice", "decision": "REJECT", "limit": 100}, "limit"),
        ({"reviewer": "alice", "decision": "APPROVE", "limit": 0}, "limit"),
        ({"reviewer": "alice", "decision": "APPROVE", "limit": 10.001}, "limit"),
        ({"reviewer": "alice", "decision": "APPROVE", "level": "third"}, "level"),
        ({"reviewer": "alice", "decision": "APPROVE", "colour": "red"}, "colour"),
        ({"reviewer": "alice", "decision": "APPROVE", "note": "x" * 2001}, "note"),
    ],
)
def test_bad_requests_name_the_field(body, field):
    with pytest.raises(InvalidInput) as exc:
        review.parse_request(body)
    assert field in [d.field for d in exc.value.details]


def test_limits_outside_the_range_name_the_limit(case, default_policy):
    for limit, text in ((7000, "not be above the limit under review"), (100, "below the product minimum")):
        with pytest.raises(InvalidInput) as exc:
            review.check_answer(case, request(limit=limit), default_policy, NOW)
        assert exc.value.details[0].field == "limit" and text in exc.value.details[0].message


def test_conclusion_reissues_the_offer_for_the_approved_limit(case, default_policy):
    answer = answer_initial(case, default_policy, limit=4000)
    later = NOW + timedelta(hours=5)
    review.conclude(
        case, review.ReviewConclusion(case_id=case.case_id, initial=answer), default_policy, later
    )
    assert case.status == "DECIDED" and case.decision == "APPROVE" and case.automated_decision == "REVIEW"
    offer = case.offer
    assert offer.credit_limit == 4000 and offer.limit_basis == "review" and offer.apr == 0.21
    assert str(offer.schedule.principal) == "4000.00" and offer.valid_until == datetime(
        2027, 11, 22, 7, 0, tzinfo=UTC
    )
    assert case.review.status == "CONCLUDED" and case.review.outcome == "APPROVE"
    assert [e.event for e in case.review.history] == ["task_opened", "answered", "concluded"]
    before = case.model_dump()
    review.conclude(
        case, review.ReviewConclusion(case_id=case.case_id, initial=answer), default_policy, later
    )
    assert case.model_dump() == before  # a retried conclusion changes nothing


def test_a_final_reject_overrides_the_initial_approval(case, default_policy):
    initial = answer_initial(case, default_policy)
    review.open_task(case, "final", "token-2", NOW)
    final = review.check_answer(case, request(reviewer="bob", decision="REJECT"), default_policy, NOW)
    review.record_answer(case, final)
    review.conclude(
        case, review.ReviewConclusion(case_id="C", initial=initial, final=final), default_policy, NOW
    )
    assert case.decision == "REJECT" and case.offer is None
    assert [r.code for r in case.reasons] == ["REVIEW_REJECTED", "PM_HIGH_DTI"]


@pytest.mark.parametrize(("on_timeout", "decision"), [("REJECT", "REJECT"), ("APPROVE", "APPROVE")])
def test_timeout_applies_the_configured_outcome(case, default_policy, on_timeout, decision):
    case.review.on_timeout = on_timeout
    timed_out = review.ReviewConclusion(
        case_id="C", timed_out={"level": "initial", "error": "States.Timeout"}
    )
    review.conclude(case, timed_out, default_policy, NOW)
    assert case.decision == decision and "REVIEW_TIMEOUT" in [r.code for r in case.reasons]
    assert [e.event for e in case.review.history][-2:] == ["timed_out", "concluded"]
    assert (case.offer is not None) == (decision == "APPROVE")


def test_a_failed_review_step_fails_the_case(case, default_policy):
    failed = review.ReviewConclusion(case_id="C", error={"Error": "Lambda.Unknown", "Cause": "boom"})
    review.conclude(case, failed, default_policy, NOW)
    assert case.status == "FAILED" and case.review.status == "FAILED"
    assert case.error["error"] == "ReviewFailed"


def test_an_approved_limit_no_rate_can_price_within_the_cost_cap_is_not_offered(case, default_policy):
    # a fixed upfront fee weighs more on a smaller loan: 4,000 with 500 upfront costs over 36% a year
    fees = [Fee(name="membership", timing="upfront", amount=500)]
    product = default_policy.products["revolving"].model_copy(update={"fees": fees})
    policy = default_policy.model_copy(update={"products": {**default_policy.products, "revolving": product}})
    answer = answer_initial(case, policy, limit=4000)
    review.conclude(case, review.ReviewConclusion(case_id=case.case_id, initial=answer), policy, NOW)
    assert case.status == "DECIDED" and case.decision == "REJECT" and case.offer is None
    assert case.reasons[0].code == "COST_ABOVE_CAP" and "above the cap 36%" in case.reasons[0].message
