"""The scalar evaluator: a syntax tree to a closure tree that evaluates one row."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from lendguard.policy.expr.errors import ExpressionTypeError
from lendguard.policy.expr.syntax import (
    _PY_OPS,
    _Binary,
    _Call,
    _Const,
    _Fact,
    _Member,
    _Neg,
    _Node,
    _NodeBuilder,
    _Not,
)
from lendguard.policy.expr.values import _BAD, _norm, _type_name

_Scalar = Callable[[Mapping[str, Any]], Any]


def _round(value: float, ndigits: int) -> float:
    try:
        return round(value, ndigits)
    except OverflowError:
        return math.copysign(math.inf, value)


class _ScalarBuilder(_NodeBuilder[_Scalar]):
    """Builds the closure tree that evaluates one row."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, message: str, node: _Node) -> ExpressionTypeError:
        return ExpressionTypeError(message, column=node.col, source=self.source)

    def _const(self, node: _Const) -> _Scalar:
        value = node.value
        return lambda row: value

    def _fact(self, node: _Fact) -> _Scalar:
        name = node.name
        fail = self.fail

        def slow(value: Any) -> Any:
            norm = _norm(value)
            if norm is _BAD:
                raise fail(f"fact {name!r} has an unsupported value of type {type(value).__name__}", node)
            return norm

        def fact(row: Mapping[str, Any]) -> Any:
            v = row.get(name)
            t = type(v)
            if t is float:
                return v if v == v else None
            if v is None or t is str or t is bool:
                return v
            if t is int:
                try:
                    return float(v)
                except OverflowError:
                    pass
            return slow(v)

        return fact

    def _neg(self, node: _Neg) -> _Scalar:
        fa = self.build(node.operand)
        fail = self.fail

        def neg(row: Mapping[str, Any]) -> Any:
            a = fa(row)
            if type(a) is float:
                return -a
            if a is None:
                return None
            raise fail(f"unary '-' needs a number, got {_type_name(a)}", node)

        return neg

    def _not(self, node: _Not) -> _Scalar:
        fa = self.build(node.operand)
        fail = self.fail

        def not_(row: Mapping[str, Any]) -> Any:
            a = fa(row)
            if a is True:
                return False
            if a is False:
                return True
            if a is None:
                return None
            raise fail(f"'not' needs a boolean, got {_type_name(a)}", node)

        return not_

    def _logic(self, node: _Binary) -> _Scalar:
        fa, fb = self.build(node.left), self.build(node.right)
        fail = self.fail
        op = node.op

        def bad(value: Any) -> ExpressionTypeError:
            return fail(f"{op!r} needs booleans, got {_type_name(value)}", node)

        if op == "and":

            def and_(row: Mapping[str, Any]) -> Any:
                a = fa(row)
                if a is False:
                    return False
                if a is not True and a is not None:
                    raise bad(a)
                b = fb(row)
                if b is True:
                    return a
                if b is False:
                    return False
                if b is None:
                    return None
                raise bad(b)

            return and_

        def or_(row: Mapping[str, Any]) -> Any:
            a = fa(row)
            if a is True:
                return True
            if a is not False and a is not None:
                raise bad(a)
            b = fb(row)
            if b is False:
                return a
            if b is True:
                return True
            if b is None:
                return None
            raise bad(b)

        return or_

    def _arith(self, node: _Binary) -> _Scalar:
        fa, fb = self.build(node.left), self.build(node.right)
        fail = self.fail
        op = node.op
        py_op = _PY_OPS[op]
        divides = op in ("/", "%")

        def arith(row: Mapping[str, Any]) -> Any:
            a = fa(row)
            b = fb(row)
            if a is None or b is None:
                return None
            if type(a) is not float or type(b) is not float:
                raise fail(f"{op!r} needs numbers, got {_type_name(a)} and {_type_name(b)}", node)
            if divides and b == 0.0:
                return None
            r = py_op(a, b)
            return r if r == r else None

        return arith

    def _compare(self, node: _Binary) -> _Scalar:
        fa, fb = self.build(node.left), self.build(node.right)
        fail = self.fail
        op = node.op
        py_op = _PY_OPS[op]

        if op in ("==", "!="):
            differ = op == "!="

            def equality(row: Mapping[str, Any]) -> Any:
                a = fa(row)
                b = fb(row)
                if a is None or b is None:
                    return None
                if type(a) is not type(b):
                    return differ
                return py_op(a, b)

            return equality

        def bad(a: Any, b: Any) -> ExpressionTypeError:
            return fail(f"{op!r} cannot compare {_type_name(a)} with {_type_name(b)}", node)

        right = node.right
        if isinstance(right, _Const) and type(right.value) is float:
            c = right.value  # the common `fact < threshold`: skip a call and a type check

            def order_const(row: Mapping[str, Any]) -> Any:
                a = fa(row)
                if type(a) is float:
                    return py_op(a, c)
                if a is None:
                    return None
                raise bad(a, c)

            return order_const

        def order(row: Mapping[str, Any]) -> Any:
            a = fa(row)
            b = fb(row)
            if a is None or b is None:
                return None
            t = type(a)
            if t is type(b) and t is not bool:
                return py_op(a, b)
            raise bad(a, b)

        return order

    def _member(self, node: _Member) -> _Scalar:
        fa = self.build(node.operand)
        negated = node.negated
        sets: dict[type, frozenset[Any]] = {
            t: frozenset(v for v in node.items if type(v) is t) for t in (float, str, bool)
        }

        def member(row: Mapping[str, Any]) -> Any:
            a = fa(row)
            if a is None:
                return None
            return (a in sets[type(a)]) is not negated

        return member

    def _call(self, node: _Call) -> _Scalar:
        fns = [self.build(a) for a in node.args]
        fail = self.fail
        name = node.name
        if name == "is_missing":
            fa = fns[0]
            return lambda row: fa(row) is None
        if name == "is_present":
            fa = fns[0]
            return lambda row: fa(row) is not None
        if name == "coalesce":

            def coalesce(row: Mapping[str, Any]) -> Any:
                for f in fns:
                    v = f(row)
                    if v is not None:
                        return v
                return None

            return coalesce

        def bad(values: list[Any]) -> ExpressionTypeError:
            got = ", ".join(_type_name(v) for v in values)
            return fail(f"{name}() needs numbers, got {got}", node)

        if name in ("abs", "round"):
            fa = fns[0]
            ndigits = node.ndigits
            unary: Callable[[float], float] = abs if name == "abs" else lambda x: _round(x, ndigits)

            def numeric1(row: Mapping[str, Any]) -> Any:
                a = fa(row)
                if type(a) is float:
                    return unary(a)
                if a is None:
                    return None
                raise bad([a])

            return numeric1

        pick = min if name == "min" else max

        def extremum(row: Mapping[str, Any]) -> Any:
            values = [f(row) for f in fns]
            if None in values:
                return None
            if any(type(v) is not float for v in values):
                raise bad(values)
            return pick(values)

        return extremum
