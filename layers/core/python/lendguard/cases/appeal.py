"""Appeals (PIPL Art. 24): a borrower refused by automated means asks for a human review.

``POST /v1/cases/{case_id}/appeal`` opens a new case in PENDING_REVIEW linked both ways to the
refused one (``appeal_of`` / ``appealed_as``), and starts the review workflow for it: reviewers
see and answer it like any other review case. A case is appealed once; only a case the engine
rejected can be.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from lendguard.cases import review
from lendguard.cases.record import CaseRecord
from lendguard.core.base_model import Model
from lendguard.core.errors import Conflict
from lendguard.store import artifacts, cases, reviews


class AppealRequest(Model):
    """What the borrower says and where it came from (the loan app relays it)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    reason: Annotated[str, Field(min_length=5, max_length=1000)]
    channel: Literal["app", "web", "h5", "partner", "phone"] = "app"


def appeal(case_id: str, request: AppealRequest, new_case_id: str, now: datetime | None = None) -> CaseRecord:
    """Open the review case of an appeal and start its review workflow; return it."""
    at = now or datetime.now(UTC)
    old = cases.get_case(case_id)
    if old.automated_decision != "REJECT" or old.status != "DECIDED":
        raise Conflict(
            f"case {case_id} is {old.status} {old.decision or ''}; only an automated REJECT can be appealed"
        )
    if old.appealed_as:
        raise Conflict(f"case {case_id} was already appealed as {old.appealed_as}")
    pinned = old.policy or {}
    settings = artifacts.get_policy(str(pinned.get("id")), int(pinned.get("version", 0))).review
    cases.claim_link(case_id, "appealed_as", new_case_id, require_status="DECIDED")
    opened = old.model_copy(
        update={
            "case_id": new_case_id, "status": "PENDING_REVIEW", "decision": "REVIEW", "created_at": at,
            "decided_at": at, "appeal_of": case_id, "appealed_as": None, "version": 1,
            "appeal": {"reason": request.reason, "channel": request.channel, "at": at.isoformat()},
            "review": review.open_review(
                settings, reviews.execution_arn(reviews.review_state_machine_arn(), reviews.execution_name(new_case_id))
            ),
            "execution_arn": None, "redecided_as": None, "redecided_from": None, "redecided_by": None,
        },
        deep=True,
    )  # fmt: skip
    cases.put_case(opened, first_write=True)
    reviews.start_review(new_case_id, {"case_id": new_case_id, "timeout_seconds": settings.timeout_seconds})
    return opened
