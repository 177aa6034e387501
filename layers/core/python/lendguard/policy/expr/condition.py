"""A condition as one call over the facts: the decision's per-rule evaluation, without the tree walk.

:meth:`CompiledExpression.hit` runs the closure tree (a call per node) and then checks the
result is a boolean. Most policy rules have one of three shapes: ``fact <op> number``, ``fact``
and ``not fact``. For those, :func:`condition_of` gives one function that reads the fact and
answers directly when the value is a plain float (not NaN), an int (a count) or a boolean, the
values such facts hold; any other value (missing, an int, a string, NaN, an unsupported type) goes the long way,
so the answer (and any error) is always exactly :meth:`CompiledExpression.hit`'s. Every other
shape gets the closure tree with the boolean check inlined (one call fewer than ``hit``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lendguard.policy.expr.compiled import CompiledExpression
from lendguard.policy.expr.syntax import _PY_OPS, _Binary, _Const, _Fact, _Not

Condition = Callable[[Mapping[str, Any]], "bool | None"]
_ORDER = frozenset({"<", "<=", ">", ">="})


def condition_of(compiled: CompiledExpression) -> Condition:
    """A function of the facts giving what ``compiled.hit`` gives (True, False, None or its error)."""
    node = compiled._node
    slow = compiled.hit
    if isinstance(node, _Binary) and node.op in _ORDER:
        left, right = node.left, node.right
        if isinstance(left, _Fact) and isinstance(right, _Const) and type(right.value) is float:
            return _fact_vs_number(left.name, _PY_OPS[node.op], right.value, slow)
    if isinstance(node, _Fact):
        return _bare_fact(node.name, slow)
    if isinstance(node, _Not) and isinstance(node.operand, _Fact):
        return _not_fact(node.operand.name, slow)
    return _checked(compiled._scalar, slow)


def _fact_vs_number(name: str, op: Callable[[Any, Any], Any], number: float, slow: Condition) -> Condition:
    def fact_vs_number(facts: Mapping[str, Any]) -> bool | None:
        value = facts.get(name)
        kind = type(value)
        if kind is float:
            if value == value:  # NaN is MISSING: the long way says so
                return op(value, number)  # type: ignore[no-any-return]
        elif kind is int:  # a count: compared as the float the tree makes of it
            try:
                return op(float(value), number)  # type: ignore[no-any-return]
            except OverflowError:
                pass
        return slow(facts)

    return fact_vs_number


def _bare_fact(name: str, slow: Condition) -> Condition:
    def bare_fact(facts: Mapping[str, Any]) -> bool | None:
        value = facts.get(name)
        if value is True or value is False:
            return value  # type: ignore[no-any-return]
        return slow(facts)

    return bare_fact


def _not_fact(name: str, slow: Condition) -> Condition:
    def not_fact(facts: Mapping[str, Any]) -> bool | None:
        value = facts.get(name)
        if value is True:
            return False
        if value is False:
            return True
        return slow(facts)

    return not_fact


def _checked(scalar: Callable[[Mapping[str, Any]], Any], slow: Condition) -> Condition:
    def checked(facts: Mapping[str, Any]) -> bool | None:
        result = scalar(facts)
        if result is True or result is False or result is None:
            return result  # type: ignore[no-any-return]
        return slow(facts)  # raises the type error, with the expression's source

    return checked
