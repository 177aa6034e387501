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


def _rule_entry(fields: dict[str, Any], assigned: tuple[str, ...] = ()) -> RuleTrace:
    """A :class:`RuleTrace` from trusted values, as ``model_construct`` makes it, minus its cost.

    ``model_construct`` resolves (and deep-copies) every default per call; this runs for every
    rule of every case (about 19 per decision), so the instance is assembled directly: the same
    ``__dict__``, fields-set and (absent) extras, so validation, dumping and equality behave alike.
    ``assigned`` names the fields the rule's outcome set beyond the given ones (they count as
    set, as an assignment to the model would make them).
    """
    entry = _new_model(RuleTrace)
    _set(entry, "__dict__", fields)
    _set(entry, "__pydantic_fields_set__", {*_GIVEN, *assigned})
    _set(entry, "__pydantic_extra__", None)
    _set(entry, "__pydantic_private__", None)
    return entry


def apply_rules(state: DecisionState, stage: str, rules: Sequence[Rule]) -> None:
    """Evaluate every enabled rule of a stage, record each in the trace, and apply hits.

    All rules of the stage are evaluated even after one rejects: they cost nothing, and hit
    rates per rule are what monitoring and backtests compare. Each entry is built once with its
    final outcome (no assignments to a model: each would cost a validation hook).
    """
    facts = state.facts
    white = facts.get("lists.white.any") is True
    entries = state.trace.rules
    for rule in rules:
        compiled = rule.compiled
        # Built from trusted values only: skip validation, this runs for every rule of every case.
        fields: dict[str, Any] = {
            "rule_id": rule.id, "stage": stage, "action": rule.action.value, "params": rule.params,
            "observed": {name: facts.get(name) for name in compiled.facts}, "outcome": "no_hit",
            "effect": "none", "on_missing": None, "points": None,
        }  # fmt: skip
        if not rule.enabled:
            fields["outcome"] = "disabled"
            entries.append(_rule_entry(fields, ("outcome",)))
            continue
        if rule.skip_if_white and white:
            fields["outcome"] = "skipped_white"
            entries.append(_rule_entry(fields, ("outcome",)))
            continue
        hit = compiled.hit(facts)
        action = rule.action
        if hit is None:
            fields["outcome"] = "missing"
            fields["on_missing"] = rule.on_missing.value
            if rule.on_missing is OnMissing.SKIP:
                entries.append(_rule_entry(fields, ("outcome", "on_missing")))
                continue
            if rule.on_missing is OnMissing.REJECT:
                action = Action.REJECT
            elif rule.on_missing is OnMissing.REVIEW:
                action = Action.REVIEW
            assigned: tuple[str, ...] = ("outcome", "on_missing")
        elif not hit:
            entries.append(_rule_entry(fields))
            continue
        else:
            fields["outcome"] = "hit"
            assigned = ("outcome",)
        effect_fields = _apply(state, stage, rule, action, fields["outcome"] == "missing")
        fields.update(effect_fields)
        entries.append(_rule_entry(fields, (*assigned, *effect_fields)))


def _apply(state: DecisionState, stage: str, rule: Rule, action: Action, missing: bool) -> dict[str, Any]:
    """Apply a rule's action to the state; the trace fields it sets (``effect``, ``points``)."""
    reason = Reason(code=rule.id, message=rule.reason + (" (data unavailable)" if missing else ""))
    if action is Action.REJECT:
        state.reject(stage, reason)
        return {"effect": "reject"}
    if action is Action.REVIEW:
        if reason not in state.review_reasons:
            state.review_reasons.append(reason)
        return {"effect": "review"}
    if action is Action.SCORE:
        state.score_adjustment += rule.points or 0.0
        return {"effect": "score", "points": rule.points}
    state.flags.append(rule.id)
    return {"effect": "flag"}
