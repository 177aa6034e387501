"""The state carried from stage to stage: the application, facts, outcome and trace.

It crosses Step Functions between every Lambda, so it holds only small values: raw vendor
payloads are archived to S3 and referenced here by key (state payloads are capped at 256 KB).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field

from lendguard.core.base_model import Model
from lendguard.core.cost import CostOfCredit
from lendguard.core.schedule import RepaymentMethod, Schedule

Decision = Literal["APPROVE", "REVIEW", "REJECT"]
FactValue = float | int | str | bool | None


class Reason(Model):
    model_config = ConfigDict(frozen=True)

    code: str
    message: str
    source: Literal["rule", "model", "cutoff", "limit"] = "rule"


class RuleTrace(Model):
    """One rule as evaluated: also recorded when it did not hit, with what it saw."""

    rule_id: str
    stage: str
    action: str
    params: dict[str, Any]
    observed: dict[str, FactValue]
    outcome: Literal["hit", "no_hit", "missing", "disabled", "skipped_white"]
    effect: Literal["none", "reject", "review", "flag", "score"] = "none"
    on_missing: str | None = None
    points: float | None = None


class VendorCall(Model):
    """One vendor as called (or not) for a case: where the answer came from, what it cost, why not."""

    vendor: str
    group: str
    service: str
    status: Literal["ok", "error", "skipped"]
    cache_hit: bool = False
    latency_ms: float = 0.0
    cost: float = 0.0
    billed: bool = False
    payload_ref: str | None = None
    detail: str | None = None
    # Added with the provider framework; defaults keep older traces readable.
    attempts: int = 0  # requests actually sent to the vendor (0 for cache hits, replays, skips)
    replayed: bool = False  # same application_id seen before: its first answer reused, not paid again
    source_case_id: str | None = None  # the case whose answer a cache hit or replay reused
    error_type: str | None = None  # timeout, http_5xx, http_4xx, malformed, unavailable, circuit_open, ...


class StageTrace(Model):
    stage: str
    elapsed_ms: float
    outcome: Literal["continue", "reject", "skipped"] = "continue"
    detail: str | None = None


class Trace(Model):
    stages: list[StageTrace] = Field(default_factory=list)
    rules: list[RuleTrace] = Field(default_factory=list)
    vendors: list[VendorCall] = Field(default_factory=list)
    list_hits: list[dict[str, Any]] = Field(default_factory=list)


class Score(Model):
    model_id: str
    model_version: int
    pd: float
    points: float
    adjustment: float = 0.0
    final_points: float
    contributions: dict[str, float] = Field(default_factory=dict)
    missing_inputs: list[str] = Field(default_factory=list)
    reliable: bool = True
    shadow: list[dict[str, Any]] = Field(default_factory=list)


class Offer(Model):
    """What the lender offers: a limit, its price, how long it stands, and the repayment plan.

    ``schedule`` is the plan for drawing the whole limit on the decision date; it is built by
    :func:`lendguard.core.schedule.build_schedule`, the same function that schedules the loan when it
    is drawn, so the quote and the loan agree to the cent. Its amounts serialise as strings.
    """

    credit_limit: float
    apr: float
    term_months: int
    mode: Literal["revolving", "single_draw"]
    valid_until: datetime
    monthly_payment: float = Field(description="The first (for equal principal, the highest) instalment")
    # Defaults keep offers recorded before schedules existed readable.
    repayment_method: RepaymentMethod = "annuity"
    reusable: bool = Field(default=False, description="revolving: repaid principal may be drawn again")
    max_draws: int | None = Field(default=None, description="single_draw: 1; revolving: no count limit")
    limit_basis: str | None = Field(default=None, description="Which cap set the limit")
    limit_candidates: dict[str, float] = Field(
        default_factory=dict, description="Every cap considered (table, indebtedness, product, ...)"
    )
    schedule: Schedule | None = None
    cost: CostOfCredit | None = Field(
        default=None, description="Comprehensive annual cost (interest and fees, IRR-based), labelled"
    )
    apr_table: float | None = Field(
        default=None, description="The pricing table's APR when it was lowered to fit the cost cap"
    )


class Subject(Model):
    """Keyed hashes of the applicant's identifiers: what lists and caches are keyed by."""

    id_number: str
    phone: str
    device_id: str
    # Optional: cases recorded before IP lists existed have none; not every application
    # names a payout card.
    ip: str | None = None
    bank_card: str | None = None
    # The app's liveness session (its token, hashed): only applications with a ``kyc.liveness``.
    liveness_session: str | None = None


class DecisionState(Model):
    """Everything the flow knows about one case so far."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    application: dict[str, Any]
    received_at: datetime
    # The pinned version: ``id`` and ``version``, and when a routing chose it ``routing_revision``,
    # ``arm``, ``experiment`` and ``shadows`` (lendguard.policy.routing.Pin).
    policy: dict[str, Any]
    subject: Subject
    facts: dict[str, FactValue] = Field(default_factory=dict)
    halted: bool = False
    halted_at: str | None = None
    decision: Decision | None = None
    reasons: list[Reason] = Field(default_factory=list)
    review_reasons: list[Reason] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)
    score_adjustment: float = 0.0
    score: Score | None = None
    offer: Offer | None = None
    vendor_cost: float = 0.0
    trace: Trace = Field(default_factory=Trace)
    execution_arn: str | None = None
    error: dict[str, Any] | None = None

    def reject(self, stage: str, reason: Reason) -> None:
        """Mark the case rejected at ``stage``: the state machine ends the flow after it."""
        self.decision = "REJECT"
        self.halted = True
        self.halted_at = self.halted_at or stage
        if reason not in self.reasons:
            self.reasons.append(reason)
