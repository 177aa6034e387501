"""The syntax tree: node types, operator and function tables, nesting and depth limits."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

# ``kind`` is the static result type: "num", "bool", "str" or "any" (unknown until evaluated).


@dataclass(slots=True)
class _Node:
    col: int
    kind: str


@dataclass(slots=True)
class _Const(_Node):
    value: Any


@dataclass(slots=True)
class _Fact(_Node):
    name: str


@dataclass(slots=True)
class _Neg(_Node):
    operand: _Node


@dataclass(slots=True)
class _Not(_Node):
    operand: _Node


@dataclass(slots=True)
class _Binary(_Node):  # arithmetic, comparison, and/or
    op: str
    left: _Node
    right: _Node


@dataclass(slots=True)
class _Member(_Node):
    negated: bool
    operand: _Node
    items: tuple[Any, ...]  # normalised values: float, str, bool


@dataclass(slots=True)
class _Call(_Node):
    name: str
    args: list[_Node]
    ndigits: int = 0


_ARITH_OPS = frozenset({"+", "-", "*", "/", "%"})
_ORDER_OPS = frozenset({"<", "<=", ">", ">="})
_CMP_OPS = _ORDER_OPS | {"==", "!="}
_PY_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "%": operator.mod,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
# name -> (min args, max args or None)
_FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "abs": (1, 1),
    "coalesce": (1, None),
    "is_missing": (1, 1),
    "is_present": (1, 1),
    "max": (2, None),
    "min": (2, None),
    "round": (1, 2),
}


_MAX_NESTING = 40  # parentheses, calls and prefix operators inside one another
_MAX_DEPTH = 100  # operators in the tree (evaluation recurses once per level)


def _children(node: _Node) -> list[_Node]:
    if isinstance(node, (_Neg, _Not, _Member)):
        return [node.operand]
    if isinstance(node, _Binary):
        return [node.left, node.right]
    if isinstance(node, _Call):
        return node.args
    return []


def _depth(root: _Node) -> int:
    """The depth of a tree, without recursion (a long chain like ``a + a + ... + a`` is deep)."""
    deepest = 0
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in _children(node))
    return deepest


_T = TypeVar("_T")


class _NodeBuilder(Generic[_T]):
    """Compiles a syntax tree bottom-up: one method per node kind (row-wise and column-wise builders)."""

    def build(self, node: _Node) -> _T:
        if isinstance(node, _Const):
            return self._const(node)
        if isinstance(node, _Fact):
            return self._fact(node)
        if isinstance(node, _Neg):
            return self._neg(node)
        if isinstance(node, _Not):
            return self._not(node)
        if isinstance(node, _Member):
            return self._member(node)
        if isinstance(node, _Call):
            return self._call(node)
        assert isinstance(node, _Binary)
        if node.op in _ARITH_OPS:
            return self._arith(node)
        if node.op in ("and", "or"):
            return self._logic(node)
        return self._compare(node)

    def _const(self, node: _Const) -> _T:
        raise NotImplementedError

    def _fact(self, node: _Fact) -> _T:
        raise NotImplementedError

    def _neg(self, node: _Neg) -> _T:
        raise NotImplementedError

    def _not(self, node: _Not) -> _T:
        raise NotImplementedError

    def _member(self, node: _Member) -> _T:
        raise NotImplementedError

    def _call(self, node: _Call) -> _T:
        raise NotImplementedError

    def _arith(self, node: _Binary) -> _T:
        raise NotImplementedError

    def _logic(self, node: _Binary) -> _T:
        raise NotImplementedError

    def _compare(self, node: _Binary) -> _T:
        raise NotImplementedError
