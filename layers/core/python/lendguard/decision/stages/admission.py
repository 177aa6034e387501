"""Admission: the cheap own rules run before anything is looked up or paid for."""

from __future__ import annotations

from lendguard.decision.stages.rules import apply_rules
from lendguard.decision.state import DecisionState
from lendguard.policy.schema import Policy


def run(state: DecisionState, policy: Policy) -> DecisionState:
    """Apply the admission rules (age, amount, term, employment, consents, region)."""
    apply_rules(state, "admission", policy.admission)
    return state
