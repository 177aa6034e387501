"""InternalData: our own data before anyone else's (free, so before any vendor is paid).

Velocity on hashed identifiers (counted when the case opened, at Validate), distinct ID numbers
per device and IP, the ID number's previous cases and their loans, and precomputed customer
features become facts (:mod:`lendguard.core.facts`: ``internal.*``, ``customer.*``); then the
policy's ``internal_data`` rules run. Stale customer features apply ``internal.features_on_missing``.
"""

from __future__ import annotations

from datetime import datetime

from lendguard.decision.stages.rules import apply_rules
from lendguard.decision.state import DecisionState, Reason
from lendguard.internal.source import OwnData
from lendguard.policy.borrower_reasons import INTERNAL_FEATURES_STALE
from lendguard.policy.schema import Policy


def run(state: DecisionState, policy: Policy, own: OwnData, now: datetime) -> DecisionState:
    """Read our own data about the subject into the facts and apply the ``internal_data`` rules."""
    settings = policy.internal
    state.facts.update(own.facts(state.subject, state.case_id, state.received_at, now, settings))
    if state.facts.get("customer.features_fresh") is False and settings.features_on_missing != "skip":
        reason = Reason(
            code=INTERNAL_FEATURES_STALE, message="Precomputed customer features missing or stale"
        )
        if settings.features_on_missing == "reject":
            state.reject("internal_data", reason)
        elif reason not in state.review_reasons:
            state.review_reasons.append(reason)
    apply_rules(state, "internal_data", policy.internal_data)
    return state
