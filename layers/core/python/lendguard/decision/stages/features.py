"""Features: derived values computed from the facts by the policy's formulas, in order."""

from __future__ import annotations

from lendguard.decision.state import DecisionState, FactValue
from lendguard.policy.schema import Policy


def _add_features(view: dict[str, FactValue], policy: Policy) -> None:
    """Add the policy's features to ``view``, in order: each may use the ones before it."""
    for feature in policy.features:
        value = feature.compiled.evaluate(view)
        if isinstance(value, float) and value != value:  # NaN
            value = None
        view[feature.fact] = value


def compute(facts: dict[str, FactValue], policy: Policy) -> dict[str, FactValue]:
    """The policy's features for one set of facts (``facts`` is left as it is)."""
    view = dict(facts)
    _add_features(view, policy)
    return {feature.fact: view[feature.fact] for feature in policy.features}


def run(state: DecisionState, policy: Policy) -> DecisionState:
    """Add ``features.<name>`` facts to the state (in place: no copy of the facts per case)."""
    _add_features(state.facts, policy)
    return state
