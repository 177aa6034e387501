"""The policy's loan-book sections: ``in_loan`` (nightly limits and re-loans) and ``post_loan``
(collections and contact compliance).

Rules are the pre-loan rules' kind (same expression language, ``params`` apart from the
expression, switches, ``mandatory``), with the book's own actions. They read the facts of
:mod:`lendguard.core.book_facts` (``account.*``, ``score.*``, ``offer.*``, ``contact.*``); the loader
type-checks them like every other rule. Both sections have defaults, so a policy without them
loads, and the defaults are conservative: the contact rules below (quiet hours 21:00-08:00
Asia/Shanghai, a daily cap per borrower, no third party beyond the borrower's own emergency
contact) are data, so compliance changes them without a release.

In-loan actions, one per account, by precedence: ``freeze`` > ``limit_down`` > ``unfreeze`` >
``limit_up`` > ``reloan_eligible`` (else none). Post-loan: the first ``segments`` rule that hits
gives the collection segment; ``complaint_rules`` that hit are the account's complaint-risk
flags; any ``contact_rules`` hit means no contact now.
"""

from __future__ import annotations

# Imported by lendguard.policy.schema once Rule and ModelRef exist (before Policy): no cycle.
from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from lendguard.core.base_model import Model
from lendguard.models.points import PointsScale
from lendguard.policy.schema import ModelRef, Rule

InLoanAction = Literal["freeze", "limit_down", "unfreeze", "limit_up", "reloan_eligible"]
IN_LOAN_PRECEDENCE: tuple[str, ...] = ("freeze", "limit_down", "unfreeze", "limit_up", "reloan_eligible")
Segment = Literal["write_off_review", "field", "call", "early_reminder"]


class _Model(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InLoanRule(Rule):
    """An in-loan rule: when it hits, the account qualifies for ``action``."""

    action: InLoanAction  # type: ignore[assignment]


class SegmentRule(Rule):
    """A collection segment: the first that hits places the account."""

    action: Segment  # type: ignore[assignment]


class ComplaintRule(Rule):
    """A complaint-risk flag (its id is the flag)."""

    action: Literal["flag"]  # type: ignore[assignment]


class ContactRule(Rule):
    """A contact limit: when it hits, the account is not contacted now."""

    action: Literal["block_contact"]  # type: ignore[assignment]


def _unique(rules: list[Rule], section: str) -> None:
    ids = [r.id for r in rules]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"{section}: duplicate rule ids {dupes}")


class LimitUpTable(_Model):
    """A raise: the limit times the behaviour band's multiplier, capped by ``max_increase`` and the
    product maximum, rounded down; never within ``cooldown_days`` of the last change."""

    score_bands: list[float] = Field(
        default=[600.0, 640.0, 680.0], min_length=1, description="Lower edges (points)"
    )
    multipliers: list[float] = Field(default=[1.1, 1.2, 1.3], min_length=1)
    max_increase: float = Field(default=5000, gt=0, description="Largest raise at one time")
    cooldown_days: int = Field(default=90, ge=0, le=3650, description="Days since the last limit change")
    rounding: float = Field(default=100, gt=0)

    @model_validator(mode="after")
    def _check(self) -> LimitUpTable:
        if len(self.multipliers) != len(self.score_bands):
            raise ValueError("in_loan.limit_up: one multiplier per score band")
        if self.score_bands != sorted(self.score_bands):
            raise ValueError("in_loan.limit_up.score_bands must ascend")
        if any(m < 1 for m in self.multipliers):
            raise ValueError("in_loan.limit_up.multipliers must be at least 1")
        return self


class LimitDown(_Model):
    """A cut: the limit times ``factor``, never below what is owed, rounded up to ``rounding``."""

    factor: float = Field(default=0.5, gt=0, lt=1)
    rounding: float = Field(default=100, gt=0)


class Reloan(_Model):
    """A pre-approved repeat loan: a share of the limit (up to the product maximum) at the
    account's APR less a discount (not below ``apr_floor``), within the cost cap."""

    limit_share: float = Field(default=1.0, gt=0, le=2)
    apr_discount: float = Field(default=0.02, ge=0, lt=0.36)
    apr_floor: float = Field(default=0.1, gt=0, le=0.36)
    validity_days: int = Field(default=30, ge=1, le=90)


def _in_loan_rules() -> list[InLoanRule]:
    return [
        InLoanRule(id="IL_FREEZE_DPD", description="Freeze the line of an account well past due",
                   expression='account.status == "ACTIVE" and account.days_past_due >= freeze_dpd',
                   params={"freeze_dpd": 30}, action="freeze", reason="Account past due", mandatory=True),
        InLoanRule(id="IL_LIMIT_DOWN_RISK", description="Cut the limit on recent delinquency or a weak score",
                   expression='account.status == "ACTIVE" and account.balance < account.credit_limit and '
                              "(account.max_dpd_3m >= down_dpd or score.behaviour < down_score)",
                   params={"down_dpd": 15, "down_score": 540}, action="limit_down",
                   reason="Recent delinquency or weak behaviour score"),
        InLoanRule(id="IL_UNFREEZE_CURED", description="Unfreeze a cured account that pays again",
                   expression='account.status == "FROZEN" and account.days_past_due == 0 and '
                              "account.payment_ratio_3m >= min_ratio and score.behaviour >= min_score",
                   params={"min_ratio": 0.9, "min_score": 600}, action="unfreeze", reason="Arrears cured"),
        InLoanRule(id="IL_LIMIT_UP_GOOD", description="Raise the limit of a seasoned, clean, used line",
                   expression='account.status == "ACTIVE" and account.mode == "revolving" and '
                              "account.months_on_book >= min_mob and account.max_dpd_12m == 0 and "
                              "account.utilisation >= min_util and score.behaviour >= min_score and "
                              "offer.increase > 0",
                   params={"min_mob": 6, "min_util": 0.5, "min_score": 600}, action="limit_up",
                   reason="Good repayment behaviour"),
        InLoanRule(id="IL_RELOAN_REPAID", description="Pre-approve a repeat loan after clean repayment",
                   expression='account.status in ["ACTIVE", "CLOSED"] and account.loans_repaid >= min_repaid and '
                              "account.max_dpd_12m == 0 and account.days_past_due == 0 and score.behaviour >= min_score",
                   params={"min_repaid": 1, "min_score": 620}, action="reloan_eligible",
                   reason="Repaid on time"),
    ]  # fmt: skip


class InLoanSection(_Model):
    """Nightly in-loan review: behaviour score, rules, and the limit and re-loan tables."""

    model: ModelRef | None = Field(
        default_factory=lambda: ModelRef(id="behaviour-xgb", version=1),
        description="Behaviour model (PD of 30+ dpd within 6 months); None: no score",
    )
    scale: PointsScale = PointsScale()
    rules: list[InLoanRule] = Field(default_factory=_in_loan_rules)
    limit_up: LimitUpTable = LimitUpTable()
    limit_down: LimitDown = LimitDown()
    reloan: Reloan = Reloan()

    @model_validator(mode="after")
    def _check(self) -> InLoanSection:
        _unique(list(self.rules), "in_loan.rules")
        return self


def _segments() -> list[SegmentRule]:
    return [
        SegmentRule(id="PL_SEG_WRITE_OFF", description="Long overdue: review for write-off",
                    expression="account.days_past_due >= write_off_dpd", params={"write_off_dpd": 90},
                    action="write_off_review", reason="90+ days past due"),
        SegmentRule(id="PL_SEG_FIELD", description="Late stage: field or outsourced collection",
                    expression="account.days_past_due >= field_dpd", params={"field_dpd": 31},
                    action="field", reason="31-90 days past due"),
        SegmentRule(id="PL_SEG_CALL", description="Early stage overdue, or unlikely to pay: a call",
                    expression="account.days_past_due >= call_dpd or "
                               "(account.days_past_due > 0 and score.repay_prob < call_below)",
                    params={"call_dpd": 8, "call_below": 0.5}, action="call", reason="Overdue, call"),
        SegmentRule(id="PL_SEG_REMINDER", description="Just overdue, or at risk after recent arrears: a reminder",
                    expression="account.days_past_due > 0 or account.arrears > 0 or "
                               "(account.balance > 0 and account.max_dpd_3m > 0)",
                    action="early_reminder", reason="Payment reminder"),
    ]  # fmt: skip


def _complaint_rules() -> list[ComplaintRule]:
    return [
        ComplaintRule(id="PL_PRIOR_COMPLAINTS", description="Complained in the last 12 months",
                      expression="account.complaints_12m >= min_complaints", params={"min_complaints": 1},
                      action="flag", reason="Prior complaints"),
        ComplaintRule(id="PL_VULNERABLE", description="Vulnerable customer: treat with care",
                      expression="account.vulnerable", action="flag", reason="Vulnerable customer"),
        ComplaintRule(id="PL_DISPUTED", description="The debt is disputed", expression="account.disputed",
                      action="flag", reason="Disputed debt"),
        ComplaintRule(id="PL_CONTACT_FREQUENCY", description="Contacted often today",
                      expression="account.contacts_today >= warn_contacts", params={"warn_contacts": 2},
                      action="flag", reason="Frequent contact"),
    ]  # fmt: skip


def _contact_rules() -> list[ContactRule]:
    return [
        ContactRule(id="PL_QUIET_HOURS", description="No contact 21:00-08:00 Asia/Shanghai",
                    expression="contact.hour >= quiet_from or contact.hour < quiet_until",
                    params={"quiet_from": 21, "quiet_until": 8}, action="block_contact",
                    reason="Quiet hours", mandatory=True),
        ContactRule(id="PL_DAILY_CAP", description="At most max_per_day contacts per borrower a day",
                    expression="account.contacts_today >= max_per_day", params={"max_per_day": 3},
                    action="block_contact", reason="Daily contact cap reached", mandatory=True),
        ContactRule(id="PL_NO_THIRD_PARTIES", description="Only the borrower or their own emergency contact",
                    expression="contact.party not in allowed_parties",
                    params={"allowed_parties": ["borrower", "emergency_contact"]}, action="block_contact",
                    reason="Third-party contact not allowed", mandatory=True),
        ContactRule(id="PL_DISPUTE_HOLD", description="No collection contact while the debt is disputed",
                    expression="account.disputed", action="block_contact", reason="Dispute open"),
    ]  # fmt: skip


class PostLoanSection(_Model):
    """Daily post-loan review: roll-rate score, segments, complaint flags and contact limits."""

    model: ModelRef | None = Field(
        default_factory=lambda: ModelRef(id="rollrate-xgb", version=1),
        description="Roll-rate model (PD of rolling to 30+ dpd); repay_prob = 1 - PD",
    )
    segments: list[SegmentRule] = Field(default_factory=_segments)
    complaint_rules: list[ComplaintRule] = Field(default_factory=_complaint_rules)
    contact_rules: list[ContactRule] = Field(default_factory=_contact_rules)
    contact_hour: int = Field(default=10, ge=0, le=23, description="Local hour the queue is worked from")
    contact_party: Literal["borrower", "emergency_contact", "third_party"] = "borrower"

    @model_validator(mode="after")
    def _check(self) -> PostLoanSection:
        _unique([*self.segments, *self.complaint_rules, *self.contact_rules], "post_loan")
        return self
