"""What the monitor reads of one case, and where it reads it from.

Feature values come from the case archive's derived part (:mod:`lendguard.cases.archive`): the
facts the decision actually saw, as the flow derived them. The rule trace (hits), vendor calls,
score and outcome come from the :class:`~lendguard.cases.record.CaseRecord`. A case whose derived
part is erased or expired still counts in every rate; it contributes no feature value. A source
only has to yield :class:`CaseView` rows per day.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from typing import Protocol

from pydantic import Field

from lendguard.cases.archive import DerivedPart
from lendguard.cases.record import CaseRecord
from lendguard.core.base_model import Model
from lendguard.monitoring.days import day_of
from lendguard.monitoring.delinquency import AccountOutcome
from lendguard.outcomes.events import LoanEvent

FeatureValue = float | bool | None


class VendorView(Model):
    """One vendor call of a case (skipped calls are left out)."""

    vendor: str
    error: bool
    timeout: bool = False
    empty: bool = False
    cache_hit: bool = False
    cost: float = 0.0


class CaseView(Model):
    """One decided case as the monitor sees it: no identifiers, no free text."""

    day: date
    arm: str | None = None
    outcome: str
    product: str | None = None
    score_pd: float | None = None
    score_points: float | None = None
    features: dict[str, FeatureValue] = Field(default_factory=dict)
    rules: dict[str, bool] = Field(default_factory=dict, description="rule id -> hit (evaluated rules only)")
    vendors: list[VendorView] = Field(default_factory=list)


class CaseSource(Protocol):
    """Where the monitor reads cases from (the case table and the case archive, a file, a test)."""

    def cases_between(self, first: date, last: date) -> Iterable[CaseView]:
        """Every case created on Shanghai days ``first`` to ``last`` inclusive."""
        ...


class OutcomeSource(Protocol):
    """Where the monitor reads repayment outcomes from: approved cases with their loan events."""

    def approved_between(self, first: date, last: date) -> Iterable[AccountOutcome]:
        """Every approved case created on Shanghai days ``first`` to ``last``, with its events."""
        ...


def outcome_of(case: CaseRecord, events: list[LoanEvent]) -> AccountOutcome:
    """An approved case as early delinquency reads it: its arm, its final points, its events."""
    arm = case.policy.get("arm") if case.policy and isinstance(case.policy.get("arm"), str) else None
    return AccountOutcome(arm=arm, points=case.score.final_points if case.score else None, events=events)


_EVALUATED = {"hit", "no_hit"}


def monitored_facts(facts: Mapping[str, object]) -> dict[str, FeatureValue]:
    """The numeric and yes/no facts (None: asked, nothing came back); text facts are left out."""
    out: dict[str, FeatureValue] = {}
    for name, value in facts.items():
        if value is None or isinstance(value, bool):
            out[name] = value
        elif isinstance(value, int | float):
            out[name] = float(value)
    return out


def view_of_case(case: CaseRecord, derived: DerivedPart | None) -> CaseView:
    """The monitor's view of a case: its record, with feature values from its archived facts
    (``derived``; None once erased or expired: no feature values)."""
    features = monitored_facts(derived.facts) if derived is not None else {}
    rules: dict[str, bool] = {}
    vendors: list[VendorView] = []
    if case.trace is not None:
        for rule in case.trace.rules:
            if rule.outcome in _EVALUATED and rule.rule_id not in rules:
                rules[rule.rule_id] = rule.outcome == "hit"
        for call in case.trace.vendors:
            if call.status == "skipped":
                continue
            own = [v for k, v in features.items() if k.startswith(f"{call.vendor}.")]
            vendors.append(
                VendorView(
                    vendor=call.vendor, error=call.status == "error", timeout=call.error_type == "timeout",
                    # an answer that carried no usable fact at all
                    empty=call.status == "ok" and bool(own) and all(v is None for v in own),
                    cache_hit=call.cache_hit, cost=call.cost,
                )
            )  # fmt: skip
    arm = None
    if case.policy and isinstance(case.policy.get("arm"), str):
        arm = case.policy["arm"]
    return CaseView(
        day=day_of(case.created_at),
        arm=arm,
        outcome=case.automated_decision or case.decision or case.status,
        product=case.product,
        score_pd=case.score.pd if case.score else None,
        score_points=case.score.points if case.score else None,
        features=features,
        rules=rules,
        vendors=vendors,
    )


class RecordSource:
    """A :class:`CaseSource` (and :class:`OutcomeSource`) over case records already read, their
    archived derived parts (case id → part; a case absent or None has no feature values) and
    their loan events (case id → events): a file, a test."""

    def __init__(
        self,
        records: Iterable[CaseRecord],
        derived: Mapping[str, DerivedPart | None],
        events: Mapping[str, list[LoanEvent]] | None = None,
    ) -> None:
        records = list(records)
        self.views = [view_of_case(r, derived.get(r.case_id)) for r in records]
        self.approved = [
            (day_of(r.created_at), outcome_of(r, list((events or {}).get(r.case_id, []))))
            for r in records
            if r.decision == "APPROVE"
        ]

    def approved_between(self, first: date, last: date) -> Iterator[AccountOutcome]:
        return (outcome for day, outcome in self.approved if first <= day <= last)

    def cases_between(self, first: date, last: date) -> Iterator[CaseView]:
        return (v for v in self.views if first <= v.day <= last)
