"""Evaluate a list of policy rules against the facts and apply their actions to the state."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lendguard.decision.state import DecisionState, Reason, RuleTrace
from lendguard.policy.schema import Action, OnMissing, Rule

_new_model = object.__new__
_set = object.__setattr__
# The fields a new entry is given; the rest hold their defaults until the rule's outcome sets them.
_GIVEN = frozenset({"rule_id", "stage", "action", "params", "observed", "outcome"})


def _rule_entry(fields: dict[str, Any]) -> RuleTrace:
    """A :class:`RuleTrace` from trusted values, as ``model_construct`` makes it, minus its cost.

    ``model_construct`` resolves (and deep-copies) every default per call; this runs for every
    rule of every case (about 19 per decision), so the instance is assembled directly: the same
    ``__dict__``, fields-set and (absent) extras, so validation, dumping and equality behave alike.
    """
    entry = _new_model(RuleTrace)
    _set(entry, "__dict__", fields)
    _set(entry, "__pydantic_fields_set__", set(_GIVEN))
    _set(entry, "__pydantic_extra__", None)
    _set(entry, "__pydantic_private__", None)
    return entry


def apply_rules(state: DecisionState, stage: str, rules: Sequence[Rule]) -> None:
    """Evaluate every enabled rule of a stage, record each in the trace, and apply hits.

    All rules of the stage are evaluated even after one rejects: they cost nothing, and hit
    rates per rule are what monitoring and backtests compare.
    """
    facts = state.facts
    white = facts.get("lists.white.any") is True
    for rule in rules:
        compiled = rule.compiled
        observed = {name: facts.get(name) for name in compiled.facts}
        # Built from trusted values only: skip validation, this runs for every rule of every case.
        entry = _rule_entry({
            "rule_id": rule.id, "stage": stage, "action": rule.action.value, "params": rule.params,
            "observed": observed, "outcome": "no_hit", "effect": "none", "on_missing": None, "points": None,
        })  # fmt: skip
        state.trace.rules.append(entry)
        if not rule.enabled:
            entry.outcome = "disabled"
            continue
        if rule.skip_if_white and white:
            entry.outcome = "skipped_white"
            continue
        hit = compiled.hit(facts)
        action = rule.action
        if hit is None:
            entry.outcome = "missing"
            entry.on_missing = rule.on_missing.value
            if rule.on_missing is OnMissing.SKIP:
                continue
            if rule.on_missing is OnMissing.REJECT:
                action = Action.REJECT
            elif rule.on_missing is OnMissing.REVIEW:
                action = Action.REVIEW
        elif not hit:
            continue
        else:
            entry.outcome = "hit"
        _apply(state, stage, rule, action, entry)


def _apply(state: DecisionState, stage: str, rule: Rule, action: Action, entry: RuleTrace) -> None:
    missing = entry.outcome == "missing"
    reason = Reason(code=rule.id, message=rule.reason + (" (data unavailable)" if missing else ""))
    if action is Action.REJECT:
        entry.effect = "reject"
        state.reject(stage, reason)
    elif action is Action.REVIEW:
        entry.effect = "review"
        if reason not in state.review_reasons:
            state.review_reasons.append(reason)
    elif action is Action.SCORE:
        entry.effect = "score"
        entry.points = rule.points
        state.score_adjustment += rule.points or 0.0
    else:
        entry.effect = "flag"
        state.flags.append(rule.id)
