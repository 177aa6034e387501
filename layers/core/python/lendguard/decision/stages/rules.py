"""Evaluate a list of policy rules against the facts and apply their actions to the state.

Every rule of every case is traced, so the per-rule work is planned once per rule list
(:class:`_Plan`): what each trace entry holds besides the observed values, the fact names it
reads, and what a hit or a missing fact does. Evaluating a rule is then its condition, a dict
of the observed values and one entry assembled from the plan.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lendguard.core.trusted import trusted
from lendguard.decision.state import DecisionState, Reason, RuleTrace
from lendguard.policy.expr.condition import condition_of
from lendguard.policy.schema import Action, OnMissing, Rule

_new_model = object.__new__
_set = object.__setattr__
# The fields a new entry is given; the rest hold their defaults until the rule's outcome sets them.
_GIVEN = frozenset({"rule_id", "stage", "action", "params", "observed", "outcome"})


def _rule_entry(fields: dict[str, Any], assigned: tuple[str, ...] | frozenset[str] = ()) -> RuleTrace:
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


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What a rule's hit (or its missing fact) does: the trace fields it sets and the effect."""

    fields: dict[str, Any]  # outcome, effect (and on_missing, points) of the entry
    fields_set: frozenset[str]
    action: Action | None  # None: recorded only (a missing fact the rule skips)
    reason: Reason | None


@dataclass(frozen=True, slots=True)
class _Plan:
    """One rule of one stage, ready to evaluate and trace."""

    rule: Rule
    template: dict[str, Any]  # every field of its entry but ``observed``, outcome ``no_hit``
    facts: tuple[str, ...]  # the facts it reads, in its expression's order
    condition: Callable[[Any], Any]
    status: str | None  # "disabled", "skipped_white" when not evaluated (white: see ``white_only``)
    white_only: bool  # skipped for white-listed applicants
    hit: _Outcome
    missing: _Outcome


def _outcome(rule: Rule, missing: bool) -> _Outcome:
    if not missing:
        action: Action | None = rule.action
        fields: dict[str, Any] = {"outcome": "hit"}
    else:
        fields = {"outcome": "missing", "on_missing": rule.on_missing.value}
        action = {
            OnMissing.SKIP: None, OnMissing.REJECT: Action.REJECT, OnMissing.REVIEW: Action.REVIEW,
            OnMissing.HIT: rule.action,
        }[rule.on_missing]  # fmt: skip
    if action is Action.SCORE:
        fields |= {"effect": "score", "points": rule.points}
    elif action is not None:
        fields["effect"] = {Action.REJECT: "reject", Action.REVIEW: "review", Action.FLAG: "flag"}[action]
    reason = None
    if action is not None:
        # Frozen, so one instance serves every case the rule hits.
        reason = trusted(
            Reason, code=rule.id, message=rule.reason + (" (data unavailable)" if missing else "")
        )
    return _Outcome(fields, _GIVEN | fields.keys(), action, reason)


def _plan(rule: Rule, stage: str) -> _Plan:
    compiled = rule.compiled
    template = {
        "rule_id": rule.id, "stage": stage, "action": rule.action.value, "params": rule.params,
        "observed": None, "outcome": "no_hit", "effect": "none", "on_missing": None, "points": None,
    }  # fmt: skip
    status = None if rule.enabled else "disabled"
    return _Plan(
        rule, template, tuple(compiled.facts), condition_of(compiled), status, rule.skip_if_white,
        _outcome(rule, missing=False), _outcome(rule, missing=True),
    )  # fmt: skip


# (stage, id of the rule list) -> (the list, its plans). The list is held, so its id stays its
# own; policies are immutable once loaded. Bounded: a process sees a few policies (tests, many).
_PLANS: dict[tuple[str, int], tuple[Sequence[Rule], tuple[_Plan, ...]]] = {}
_MAX_PLANS = 512


def _plans(stage: str, rules: Sequence[Rule]) -> tuple[_Plan, ...]:
    cached = _PLANS.get((stage, id(rules)))
    if cached is not None and cached[0] is rules:
        return cached[1]
    if len(_PLANS) >= _MAX_PLANS:
        _PLANS.clear()
    plans = tuple(_plan(rule, stage) for rule in rules)
    _PLANS[(stage, id(rules))] = (rules, plans)
    return plans


def apply_rules(state: DecisionState, stage: str, rules: Sequence[Rule]) -> None:
    """Evaluate every enabled rule of a stage, record each in the trace, and apply hits.

    All rules of the stage are evaluated even after one rejects: they cost nothing, and hit
    rates per rule are what monitoring and backtests compare. Each entry is built once with its
    final outcome (no assignments to a model: each would cost a validation hook).
    """
    facts = state.facts
    get = facts.get
    white = get("lists.white.any") is True
    append = state.trace.rules.append
    for plan in _plans(stage, rules):
        fields = plan.template.copy()
        names = plan.facts
        if len(names) == 1:  # most rules read one fact: a literal costs half a comprehension
            fields["observed"] = {names[0]: get(names[0])}
        else:
            fields["observed"] = {name: get(name) for name in names}
        status = plan.status or ("skipped_white" if plan.white_only and white else None)
        if status is not None:
            fields["outcome"] = status
            outcome = None
        else:
            hit = plan.condition(facts)
            outcome = plan.hit if hit else plan.missing if hit is None else None
        entry = _new_model(RuleTrace)
        if outcome is None:
            _set(entry, "__pydantic_fields_set__", set(_GIVEN))
        else:
            fields.update(outcome.fields)
            _set(entry, "__pydantic_fields_set__", set(outcome.fields_set))
            if outcome.action is not None:
                _apply(state, stage, plan.rule, outcome.action, outcome.reason)  # type: ignore[arg-type]
        _set(entry, "__dict__", fields)
        _set(entry, "__pydantic_extra__", None)
        _set(entry, "__pydantic_private__", None)
        append(entry)


def _apply(state: DecisionState, stage: str, rule: Rule, action: Action, reason: Reason) -> None:
    """Apply a rule's action to the state."""
    if action is Action.REJECT:
        state.reject(stage, reason)
    elif action is Action.REVIEW:
        if reason not in state.review_reasons:
            state.review_reasons.append(reason)
    elif action is Action.SCORE:
        state.score_adjustment += rule.points or 0.0
    else:
        state.flags.append(rule.id)
