"""Admission: the cheap own rules run before anything is looked up or paid for."""

from __future__ import annotations

from lendguard.policy.schema import Policy
from lendguard.stages.rules import apply_rules
from lendguard.stages.state import DecisionState


def run(state: DecisionState, policy: Policy) -> DecisionState:
    """Apply the admission rules (age, amount, term, employment, consents, region)."""
    apply_rules(state, "admission", policy.admission)
    return state
