"""Static checks of a policy: what would otherwise fail at run time, case after case.

The expression language raises a type error when a rule meets a value of the wrong type
(``applicant.city > min_x``: a string compared with a number). At run time that fails every
matching case; here the compiled syntax tree is checked against the fact catalogue
(:mod:`lendguard.core.facts`) once, when the policy is validated:

- comparing values of different types (a string with a number, a boolean with a number), and
  ordering booleans (``<`` on ``true``);
- arithmetic, ``-``, ``abs``/``round``/``min``/``max`` on a string or a boolean;
- ``and``/``or``/``not`` on a number or a string, and a rule whose condition is not a boolean;
- a division or modulo by a constant zero;
- a number literal that overflows to infinity (``1e400``).

(Unknown functions and parameters are refused by the compiler itself.) Each problem names the
rule and the column. :func:`worst_case_problems` also refuses vendor settings whose worst case
cannot fit the time the flow has.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lendguard import deployment
from lendguard.core.facts import FactType
from lendguard.policy.expr import CompiledExpression
from lendguard.policy.expr.syntax import _Binary, _Call, _Const, _Fact, _Member, _Neg, _Node, _Not
from lendguard.policy.schema import Policy

# Static types: the fact types, MISSING (null) and unknown (a fact the catalogue does not know).
NUM, STR, BOOL, NULL, ANY = "number", "string", "boolean", "null", "any"
_FROM_FACT = {FactType.NUMBER: NUM, FactType.STRING: STR, FactType.BOOLEAN: BOOL}
_ARITH = {"+", "-", "*", "/", "%"}
_ORDER = {"<", "<=", ">", ">="}

# The synchronous path: API Gateway gives the integration 29 s; the other stages and the API's
# own work need some of it. The external_data function must also write its state back.
API_OTHER_STAGES_MS = 5_000
FUNCTION_MARGIN_MS = 2_000


@dataclass(frozen=True)
class TypeProblem:
    column: int
    message: str


def _value_type(value: Any) -> str:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, float):
        return NUM
    return STR


def _known(*types: str) -> bool:
    return all(t not in (NULL, ANY) for t in types)


class _Checker:
    def __init__(self, facts: Mapping[str, FactType]):
        self.facts = facts
        self.problems: list[TypeProblem] = []

    def fail(self, node: _Node, message: str) -> None:
        self.problems.append(TypeProblem(node.col, message))

    def expect(self, node: _Node, got: str, wanted: str, what: str) -> None:
        if _known(got) and got != wanted:
            self.fail(node, f"{what} needs a {wanted}, got a {got}")

    def check(self, node: _Node) -> str:
        """The static type of ``node``, recording every problem below it."""
        if isinstance(node, _Const):
            if isinstance(node.value, float) and math.isinf(node.value):
                self.fail(node, "number literal overflows to infinity")
            return _value_type(node.value)
        if isinstance(node, _Fact):
            known = self.facts.get(node.name)
            return _FROM_FACT[known] if known is not None else ANY
        if isinstance(node, _Neg):
            self.expect(node, self.check(node.operand), NUM, "unary '-'")
            return NUM
        if isinstance(node, _Not):
            self.expect(node, self.check(node.operand), BOOL, "'not'")
            return BOOL
        if isinstance(node, _Member):
            return self._member(node)
        if isinstance(node, _Call):
            return self._call(node)
        if isinstance(node, _Binary):
            return self._binary(node)
        return ANY

    def _binary(self, node: _Binary) -> str:
        left, right = self.check(node.left), self.check(node.right)
        op = node.op
        if op in ("and", "or"):
            self.expect(node, left, BOOL, f"'{op}'")
            self.expect(node, right, BOOL, f"'{op}'")
            return BOOL
        if op in _ARITH:
            for side in (left, right):
                if _known(side) and side != NUM:
                    self.fail(node, f"arithmetic '{op}' on a {side}")
            if op in ("/", "%") and isinstance(node.right, _Const) and node.right.value == 0.0:
                self.fail(node, f"'{op}' by a constant zero")
            return NUM
        if _known(left, right) and left != right:
            self.fail(node, f"'{op}' compares a {left} with a {right}")
        elif op in _ORDER and BOOL in (left, right):
            self.fail(node, f"'{op}' cannot order booleans")
        return BOOL

    def _member(self, node: _Member) -> str:
        operand = self.check(node.operand)
        items = {_value_type(v) for v in node.items}
        if _known(operand) and items and operand not in items:
            listed = " or ".join(sorted(items))
            self.fail(
                node, f"'{'not in' if node.negated else 'in'}' looks for a {operand} among {listed} items"
            )
        return BOOL

    def _call(self, node: _Call) -> str:
        types = [self.check(arg) for arg in node.args]
        if node.name in ("is_missing", "is_present"):
            return BOOL
        if node.name == "coalesce":
            known = {t for t in types if _known(t)}
            if len(known) > 1:
                self.fail(node, f"coalesce() mixes {' and '.join(sorted(known))} arguments")
            return known.pop() if len(known) == 1 else ANY
        for got in types:
            self.expect(node, got, NUM, f"{node.name}()")
        return NUM


def expression_problems(
    compiled: CompiledExpression, facts: Mapping[str, FactType], result: str | None
) -> list[TypeProblem]:
    """Type problems of one compiled expression read against ``facts``; ``result`` is the type
    its value must have (a rule's condition: boolean; a feature: number)."""
    checker = _Checker(facts)
    root = compiled._node  # the compiled tree: this module is the expression package's own checker
    got = checker.check(root)
    if result is not None and _known(got) and got != result:
        checker.fail(root, f"gives a {got}; it must give a {result}")
    return sorted(set(checker.problems), key=lambda p: (p.column, p.message))


def vendor_worst_case_ms(policy: Policy) -> dict[str, int]:
    """Each vendor group's worst case in ms: its vendors run concurrently, so its slowest
    vendor with every attempt timing out and every backoff at its cap."""
    out = {}
    for group in policy.vendor_groups:
        worst = 0
        for vendor_id in group.vendors:
            v = policy.vendor_by_id[vendor_id]
            worst = max(worst, (v.retries + 1) * v.timeout_ms + v.retries * v.backoff_max_ms)
        out[group.id] = worst
    return out


def worst_case_problems(policy: Policy) -> list[str]:
    """Refusals when the vendor groups, run in sequence at their worst, do not fit the
    external_data function's timeout or the API's synchronous limit (each with its margin)."""
    groups = vendor_worst_case_ms(policy)
    after = {g.id for g in policy.groups_after_model}
    total = sum(ms for g, ms in groups.items() if g not in after)
    after_ms = sum(ms for g, ms in groups.items() if g in after)
    function_ms = deployment.FUNCTIONS_BY_NAME["external_data"].timeout_s * 1000 - FUNCTION_MARGIN_MS
    api_ms = deployment.API_FUNCTION.timeout_s * 1000 - API_OTHER_STAGES_MS
    detail = " + ".join(f"{g} {ms} ms" for g, ms in groups.items())
    problems = []
    if total > function_ms:
        problems.append(
            f"vendor_groups: worst case {total} ms ({detail}) exceeds the external_data function's "
            f"{function_ms} ms (its {function_ms // 1000 + FUNCTION_MARGIN_MS // 1000} s timeout less "
            f"{FUNCTION_MARGIN_MS} ms to write the state)"
        )
    decision_ms = deployment.FUNCTIONS_BY_NAME["decision"].timeout_s * 1000 - FUNCTION_MARGIN_MS
    if after_ms > decision_ms:
        problems.append(
            f"vendor_groups: the after_model groups' worst case {after_ms} ms exceeds the decision "
            f"function's {decision_ms} ms (its timeout less {FUNCTION_MARGIN_MS} ms to write the state)"
        )
    if total + after_ms > api_ms:
        total += after_ms
        problems.append(
            f"vendor_groups: worst case {total} ms ({detail}) exceeds the {api_ms} ms the API's "
            f"{deployment.API_FUNCTION.timeout_s} s limit leaves after {API_OTHER_STAGES_MS} ms for the other stages"
        )
    return problems
