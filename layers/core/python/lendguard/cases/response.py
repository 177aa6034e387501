"""The answer ``POST /v1/decisions`` gives a loan app, built from the final state or a case."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from lendguard.cases.record import CaseRecord
from lendguard.core.base_model import Model
from lendguard.decision.state import Decision, DecisionState, Offer, StageTrace
from lendguard.policy.borrower_reasons import BorrowerReason


class ReasonOut(Model):
    code: str
    message: str


class DecisionResponse(Model):
    case_id: str
    application_id: str
    status: str
    decision: Decision | None
    credit_limit: float | None
    apr: float | None
    offer: Offer | None
    reasons: list[ReasonOut]
    policy: dict[str, Any] | None
    model: dict[str, Any] | None
    score: float | None
    stages: list[StageTrace]
    vendor_cost: float
    execution_arn: str | None
    # What the borrower may be told, from the policy's borrower_reasons table (never the
    # internal reasons above, which name rules, lists and vendors).
    borrower_reasons: list[BorrowerReason] = Field(default_factory=list)
    # A re-decision of a FAILED case links both ways (POST /v1/cases/{case_id}/redecide).
    redecided_from: str | None = None
    redecided_as: str | None = None


def response_from_state(state: DecisionState) -> DecisionResponse:
    """The loan app's view of a finished flow."""
    score = state.score
    return DecisionResponse(
        case_id=state.case_id,
        application_id=state.application["application_id"],
        status="PENDING_REVIEW" if state.decision == "REVIEW" else "DECIDED",
        decision=state.decision,
        credit_limit=state.offer.credit_limit if state.offer else None,
        apr=state.offer.apr if state.offer else None,
        offer=state.offer,
        reasons=[ReasonOut(code=r.code, message=r.message) for r in state.reasons],
        policy=state.policy,
        model={"id": score.model_id, "version": score.model_version} if score else None,
        score=score.final_points if score else None,
        stages=state.trace.stages,
        vendor_cost=state.vendor_cost,
        execution_arn=state.execution_arn,
    )


def response_from_case(case: CaseRecord) -> DecisionResponse:
    """The same view rebuilt from a stored case (replays and look-ups)."""
    return DecisionResponse(
        case_id=case.case_id,
        application_id=case.application_id,
        status=case.status,
        decision=case.decision,
        credit_limit=case.offer.credit_limit if case.offer else None,
        apr=case.offer.apr if case.offer else None,
        offer=case.offer,
        reasons=[ReasonOut(code=r.code, message=r.message) for r in case.reasons],
        policy=case.policy,
        model=case.model,
        score=case.score.final_points if case.score else None,
        stages=case.trace.stages if case.trace else [],
        vendor_cost=case.vendor_cost,
        execution_arn=case.execution_arn,
        redecided_from=case.redecided_from,
        redecided_as=case.redecided_as,
    )
