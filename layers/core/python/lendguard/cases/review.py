"""Manual review of REVIEW cases: the rules, apart from where the state is kept.

``statemachines/review.asl.json`` waits for each level with a task token. This module decides
what an answer may be (who may give it, which limit), what the workflow is told, and what the
case becomes when the workflow concludes, on plain models; ``lendguard.decision.wiring`` wires it to
DynamoDB and Step Functions.

- Initial review by any reviewer. If it approves a limit above the policy's
  ``review.final_review_above``, a final review by a *different* reviewer follows.
- A reviewer may approve a lower limit than offered (never a higher one); the offer and its
  repayment schedule are then rebuilt for that limit, exactly as the engine builds them.
- When nobody answers a level within ``review.timeout_seconds`` the case gets
  ``review.on_timeout`` with reason ``REVIEW_TIMEOUT``.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from lendguard.cases.record import (
    CaseRecord,
    CaseReview,
    PendingReviewTask,
    ReviewEntry,
    ReviewLevel,
    ReviewOutcome,
)
from lendguard.core.application import decision_date
from lendguard.core.base_model import Model
from lendguard.core.errors import Conflict, FieldError, InvalidInput, json_object
from lendguard.core.text import SafeText
from lendguard.decision.state import Reason
from lendguard.policy.schema import Policy, ReviewSettings

REVIEWER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@\-]*$"


class FieldConflict(Conflict):
    """A 409 that names the field at fault (for example the reviewer who already reviewed)."""

    def __init__(self, message: str, details: list[FieldError]):
        super().__init__(message)
        self.details = details


class ReviewRequest(Model):
    """``POST /v1/cases/{case_id}/review``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    reviewer: Annotated[str, Field(min_length=1, max_length=64, pattern=REVIEWER_PATTERN)]
    decision: ReviewOutcome
    limit: Annotated[float, Field(strict=True, gt=0, le=10_000_000, allow_inf_nan=False)] | None = Field(
        default=None, description="APPROVE only: a lower limit than the one under review"
    )
    note: Annotated[SafeText, Field(max_length=2000)] | None = None
    level: ReviewLevel | None = Field(
        default=None,
        description="The level being answered; when given, an answer meant for another level is refused",
    )

    @field_validator("limit")
    @classmethod
    def _cents(cls, value: float | None) -> float | None:
        if value is not None and round(value, 2) != value:
            raise ValueError("must have at most two decimal places")
        return value

    @model_validator(mode="after")
    def _limit_only_to_approve(self) -> ReviewRequest:
        if self.limit is not None and self.decision != "APPROVE":
            raise ValueError("limit: only an APPROVE may set a limit")
        return self


class ReviewAnswer(Model):
    """What the workflow receives (SendTaskSuccess output) for one level."""

    level: ReviewLevel
    reviewer: str
    decision: ReviewOutcome
    limit: float | None = Field(default=None, description="The limit approved at this level (APPROVE)")
    note: str | None = None
    answered_at: datetime
    task_id: str
    final_review_required: bool = False


class ReviewConclusion(Model):
    """The review workflow's state when it concludes (``ConcludeReview``'s input)."""

    model_config = ConfigDict(extra="ignore")

    case_id: str
    initial: ReviewAnswer | None = None
    final: ReviewAnswer | None = None
    timed_out: dict[str, Any] | None = None  # {"level": ..., "error": ..., "cause": ...}
    error: dict[str, Any] | None = None  # a review step that failed: {"Error", "Cause"}


def task_id(token: str) -> str:
    """A short, stable id for a task token: shown to reviewers and checked on every answer."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def parse_request(body: str | bytes | dict[str, Any] | None) -> ReviewRequest:
    """Validate a review request; :class:`InvalidInput` names every bad field."""
    data = json_object(body, "invalid review")
    try:
        return ReviewRequest.model_validate(data)
    except ValidationError as exc:
        error = InvalidInput.from_validation_error("invalid review", exc)
        # A model-level check reports "(body)"; its message starts with the field it is about.
        for d in error.details:
            if d.field == "(body)" and d.message.startswith("limit:"):
                d.field, d.message = "limit", d.message.removeprefix("limit:").strip()
        raise error from None


def open_review(settings: ReviewSettings, execution_arn: str) -> CaseReview:
    """The review block of a case that has just gone to review."""
    return CaseReview(
        execution_arn=execution_arn,
        timeout_seconds=settings.timeout_seconds,
        on_timeout=settings.on_timeout,
        final_review_above=settings.final_review_above,
    )


def open_task(case: CaseRecord, level: ReviewLevel, token: str, now: datetime) -> CaseRecord:
    """Record that ``level`` now waits for a reviewer (the token itself is stored beside the record)."""
    review = _review_of(case)
    tid = task_id(token)
    if review.pending and review.pending.task_id == tid:
        return case  # a retried Lambda: already recorded
    review.pending = PendingReviewTask(
        level=level, task_id=tid, opened_at=now, expires_at=now + timedelta(seconds=review.timeout_seconds)
    )
    review.status = "WAITING"
    review.history.append(ReviewEntry(at=now, event="task_opened", level=level, task_id=tid))
    return case


def current_limit(case: CaseRecord) -> float | None:
    """The limit under review: the engine's offer, or what the initial reviewer approved."""
    review = _review_of(case)
    for entry in reversed(review.history):
        if entry.event == "answered" and entry.decision == "APPROVE" and entry.limit is not None:
            return entry.limit
    return case.offer.credit_limit if case.offer else None


def check_answer(case: CaseRecord, request: ReviewRequest, policy: Policy, now: datetime) -> ReviewAnswer:
    """The answer to send to the workflow, or why it may not be given.

    :class:`Conflict` (409) when there is nothing to answer, the level named is not the one
    waiting, or the same reviewer tries to do both levels; :class:`InvalidInput` (400) for a
    limit above the one under review or below the product's minimum.
    """
    review = case.review
    if case.status != "PENDING_REVIEW" or review is None or review.status != "WAITING":
        raise Conflict(f"case {case.case_id} is not waiting for a review (status {case.status})")
    pending = review.pending
    if pending is None:
        answered = [e for e in review.history if e.event == "answered"]
        if answered and (request.level is None or request.level == answered[-1].level):
            last = answered[-1]
            raise Conflict(
                f"the {last.level} review of case {case.case_id} was already answered by {last.reviewer}"
            )
        raise Conflict(f"case {case.case_id} has no review task open yet; try again shortly")
    if request.level is not None and request.level != pending.level:
        raise FieldConflict(
            f"the {request.level} review of case {case.case_id} is not the one waiting",
            [FieldError(field="level", message=f"the {pending.level} review is waiting")],
        )
    if pending.level == "final":
        initial = next((e for e in review.history if e.event == "answered" and e.level == "initial"), None)
        if initial is not None and initial.reviewer == request.reviewer:
            raise FieldConflict(
                f"reviewer {request.reviewer} did the initial review of case {case.case_id}; "
                "the final review needs a different reviewer",
                [FieldError(field="reviewer", message="must differ from the initial reviewer")],
            )
    limit = None
    if request.decision == "APPROVE":
        under_review = current_limit(case)
        limit = request.limit if request.limit is not None else under_review
        problems = []
        if under_review is not None and limit is not None and limit > under_review:
            problems.append(f"must not be above the limit under review ({under_review:g})")
        product = policy.products.get(case.product or "")
        if product is not None and limit is not None and limit < product.min_amount:
            problems.append(f"must not be below the product minimum ({product.min_amount:g})")
        if problems:
            raise InvalidInput("invalid review", [FieldError(field="limit", message="; ".join(problems))])
    above = review.final_review_above
    needs_final = (
        pending.level == "initial"
        and request.decision == "APPROVE"
        and above is not None
        and limit is not None
        and limit > above
    )
    return ReviewAnswer(
        level=pending.level, reviewer=request.reviewer, decision=request.decision, limit=limit,
        note=request.note, answered_at=now, task_id=pending.task_id, final_review_required=needs_final,
    )  # fmt: skip


def record_answer(case: CaseRecord, answer: ReviewAnswer) -> CaseRecord:
    """The case once ``answer`` is accepted: in the history, and the task closed."""
    review = _review_of(case)
    review.pending = None
    review.history.append(
        ReviewEntry(
            at=answer.answered_at, event="answered", level=answer.level, reviewer=answer.reviewer,
            decision=answer.decision, limit=answer.limit, note=answer.note, task_id=answer.task_id,
        )
    )  # fmt: skip
    return case


def record_not_applied(case: CaseRecord, answer: ReviewAnswer, why: str, now: datetime) -> CaseRecord:
    """An accepted answer the workflow no longer took (its task had timed out meanwhile)."""
    _review_of(case).history.append(
        ReviewEntry(
            at=now, event="answer_not_applied", level=answer.level, reviewer=answer.reviewer,
            decision=answer.decision, task_id=answer.task_id, detail=why,
        )
    )  # fmt: skip
    return case


Outcome = tuple[ReviewOutcome, float | None, list[Reason]]


def outcome_of(case: CaseRecord, conclusion: ReviewConclusion) -> Outcome:
    """(decision, approved limit, reasons) from the workflow's answers or its timeout."""
    review = _review_of(case)
    base = list(case.reasons)
    offered = case.offer.credit_limit if case.offer else None
    if conclusion.timed_out is not None:
        level = conclusion.timed_out.get("level", "initial")
        reason = Reason(
            code="REVIEW_TIMEOUT",
            source="rule",
            message=f"No reviewer completed the {level} review within {_duration(review.timeout_seconds)}",
        )
        if review.on_timeout == "APPROVE":
            initial = conclusion.initial
            limit = initial.limit if initial and initial.decision == "APPROVE" else offered
            return "APPROVE", limit, [*base, reason]
        return "REJECT", None, [reason, *base]
    answer = conclusion.final or conclusion.initial
    if answer is None:
        raise ValueError(f"case {case.case_id}: the review concluded with neither an answer nor a timeout")
    if answer.decision == "REJECT":
        reason = Reason(
            code="REVIEW_REJECTED", source="rule", message=f"Declined at the {answer.level} review"
        )
        return "REJECT", None, [reason, *base]
    return "APPROVE", answer.limit if answer.limit is not None else offered, base


def conclude(case: CaseRecord, conclusion: ReviewConclusion, policy: Policy, now: datetime) -> CaseRecord:
    """The case once its review workflow ends: the final decision, offer and reasons.

    An approved case gets its offer re-issued at ``now`` (for the approved limit, same price and
    term): validity counts from the approval and the schedule starts on the approval date. A
    workflow that failed leaves the case FAILED with the cause, so it can be re-decided.
    """
    from lendguard.core.cost import CostCapError
    from lendguard.decision.offer import COST_ABOVE_CAP, issue_offer

    review = _review_of(case)
    if review.status != "WAITING":
        return case  # a retried conclusion: already applied
    review.pending = None
    if conclusion.error is not None:
        review.status = "FAILED"
        detail = str(conclusion.error.get("Error") or "error")
        review.history.append(ReviewEntry(at=now, event="failed", detail=detail))
        case.status = "FAILED"
        case.error = {"error": "ReviewFailed", "cause": conclusion.error}
        return case
    if conclusion.timed_out is not None:
        level = conclusion.timed_out.get("level")
        review.history.append(
            ReviewEntry(at=now, event="timed_out", level=level if level in ("initial", "final") else None)
        )
    decision, limit, reasons = outcome_of(case, conclusion)
    if decision == "APPROVE" and case.offer is not None and limit is not None:
        offered = case.offer
        product = policy.products[case.product or ""]
        start = decision_date(now)
        lowered = limit < offered.credit_limit
        try:
            case.offer = issue_offer(
                limit, offered.apr, offered.term_months, product, now, start,
                basis="review" if lowered else offered.limit_basis,
                candidates={**offered.limit_candidates, **({"review": limit} if lowered else {})},
                pricing=policy.pricing,
            )  # fmt: skip
        except CostCapError as exc:
            # A lower limit carries fixed fees over less principal: if no rate the pricing allows
            # keeps it within the cost cap, the approval cannot be honoured as an offer.
            decision, case.offer = "REJECT", None
            reasons = [Reason(code=COST_ABOVE_CAP, message=str(exc), source="limit"), *reasons]
    elif decision == "REJECT":
        case.offer = None
    case.status, case.decision, case.reasons = "DECIDED", decision, reasons
    review.status, review.outcome, review.concluded_at = "CONCLUDED", decision, now
    review.history.append(ReviewEntry(at=now, event="concluded", decision=decision, limit=limit))
    return case


def _duration(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def _review_of(case: CaseRecord) -> CaseReview:
    if case.review is None:
        raise Conflict(f"case {case.case_id} has no review")
    return case.review
