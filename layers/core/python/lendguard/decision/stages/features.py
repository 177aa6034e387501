"""Features: derived values computed from the facts by the policy's formulas, in order."""

from __future__ import annotations

from lendguard.decision.state import DecisionState, FactValue
from lendguard.policy.schema import Policy


def compute(facts: dict[str, FactValue], policy: Policy) -> dict[str, FactValue]:
    """The policy's features for one set of facts; each may use the ones before it."""
    out: dict[str, FactValue] = {}
    view = dict(facts)
    for feature in policy.features:
        value = feature.compiled.evaluate(view)
        if isinstance(value, float) and value != value:  # NaN
            value = None
        view[feature.fact] = value
        out[feature.fact] = value
    return out


def run(state: DecisionState, policy: Policy) -> DecisionState:
    """Add ``features.<name>`` facts to the state."""
    state.facts.update(compute(state.facts, policy))
    return state
