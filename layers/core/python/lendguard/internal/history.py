"""The customer's relationship with us: previous cases (by hashed ID number) and their loans.

Finalize records each case as one member of a per-day set keyed by the hashed ID number
(``lendguard.store.customer_history``): ``<received_at>|<case id>|<decision>|<reason codes>``.
A set member is idempotent, so a retried finalize cannot count a case twice. Loans come from the
loan outcomes of the previous approved / reviewed cases (their events, snapshots derived as of
today), through a reader the loan book can later feed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from pydantic import Field

from lendguard.core.base_model import Model
from lendguard.decision.state import DecisionState
from lendguard.outcomes.snapshot import LoanSnapshot

_SEP = "|"


class PastCase(Model):
    """One earlier decided case of the same ID number."""

    case_id: str
    received_at: datetime
    decision: str
    reasons: list[str] = Field(default_factory=list)

    def member(self) -> str:
        return _SEP.join((self.received_at.isoformat(), self.case_id, self.decision, ",".join(self.reasons)))

    @classmethod
    def of(cls, state: DecisionState) -> PastCase:
        """A decided case as its ID number's history keeps it: when, the decision, the reason codes."""
        return cls(
            case_id=state.case_id,
            received_at=state.received_at,
            decision=state.decision or "REVIEW",
            reasons=[r.code for r in state.reasons],
        )

    @classmethod
    def from_member(cls, member: str) -> PastCase:
        received, case_id, decision, reasons = member.split(_SEP, 3)
        return cls(
            case_id=case_id,
            received_at=datetime.fromisoformat(received),
            decision=decision,
            reasons=[r for r in reasons.split(",") if r],
        )


def previous(cases: Iterable[PastCase], case_id: str, before: datetime) -> list[PastCase]:
    """Cases other than ``case_id`` received before ``before``, latest first."""
    earlier = [c for c in cases if c.case_id != case_id and c.received_at < before]
    return sorted(earlier, key=lambda c: (c.received_at, c.case_id), reverse=True)


def may_have_loans(cases: Iterable[PastCase], limit: int) -> list[str]:
    """The latest ``limit`` cases that were not rejected outright (a review may have approved)."""
    return [c.case_id for c in cases if c.decision != "REJECT"][:limit]


def history_facts(cases: list[PastCase], today: date) -> dict[str, int | str | None]:
    """``internal.previous_*``, ``last_reject_reason`` and ``days_since_last_reject``
    (``cases`` latest first, from :func:`previous`)."""
    rejects = [c for c in cases if c.decision == "REJECT"]
    last = rejects[0] if rejects else None
    return {
        "internal.previous_cases": len(cases),
        "internal.previous_approvals": sum(c.decision == "APPROVE" for c in cases),
        "internal.previous_rejects": len(rejects),
        "internal.last_reject_reason": (last.reasons[0] if last.reasons else None) if last else None,
        "internal.days_since_last_reject": (today - last.received_at.date()).days if last else None,
    }


def loan_facts(loans: list[LoanSnapshot]) -> dict[str, int | bool]:
    """``internal.loans*``, ``max_days_past_due`` and ``repeat_customer`` from loan snapshots.

    Good standing: drawn, never charged off, and 0 days past due today (current or settled).
    """
    drawn = [s for s in loans if s.status != "NOT_DRAWN"]
    return {
        "internal.loans": len(drawn),
        "internal.loans_good_standing": sum(
            s.status in ("CURRENT", "SETTLED") and s.days_past_due == 0 for s in drawn
        ),
        "internal.loans_overdue": sum(s.status == "OVERDUE" for s in drawn),
        "internal.loans_repaid": sum(s.status == "SETTLED" for s in drawn),
        "internal.loans_charged_off": sum(s.status == "CHARGED_OFF" for s in drawn),
        "internal.max_days_past_due": max((s.days_past_due for s in drawn), default=0),
        "internal.repeat_customer": bool(drawn),
    }
