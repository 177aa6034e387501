"""The case record: what was decided for an application, why, and how."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from lendguard.hashing import mask
from lendguard.stages.state import Decision, DecisionState, Offer, Reason, Score, Subject, Trace

CaseStatus = Literal["DECIDED", "PENDING_REVIEW", "FAILED"]


class CaseRecord(BaseModel):
    """Stored in the cases table; personal identifiers only masked or hashed."""

    case_id: str
    application_id: str
    status: CaseStatus
    decision: Decision | None = None
    created_at: datetime
    decided_at: datetime | None = None
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
    execution_arn: str | None = None
    error: dict[str, Any] | None = None


def masked_applicant(application: dict[str, Any]) -> dict[str, Any]:
    """The applicant as a reviewer may see it: no clear ID number, phone or device id."""
    applicant = application.get("applicant") or {}
    name = str(applicant.get("name") or "")
    return {
        "name": (name[:1] + "*" * (len(name) - 1)) if name else None,
        "id_number": mask(str(applicant.get("id_number") or ""), 4, 2) or None,
        "phone": mask(str(applicant.get("phone") or "")) or None,
        "city": applicant.get("city"),
        "employment": applicant.get("employment"),
        "monthly_income": applicant.get("monthly_income"),
    }


def case_from_state(state: DecisionState, now: datetime | None = None) -> CaseRecord:
    """The record of a decided case."""
    app = state.application
    return CaseRecord(
        case_id=state.case_id,
        application_id=app["application_id"],
        status="PENDING_REVIEW" if state.decision == "REVIEW" else "DECIDED",
        decision=state.decision,
        created_at=state.received_at,
        decided_at=now or datetime.now(UTC),
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
        execution_arn=state.execution_arn,
    )


def failed_case(event: dict[str, Any], now: datetime | None = None) -> CaseRecord:
    """The record of a case whose flow failed, from whatever state the failing stage had."""
    error = event.get("error") or {}
    request = event.get("request") if "request" in event else event
    application = (request or {}).get("application") or event.get("application") or {}
    received = (request or {}).get("received_at") or event.get("received_at")
    when = now or datetime.now(UTC)
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
        trace=Trace.model_validate(event["trace"]) if isinstance(event.get("trace"), dict) else None,
        execution_arn=event.get("execution_arn"),
        error={"error": error.get("Error"), "cause": _cause(error.get("Cause"))},
    )


def _cause(cause: Any) -> Any:
    # Lambda errors arrive as a JSON string {errorMessage, errorType, stackTrace}: keep the useful part.
    import json

    if isinstance(cause, str):
        try:
            data = json.loads(cause)
        except ValueError:
            return cause[:2000]
        if isinstance(data, dict):
            return {k: data.get(k) for k in ("errorType", "errorMessage") if k in data}
    return cause
