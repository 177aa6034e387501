"""lendguard's rule evaluation against a peer engine, GoRules Zen (``zen-engine`` from PyPI).

The default policy's rules (admission, lists, every vendor group, post-model) are translated
into one Zen decision graph (JDM): an expression node with, per rule, its condition and its
outcome (``hit``, ``no_hit``, ``missing``, ``disabled``, ``skipped_white``). Our expressions are
three-valued (a missing fact makes a comparison MISSING; ``and``/``or`` follow Kleene's logic);
Zen raises on null arithmetic, so the translation spells out every null guard.

Both engines then see the same facts for 10,000 generated applications (the facts each one had
after its stages ran in process), the outcomes are checked rule by rule, and both are timed on
the same inputs in one run, alternating. lendguard's side is the production code,
``apply_rules``, which also builds the full trace (every rule with its parameters and observed
values) and applies each hit to the state; Zen's side is ``ZenDecision.evaluate``.

Prints the time per application of each and the ratio (target: lendguard <= 1.0x Zen).

Usage: ``python bench/peer.py [N]`` (default 10000). Needs the bench extra (``zen-engine``).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from datetime import UTC, datetime
from typing import Any

import zen

from lendguard.core.application import parse_application
from lendguard.core.hashing import LOCAL_SECRET
from lendguard.decision.pipeline import Pipeline
from lendguard.decision.stages.rules import apply_rules
from lendguard.decision.state import DecisionState, Subject, Trace
from lendguard.models.artifact import ModelArtifact
from lendguard.offline import project
from lendguard.offline.local.runtime import default_home, ensure_default_model
from lendguard.offline.synthetic import synthetic_applications
from lendguard.policy.expr.syntax import _Binary, _Call, _Const, _Fact, _Member, _Neg, _Node, _Not
from lendguard.policy.loader import load_policy
from lendguard.policy.schema import Policy, Rule

TARGET = 1.0
WHITE = "lists.white.any"


def key(fact: str) -> str:
    """A fact name as a Zen input field (dots would be read as nesting)."""
    return fact.replace(".", "__")


def literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(float(value))


def _guard(parts: list[str], expr: str) -> str:
    """``expr``, or null when any of ``parts`` is null (our MISSING propagation)."""
    nulls = " or ".join(f"{p} == null" for p in parts)
    return f"(({nulls}) ? null : {expr})"


def translate(node: _Node, bound: dict[str, Any]) -> str:
    """One of our expression trees as a Zen expression with the same three-valued result."""
    if isinstance(node, _Const):
        return literal(node.value)
    if isinstance(node, _Fact):
        return literal(bound[node.name]) if node.name in bound else key(node.name)
    if isinstance(node, _Neg):
        x = translate(node.operand, bound)
        return _guard([x], f"(-{x})")
    if isinstance(node, _Not):
        x = translate(node.operand, bound)
        return _guard([x], f"(not {x})")
    if isinstance(node, _Member):
        x = translate(node.operand, bound)
        items = ", ".join(literal(i) for i in node.items)
        return _guard([x], f"({x} {'not in' if node.negated else 'in'} [{items}])")
    if isinstance(node, _Binary):
        left, right = translate(node.left, bound), translate(node.right, bound)
        if node.op == "and":  # Kleene: false wins, then MISSING, then true
            return (f"({left} == false ? false : ({right} == false ? false : "
                    f"(({left} == null or {right} == null) ? null : true)))")  # fmt: skip
        if node.op == "or":  # Kleene: true wins, then MISSING, then false
            return (f"({left} == true ? true : ({right} == true ? true : "
                    f"(({left} == null or {right} == null) ? null : false)))")  # fmt: skip
        if node.op in ("/", "%"):  # division by zero is MISSING in ours
            return (
                f"(({left} == null or {right} == null or {right} == 0) ? null : ({left} {node.op} {right}))"
            )
        return _guard([left, right], f"({left} {node.op} {right})")
    if isinstance(node, _Call):
        args = [translate(a, bound) for a in node.args]
        if node.name == "is_missing":
            return f"({args[0]} == null)"
        if node.name == "is_present":
            return f"({args[0]} != null)"
        if node.name == "coalesce":
            return "(" + " ?? ".join(args) + ")"
        if node.name in ("min", "max"):
            return _guard(args, f"{node.name}([{', '.join(args)}])")
        if node.name == "abs":
            return _guard(args, f"abs({args[0]})")
        if node.name == "round":
            return _guard(args[:1], f"round({args[0]} * {10**node.ndigits}) / {10**node.ndigits}")
    raise NotImplementedError(f"no Zen translation for {node!r}")


def sections(policy: Policy) -> list[tuple[str, list[Rule]]]:
    """The rule sections as the stages run them (trace stage names)."""
    return [
        ("admission", list(policy.admission)),
        ("lists", list(policy.lists)),
        *((f"vendor:{g.id}", list(g.rules)) for g in policy.vendor_groups),
        ("post_model", list(policy.post_model)),
    ]


def graph(policy: Policy) -> dict[str, Any]:
    """The Zen decision graph (JDM) of every rule: input -> expressions -> output."""
    expressions = []
    for _, rules in sections(policy):
        for rule in rules:
            compiled = rule.compiled
            if not rule.enabled:
                outcome = '"disabled"'
            else:
                value = f"v_{rule.id}"
                expressions.append(
                    {"id": value, "key": value, "value": translate(compiled._node, dict(compiled._bound))}
                )
                outcome = f'($.{value} == null ? "missing" : ($.{value} == true ? "hit" : "no_hit"))'
                if rule.skip_if_white:
                    outcome = f'({key(WHITE)} == true ? "skipped_white" : {outcome})'
            expressions.append({"id": rule.id, "key": rule.id, "value": outcome})
    position = {"x": 0, "y": 0}
    return {
        "nodes": [
            {"id": "input", "type": "inputNode", "name": "application facts", "position": position},
            {
                "id": "rules",
                "type": "expressionNode",
                "name": "rules",
                "position": position,
                "content": {"expressions": expressions},
            },
            {"id": "output", "type": "outputNode", "name": "outcomes", "position": position},
        ],
        "edges": [
            {"id": "in-rules", "sourceId": "input", "targetId": "rules", "type": "edge"},
            {"id": "rules-out", "sourceId": "rules", "targetId": "output", "type": "edge"},
        ],
    }


def facts_of(policy: Policy, n: int) -> list[dict[str, Any]]:
    """The facts each generated application had after its stages ran (in process, no AWS)."""
    model = ModelArtifact.load(ensure_default_model(default_home()))
    pipeline = Pipeline(policy, model, LOCAL_SECRET)
    now = datetime.now(UTC)
    out = []
    for i, app in enumerate(synthetic_applications(n, seed=29)):
        state = pipeline.decide(parse_application(json.dumps(app), policy.products), f"P{i}", now)
        out.append(dict(state.facts))
    return out


SUBJECT = Subject(id_number="h" * 64, phone="h" * 64, device_id="h" * 64)


def lendguard_outcomes(policy: Policy, facts: dict[str, Any]) -> DecisionState:
    """Every section's rules on ``facts``, with the production code and its full trace."""
    state = DecisionState.model_construct(
        case_id="P", application={}, policy={}, subject=SUBJECT, facts=facts, trace=Trace(),
        reasons=[], review_reasons=[], flags=[], score_adjustment=0.0, halted=False,
    )  # fmt: skip
    for stage, rules in SECTIONS:
        apply_rules(state, stage, rules)
    return state


def main() -> None:
    global SECTIONS
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    policy = load_policy(project.default_policy_path())
    SECTIONS = sections(policy)
    decision = zen.ZenEngine().create_decision(zen.ZenDecisionContent(json.dumps(graph(policy))))
    rows = facts_of(policy, n)
    inputs = [{key(k): v for k, v in row.items()} for row in rows]

    mismatches = 0
    rule_ids = [r.id for _, rules in SECTIONS for r in rules]
    for row, zen_input in zip(rows, inputs, strict=True):
        ours = {t.rule_id: t.outcome for t in lendguard_outcomes(policy, dict(row)).trace.rules}
        theirs = decision.evaluate(zen_input)["result"]
        if [ours[r] for r in rule_ids] != [theirs[r] for r in rule_ids]:
            mismatches += 1
    hits = sum(
        t.outcome == "hit" for row in rows[:1000] for t in lendguard_outcomes(policy, dict(row)).trace.rules
    )
    print(f"{len(rule_ids)} rules in {len(SECTIONS)} sections; {n} applications; "
          f"outcomes identical: {'yes' if mismatches == 0 else f'NO ({mismatches} differ)'} "
          f"({hits} hits in the first 1,000)")  # fmt: skip

    ours_s, zen_s = [], []
    for _ in range(3):  # alternate, so the machine's noise falls on both alike
        copies = [dict(row) for row in rows]  # apply_rules writes nothing to facts; fresh anyway
        started = time.perf_counter()
        for row in copies:
            lendguard_outcomes(policy, row)
        ours_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        for zen_input in inputs:
            decision.evaluate(zen_input)
        zen_s.append(time.perf_counter() - started)
    ours_us, zen_us = statistics.median(ours_s) / n * 1e6, statistics.median(zen_s) / n * 1e6
    ratio = ours_us / zen_us
    print(f"lendguard rule evaluation with full trace: {ours_us:.1f} us per application")
    print(
        f"Zen (zen-engine {getattr(zen, '__version__', '2.1.3')}) decision graph: {zen_us:.1f} us per application"
    )
    print(
        f"ratio lendguard / Zen: {ratio:.2f}x (target <= {TARGET}x: {'met' if ratio <= TARGET else 'NOT met'})"
    )


SECTIONS: list[tuple[str, list[Rule]]] = []

if __name__ == "__main__":
    main()
