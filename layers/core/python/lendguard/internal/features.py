"""Precomputed customer features: rows of the feature table, their freshness, their facts.

The ``customer_features`` job (:mod:`lendguard.internal.feature_job`) writes one row per hashed
ID number with the time it computed it, and a run marker with the time of the whole run. Online,
the InternalData stage reads the customer's row and the marker in one request:

- the job has not run within ``features_max_age_hours`` (no marker, or an old one), or the row is
  older than that: the features are **stale**: facts missing, ``features_on_missing`` applies;
- the job ran in time and has no row for the customer: a customer with no history, whose
  features are all 0 (not missing: the job looked and found nothing);
- otherwise the row's values.

``customer.features_fresh`` and ``customer.feature_age_hours`` say which it was.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from lendguard.core.base_model import Model
from lendguard.core.facts import CUSTOMER_FEATURE_FIELDS
from lendguard.outcomes.snapshot import LoanSnapshot, months_on_book


class FeatureRow(Model):
    """One customer's precomputed features (keyed by the hashed ID number)."""

    customer: str = Field(min_length=1)
    computed_at: datetime
    values: dict[str, float] = Field(default_factory=dict)


class FeatureRead(Model):
    """What one online read found: the customer's row (if any) and when the job last ran."""

    row: FeatureRow | None = None
    run_at: datetime | None = None


def age_hours(then: datetime, now: datetime) -> float:
    return round(max((now - then).total_seconds(), 0.0) / 3600, 3)


def feature_facts(
    read: FeatureRead | None, now: datetime, max_age_hours: float
) -> dict[str, float | bool | None]:
    """``customer.*`` facts; ``customer.features_fresh`` False (the rest missing) when stale or unread."""
    missing: dict[str, float | bool | None] = {f"customer.{n}": None for n in CUSTOMER_FEATURE_FIELDS}
    stale = {"customer.features_fresh": False, "customer.feature_age_hours": None, **missing}
    if read is None or read.run_at is None or age_hours(read.run_at, now) > max_age_hours:
        return stale
    if read.row is None:
        return {
            "customer.features_fresh": True,
            "customer.feature_age_hours": age_hours(read.run_at, now),
            **{f"customer.{n}": 0 for n in CUSTOMER_FEATURE_FIELDS},
        }
    age = age_hours(read.row.computed_at, now)
    if age > max_age_hours:
        return {**stale, "customer.feature_age_hours": age}
    return {
        "customer.features_fresh": True,
        "customer.feature_age_hours": age,
        **{f"customer.{n}": read.row.values.get(n) for n in CUSTOMER_FEATURE_FIELDS},
    }


def compute_row(
    customer: str, cases: list[tuple[str, str]], loans: list[LoanSnapshot], computed_at: datetime
) -> FeatureRow:
    """One customer's features from their cases (``(case id, decision)``) and loan snapshots."""
    drawn = [s for s in loans if s.status != "NOT_DRAWN"]
    first = min((s.drawn_on for s in drawn if s.drawn_on is not None), default=None)
    return FeatureRow(
        customer=customer,
        computed_at=computed_at,
        values={
            "lifetime_cases": len(cases),
            "lifetime_rejects": sum(decision == "REJECT" for _, decision in cases),
            "loans_drawn": len(drawn),
            "total_drawn": float(sum(s.principal_drawn for s in drawn)),
            "total_repaid": float(sum(s.repaid for s in drawn)),
            "max_dpd_ever": max((s.max_days_past_due for s in drawn), default=0),
            "months_since_first_loan": months_on_book(first, computed_at.date()) if first else 0,
        },
    )
