"""The case record: what was decided for an application, why, and how."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from pydantic import Field

from lendguard.core.base_model import Model
from lendguard.core.hashing import mask
from lendguard.decision.state import Decision, DecisionState, Offer, Reason, Score, Subject, Trace

CaseStatus = Literal["DECIDED", "PENDING_REVIEW", "FAILED"]
CASE_STATUSES: tuple[str, ...] = get_args(CaseStatus)
DECISIONS: tuple[str, ...] = get_args(Decision)
ReviewLevel = Literal["initial", "final"]
ReviewOutcome = Literal["APPROVE", "REJECT"]


class PendingReviewTask(Model):
    """The review task a reviewer may answer now. Its Step Functions token is stored beside the
    record (never in it), so reading a case never hands out the power to answer for it."""

    level: ReviewLevel
    task_id: str = Field(description="Short hash of the task token: what an answer is checked against")
    opened_at: datetime
    expires_at: datetime


class ReviewEntry(Model):
    """One event of a case's review: a task opened, an answer, a timeout, the conclusion."""

    at: datetime
    event: Literal["task_opened", "answered", "answer_not_applied", "timed_out", "concluded", "failed"]
    level: ReviewLevel | None = None
    reviewer: str | None = None
    decision: ReviewOutcome | None = None
    limit: float | None = None
    note: str | None = None
    task_id: str | None = None
    detail: str | None = None


class CaseReview(Model):
    """Where a REVIEW case is in ``statemachines/review.asl.json`` and who did what."""

    status: Literal["WAITING", "CONCLUDED", "FAILED"] = "WAITING"
    execution_arn: str | None = None
    timeout_seconds: int
    on_timeout: ReviewOutcome
    final_review_above: float | None = None
    pending: PendingReviewTask | None = None
    history: list[ReviewEntry] = Field(default_factory=list)
    outcome: ReviewOutcome | None = None
    concluded_at: datetime | None = None


class CaseRecord(Model):
    """Stored in the cases table; personal identifiers only masked or hashed."""

    case_id: str
    application_id: str
    status: CaseStatus
    decision: Decision | None = None
    # What the engine decided before any review (REVIEW stays here when a reviewer concludes).
    automated_decision: Decision | None = None
    created_at: datetime
    decided_at: datetime | None = None
    submitted_at: datetime | None = None
    policy: dict[str, Any] | None = None
    model: dict[str, Any] | None = None
    product: str | None = None
    requested_amount: float | None = None
    term_months: int | None = None
    applicant: dict[str, Any] = Field(default_factory=dict)
    subject: Subject | None = None
    offer: Offer | None = None
    reasons: list[Reason] = Field(default_factory=list)
    score: Score | None = None
    vendor_cost: float = 0.0
    halted_at: str | None = None
    trace: Trace | None = None
    # Numeric and yes/no facts the decision saw (no identifiers): what the daily monitor reads.
    facts_seen: dict[str, float | bool | None] = Field(default_factory=dict)
    execution_arn: str | None = None
    error: dict[str, Any] | None = None
    review: CaseReview | None = None
    # The case's archive record (lendguard.store.archive): the application, sealed, lives only there.
    application_ref: str | None = None
    redecided_from: str | None = None
    redecided_as: str | None = None
    redecided_by: str | None = None
    # Challenger versions decided in shadow after the answer (lendguard.lifecycle.shadows).
    shadows: list[dict[str, Any]] = Field(default_factory=list)
    # An appeal (PIPL Art. 24) of an automated REJECT: the review case it opened, and back.
    appealed_as: str | None = None
    appeal_of: str | None = None
    appeal: dict[str, Any] | None = None
    # The decision's retention: the cases table's TTL (expires_at) is written from it.
    retain_until: datetime | None = None
    # Erased on request (lendguard privacy erase): when; the masked applicant is gone.
    erased_at: datetime | None = None
    # Optimistic concurrency: every conditional write expects the version it read.
    version: int = 1


def masked_applicant(application: dict[str, Any]) -> dict[str, Any]:
    """The applicant as a reviewer may see it: no clear ID number, phone, card or device id."""
    applicant = application.get("applicant") or {}
    name = str(applicant.get("name") or "")
    return {
        "name": (name[:1] + "*" * (len(name) - 1)) if name else None,
        "id_number": mask(str(applicant.get("id_number") or ""), 4, 2) or None,
        "phone": mask(str(applicant.get("phone") or "")) or None,
        "bank_card": mask(str(applicant.get("bank_card") or ""), 0, 4) or None,
        "city": applicant.get("city"),
        "employment": applicant.get("employment"),
        "monthly_income": applicant.get("monthly_income"),
    }


def facts_seen(state: DecisionState) -> dict[str, float | bool | None]:
    """The numeric and yes/no facts of a case (text facts and identifiers are left out)."""
    out: dict[str, float | bool | None] = {}
    for name, value in state.facts.items():
        if value is None or isinstance(value, bool):
            out[name] = value
        elif isinstance(value, int | float):
            out[name] = float(value)
    return out


def case_from_state(state: DecisionState, now: datetime | None = None) -> CaseRecord:
    """The record of a decided case."""
    app = state.application
    return CaseRecord(
        case_id=state.case_id,
        application_id=app["application_id"],
        status="PENDING_REVIEW" if state.decision == "REVIEW" else "DECIDED",
        decision=state.decision,
        automated_decision=state.decision,
        created_at=state.received_at,
        decided_at=now or datetime.now(UTC),
        submitted_at=_datetime(app.get("submitted_at")),
        policy=state.policy,
        model={"id": state.score.model_id, "version": state.score.model_version} if state.score else None,
        product=app.get("product"),
        requested_amount=app.get("requested_amount"),
        term_months=app.get("term_months"),
        applicant=masked_applicant(app),
        subject=state.subject,
        offer=state.offer,
        reasons=state.reasons,
        score=state.score,
        vendor_cost=state.vendor_cost,
        halted_at=state.halted_at,
        trace=state.trace,
        facts_seen=facts_seen(state),
        execution_arn=state.execution_arn,
    )


def failed_case(event: dict[str, Any], now: datetime | None = None) -> CaseRecord:
    """The record of a case whose flow failed, from whatever state the failing stage had."""
    error = event.get("error") or {}
    request = event.get("request") if "request" in event else event
    application = (request or {}).get("application") or event.get("application") or {}
    received = (request or {}).get("received_at") or event.get("received_at")
    when = now or datetime.now(UTC)
    trace = Trace.model_validate(event["trace"]) if isinstance(event.get("trace"), dict) else None
    return CaseRecord(
        case_id=str(event.get("case_id") or (request or {}).get("case_id") or "unknown"),
        application_id=str(application.get("application_id") or "unknown"),
        status="FAILED",
        created_at=datetime.fromisoformat(received) if isinstance(received, str) else when,
        decided_at=when,
        policy=event.get("policy"),
        product=application.get("product"),
        requested_amount=application.get("requested_amount"),
        term_months=application.get("term_months"),
        applicant=masked_applicant(application),
        submitted_at=_datetime(application.get("submitted_at")),
        trace=trace,
        vendor_cost=billed_cost(event.get("vendor_cost"), trace),
        execution_arn=event.get("execution_arn"),
        error={"error": error.get("Error"), "cause": _cause(error.get("Cause"))},
    )


def billed_cost(state_cost: Any, trace: Trace | None) -> float:
    """What the vendors billed before the failure: the state's running total, or (for a state
    that lost it) the sum of the billed calls in its trace."""
    if isinstance(state_cost, int | float) and not isinstance(state_cost, bool) and state_cost > 0:
        return round(float(state_cost), 4)
    if trace is None:
        return 0.0
    return round(sum(v.cost for v in trace.vendors), 4)


def _datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


# What an exception message may quote of the state: pydantic's "input_value=...", and runs of
# digits as long as a phone, card or ID number.
_QUOTED_INPUT = re.compile(r"input_value=.*?(?=, input_type=|\]|$)", re.DOTALL)
_LONG_DIGITS = re.compile(r"\d[\d\s-]{5,}\d[Xx]?")


def scrub(message: str) -> str:
    """An error message without anything it quoted of the application."""
    return _LONG_DIGITS.sub("[redacted]", _QUOTED_INPUT.sub("input_value=[redacted]", message))


def _cause(cause: Any) -> Any:
    # Lambda errors arrive as a JSON string {errorMessage, errorType, stackTrace}: keep the useful
    # part, scrubbed (a message may quote the state, which holds the application).
    import json

    if isinstance(cause, str):
        try:
            data = json.loads(cause)
        except ValueError:
            return scrub(cause[:2000])
        if isinstance(data, dict):
            out = {k: data.get(k) for k in ("errorType", "errorMessage") if k in data}
            if isinstance(out.get("errorMessage"), str):
                out["errorMessage"] = scrub(out["errorMessage"][:2000])
            return out
    return cause


class Timings(Model):
    """How long the case took: the automated flow stage by stage, then the review."""

    received_at: datetime
    decided_at: datetime | None = None
    decision_ms: float | None = Field(default=None, description="Received to the automated decision")
    stages_ms: dict[str, float] = Field(default_factory=dict)
    review_concluded_at: datetime | None = None
    review_ms: float | None = Field(default=None, description="Automated decision to the review's conclusion")


class CaseView(CaseRecord):
    """``GET /v1/cases/{case_id}``: the record, its timings, and the versions that decided it."""

    timings: Timings


def case_view(case: CaseRecord) -> CaseView:
    """The record as operations read it (the review task's token is never part of a record)."""

    def ms(start: datetime | None, end: datetime | None) -> float | None:
        return round((end - start).total_seconds() * 1000, 3) if start and end else None

    concluded = case.review.concluded_at if case.review else None
    timings = Timings(
        received_at=case.created_at,
        decided_at=case.decided_at,
        decision_ms=ms(case.created_at, case.decided_at),
        stages_ms={s.stage: s.elapsed_ms for s in case.trace.stages} if case.trace else {},
        review_concluded_at=concluded,
        review_ms=ms(case.decided_at, concluded),
    )
    return CaseView(**case.model_dump(), timings=timings)
