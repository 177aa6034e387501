"""A small, safe expression language for policy rule conditions and derived features.

An expression is compiled once (:func:`compile_expression`) into two trees of Python closures: one
evaluates a single row (a mapping of dotted fact names to values), the other a whole
``pandas.DataFrame`` column-wise. Both give the same result for every row, bit for bit.

Grammar, lowest to highest precedence::

    or                      a or b
    and                     a and b
    not (prefix)            not a
    comparison              == != < <= > >= in, not in     (non-associative)
    additive                + -
    multiplicative          * / %
    unary minus             -a
    primary                 literal, name, function call, ( expr )

Literals are numbers (``3``, ``0.35``, ``1e3``), strings in single or double quotes (escapes ``\\"``,
``\\'``, ``\\\\``, ``\\n``, ``\\t``), ``true``, ``false`` and ``null``. A list literal (``[1, 2]``,
``["a", "b"]``) may only appear on the right of ``in`` / ``not in``, as may a parameter whose value is a
list. A name without a dot (``max_dti``) is a *parameter*, replaced by its value at compile time; a
dotted name (``applicant.age``) is a *fact*, read from the row or the frame when evaluated. The
functions are ``min``, ``max``, ``abs``, ``round``, ``coalesce``, ``is_missing`` and ``is_present``.

Semantics. Values are numbers (always float64; integers are converted, booleans are *not* numbers),
strings, booleans and MISSING (``None``; NaN, ``pd.NA`` and ``pd.NaT`` read as MISSING too).
Arithmetic, comparisons, ``min``/``max``/``abs``/``round`` and ``in`` give MISSING when an operand is
MISSING; a division or modulo by zero, and a result that is NaN, is MISSING. ``and``, ``or`` and
``not`` follow Kleene's three-valued logic and short-circuit: the right side is evaluated only where
the left side does not decide, and ``coalesce`` evaluates its arguments only until one is present.
Type errors (``1 and true``, ``"a" < 1``, ``"a" + 1``) raise :class:`ExpressionTypeError` when they are
evaluated; ``==``/``!=`` between values of different types are simply false/true.

Nothing here calls ``eval``/``exec``/``compile``, and neither numpy nor pandas is imported until a
frame is evaluated, so the online Lambda functions can use this module without loading them.
"""

from __future__ import annotations

import math
import numbers
import operator
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = [
    "MISSING",
    "CompiledExpression",
    "ExpressionError",
    "ExpressionTypeError",
    "compile_expression",
]

MISSING = None
"""The value of a missing fact, and of any computation on one."""


# --------------------------------------------------------------------------------------------- errors


class ExpressionError(ValueError):
    """An expression that cannot be compiled; the message says what is wrong and at which column.

    ``column`` is 1-based (``None`` when the problem has no position), ``source`` the expression text.
    """

    def __init__(
        self, message: str, *, column: int | None = None, source: str | None = None, hint: str | None = None
    ) -> None:
        self.message = message
        self.column = column
        self.source = source
        self.hint = hint
        super().__init__(self._render())

    def _render(self) -> str:
        text = self.message
        if self.column is not None:
            text += f" at column {self.column}"
        if self.hint:
            text += f"; {self.hint}"
        return text


_NO_ROW = object()


class ExpressionTypeError(ExpressionError):
    """A value of the wrong type met an operator while evaluating (``1 and true``, ``"a" < 1``).

    ``row`` is the index label of the offending row when a frame was evaluated.
    """

    def __init__(
        self, message: str, *, column: int | None = None, source: str | None = None, row: Any = _NO_ROW
    ) -> None:
        self.row = None if row is _NO_ROW else row
        self._has_row = row is not _NO_ROW
        super().__init__(message, column=column, source=source)

    def _render(self) -> str:
        text = self.message
        if self.column is not None:
            text += f" at column {self.column}"
        if self.source is not None:
            text += f" in {self.source!r}"
        if self._has_row:
            text += f" (row {self.row!r})"
        return text


# ------------------------------------------------------------------------------------ value handling

_BAD = object()  # a value of a type the language does not know


def _norm(value: Any) -> Any:
    """Bring a fact or parameter value into the language: float, str, bool, None or ``_BAD``."""
    t = type(value)
    if t is float:
        return value if value == value else None
    if value is None or t is str or t is bool:
        return value
    if t is int:
        try:
            return float(value)
        except OverflowError:
            return _BAD
    if isinstance(value, str):
        return str.__str__(value)
    np_mod = sys.modules.get("numpy")
    if np_mod is not None and isinstance(value, np_mod.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        try:
            return float(int(value))
        except OverflowError:
            return _BAD
    if isinstance(value, (numbers.Real, Decimal)):
        try:
            f = float(value)
        except (ValueError, OverflowError):
            return _BAD
        return f if f == f else None
    pd_mod = sys.modules.get("pandas")
    if pd_mod is not None and (value is pd_mod.NA or value is pd_mod.NaT):
        return None
    return _BAD


def _type_name(value: Any) -> str:
    if value is None:
        return "missing"
    if value is True or value is False:
        return "boolean"
    if type(value) is float:
        return "number"
    if type(value) is str:
        return "string"
    return type(value).__name__


# ------------------------------------------------------------------------------------------ tokens

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_NUMBER_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_IDENT_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false", "null"})
_TWO_CHAR_OPS = frozenset({"==", "!=", "<=", ">="})
_ONE_CHAR_OPS = frozenset("<>+-*/%()[],")
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t"}
_CHAR_HINTS = {
    "&": "use 'and'",
    "|": "use 'or'",
    "!": "use 'not' or '!='",
    "=": "use '==' to compare",
    "^": "there is no power operator",
    "{": "only list literals [..] are supported",
    "}": "only list literals [..] are supported",
    ":": "there are no slices, lambdas or dicts",
    ".": "a name cannot start or end with '.'",
}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "num" | "str" | "name" | "kw" | "op" | "eof"
    text: str
    value: Any
    col: int  # 1-based


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        col = i + 1
        if c in " \t\r\n":
            i += 1
            continue
        if c in _IDENT_CHARS and not c.isdigit():
            m = _NAME_RE.match(source, i)
            assert m is not None
            j = m.end()
            if j < n and source[j] == ".":
                raise ExpressionError(f"invalid name {source[i : j + 1]!r}", column=col, source=source)
            text = m.group()
            tokens.append(_Token("kw" if text in _KEYWORDS else "name", text, text, col))
            i = j
        elif c.isdigit():
            m = _NUMBER_RE.match(source, i)
            if m is None:  # a non-ASCII digit
                raise ExpressionError(f"unexpected character {c!r}", column=col, source=source)
            j = m.end()
            if j < n and (source[j] in _IDENT_CHARS or source[j] == "."):
                k = j
                while k < n and (source[k] in _IDENT_CHARS or source[k] == "."):
                    k += 1
                raise ExpressionError(f"invalid number {source[i:k]!r}", column=col, source=source)
            tokens.append(_Token("num", m.group(), float(m.group()), col))
            i = j
        elif c in "\"'":
            chars: list[str] = []
            j = i + 1
            while True:
                if j >= n:
                    raise ExpressionError("unterminated string", column=col, source=source)
                ch = source[j]
                if ch == c:
                    break
                if ch == "\\":
                    esc = source[j + 1] if j + 1 < n else ""
                    if esc not in _ESCAPES:
                        raise ExpressionError(f"invalid escape '\\{esc}'", column=j + 1, source=source)
                    chars.append(_ESCAPES[esc])
                    j += 2
                else:
                    chars.append(ch)
                    j += 1
            tokens.append(_Token("str", source[i : j + 1], "".join(chars), col))
            i = j + 1
        elif source[i : i + 2] in _TWO_CHAR_OPS:
            tokens.append(_Token("op", source[i : i + 2], None, col))
            i += 2
        elif c in _ONE_CHAR_OPS:
            tokens.append(_Token("op", c, None, col))
            i += 1
        else:
            raise ExpressionError(
                f"unexpected character {c!r}", column=col, source=source, hint=_CHAR_HINTS.get(c)
            )
    tokens.append(_Token("eof", "", None, n + 1))
    return tokens


# ------------------------------------------------------------------------------------------- nodes
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


# ------------------------------------------------------------------------------------------ parser


class _Parser:
    def __init__(self, source: str, params: Mapping[str, Any]) -> None:
        self.source = source
        self.tokens = _tokenize(source)
        self.pos = 0
        self.params = params
        self.facts: set[str] = set()
        self.used: dict[str, Any] = {}
        self.nesting = 0

    def _enter(self, tok: _Token) -> None:
        """Count one more level of parentheses, calls or prefix operators; refuse absurd nesting."""
        self.nesting += 1
        if self.nesting > _MAX_NESTING:
            raise self._error(f"expression nested more than {_MAX_NESTING} levels deep", tok.col)

    # -- helpers
    def _peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def _next(self) -> _Token:
        tok = self.tokens[self.pos]
        if tok.kind != "eof":
            self.pos += 1
        return tok

    def _at(self, kind: str, text: str, ahead: int = 0) -> bool:
        tok = self._peek(ahead)
        return tok.kind == kind and tok.text == text

    def _error(self, message: str, col: int | None, hint: str | None = None) -> ExpressionError:
        return ExpressionError(message, column=col, source=self.source, hint=hint)

    def _unexpected(self, tok: _Token) -> ExpressionError:
        if tok.kind == "eof":
            return self._error("unexpected end of expression", tok.col)
        return self._error(f"unexpected token {tok.text!r}", tok.col)

    def _close(self, opened: _Token, closer: str, separated: bool) -> bool:
        """After an item inside ``opened``: consume ``closer`` (True) or, when ``separated``, a comma."""
        tok = self._peek()
        if tok.kind == "op" and tok.text == closer:
            self._next()
            return True
        if separated and tok.kind == "op" and tok.text == ",":
            self._next()
            return False
        found = "end of expression" if tok.kind == "eof" else repr(tok.text)
        wanted = f"',' or {closer!r}" if separated else repr(closer)
        raise self._error(
            f"expected {wanted} to close {opened.text!r} opened at column {opened.col}, found {found}",
            tok.col,
        )

    # -- grammar
    def parse(self) -> _Node:
        if self._peek().kind == "eof":
            raise self._error("empty expression", None)
        node = self._or()
        tok = self._peek()
        if tok.kind != "eof":
            raise self._unexpected(tok)
        if _depth(node) > _MAX_DEPTH:
            raise self._error(f"expression more than {_MAX_DEPTH} operators deep", None, "split it up")
        return node

    def _or(self) -> _Node:
        node = self._and()
        while self._at("kw", "or"):
            tok = self._next()
            node = _Binary(tok.col, "bool", "or", node, self._and())
        return node

    def _and(self) -> _Node:
        node = self._not()
        while self._at("kw", "and"):
            tok = self._next()
            node = _Binary(tok.col, "bool", "and", node, self._not())
        return node

    def _not(self) -> _Node:
        if self._at("kw", "not"):
            tok = self._next()
            self._enter(tok)
            node = _Not(tok.col, "bool", self._not())
            self.nesting -= 1
            return node
        return self._comparison()

    def _at_comparison(self) -> bool:
        tok = self._peek()
        if tok.kind == "op":
            return tok.text in _CMP_OPS
        return self._at("kw", "in") or (self._at("kw", "not") and self._at("kw", "in", 1))

    def _comparison(self) -> _Node:
        left = self._additive()
        if not self._at_comparison():
            return left
        tok = self._next()
        node: _Node
        if tok.kind == "op":
            node = _Binary(tok.col, "bool", tok.text, left, self._additive())
        else:
            negated = tok.text == "not"
            if negated:
                self._next()
            node = _Member(tok.col, "bool", negated, left, self._list_rhs())
        if self._at_comparison():
            raise self._error("comparisons cannot be chained", self._peek().col, "combine them with 'and'")
        return node

    def _list_rhs(self) -> tuple[Any, ...]:
        tok = self._peek()
        if tok.kind == "op" and tok.text == "[":
            opened = self._next()
            items: list[Any] = []
            if self._at("op", "]"):
                self._next()
                return ()
            while True:
                items.append(self._list_item())
                if self._close(opened, "]", separated=True):
                    return tuple(items)
        if tok.kind == "name" and "." not in tok.text and not self._at("op", "(", 1):
            raw = self._param(tok)
            if isinstance(raw, (list, tuple, set, frozenset)):
                self._next()
                items = [self._list_value(v, tok, f"parameter {tok.text!r}") for v in raw]
                self.used[tok.text] = tuple(items)
                return tuple(items)
        raise self._error("'in' needs a list literal on the right", tok.col)

    def _list_item(self) -> Any:
        tok = self._next()
        if tok.kind in ("num", "str"):
            return tok.value
        if tok.kind == "op" and tok.text == "-" and self._peek().kind == "num":
            return -self._next().value
        if tok.kind == "kw" and tok.text in ("true", "false"):
            return tok.text == "true"
        if tok.kind == "kw" and tok.text == "null":
            raise self._error("null is not allowed in a list", tok.col, "use is_missing(x)")
        if tok.kind == "name" and "." not in tok.text:
            raw = self._param(tok)
            value = self._list_value(raw, tok, f"parameter {tok.text!r}")
            self.used[tok.text] = value
            return value
        if tok.kind == "eof":
            raise self._unexpected(tok)
        raise self._error(f"list items must be literals or parameters, found {tok.text!r}", tok.col)

    def _list_value(self, raw: Any, tok: _Token, what: str) -> Any:
        value = _norm(raw)
        if value is None:
            raise self._error(f"{what} holds a missing value (null/NaN) in a list", tok.col)
        if value is _BAD or isinstance(raw, (list, tuple, set, frozenset, dict)):
            raise self._error(f"{what} holds an unsupported list item of type {type(raw).__name__}", tok.col)
        return value

    def _param(self, tok: _Token) -> Any:
        name = tok.text
        if name not in self.params:
            known = sorted(k for k in self.params if isinstance(k, str))
            shown = ", ".join(known[:20]) + (", ..." if len(known) > 20 else "") if known else "none"
            hint = None
            if name.lower() in ("true", "false", "null", "and", "or", "not", "in"):
                hint = f"did you mean {name.lower()!r}?"
            elif name == "None":
                hint = "did you mean 'null'?"
            elif known:
                import difflib  # only needed to explain an error

                close = difflib.get_close_matches(name, known, n=1)
                if close:
                    hint = f"did you mean {close[0]!r}?"
            raise self._error(f"unknown parameter {name!r} (known: {shown})", tok.col, hint)
        return self.params[name]

    def _additive(self) -> _Node:
        node = self._multiplicative()
        while self._peek().kind == "op" and self._peek().text in ("+", "-"):
            tok = self._next()
            node = _Binary(tok.col, "num", tok.text, node, self._multiplicative())
        return node

    def _multiplicative(self) -> _Node:
        node = self._unary()
        while self._peek().kind == "op" and self._peek().text in ("*", "/", "%"):
            tok = self._next()
            node = _Binary(tok.col, "num", tok.text, node, self._unary())
        return node

    def _unary(self) -> _Node:
        if self._at("op", "-"):
            tok = self._next()
            self._enter(tok)
            operand = self._unary()
            self.nesting -= 1
            if isinstance(operand, _Const) and type(operand.value) is float:
                return _Const(tok.col, "num", -operand.value)  # fold a negative literal
            return _Neg(tok.col, "num", operand)
        return self._primary()

    def _primary(self) -> _Node:
        tok = self._next()
        if tok.kind == "num":
            return _Const(tok.col, "num", tok.value)
        if tok.kind == "str":
            return _Const(tok.col, "str", tok.value)
        if tok.kind == "kw" and tok.text in ("true", "false"):
            return _Const(tok.col, "bool", tok.text == "true")
        if tok.kind == "kw" and tok.text == "null":
            return _Const(tok.col, "any", None)
        if tok.kind == "name":
            if self._at("op", "("):
                return self._call(tok)
            if "." in tok.text:
                self.facts.add(tok.text)
                return _Fact(tok.col, "any", tok.text)
            raw = self._param(tok)
            if isinstance(raw, (list, tuple, set, frozenset)):
                raise self._error(
                    f"parameter {tok.text!r} is a list; lists are only allowed on the right of 'in'", tok.col
                )
            value = _norm(raw)
            if value is _BAD:
                raise self._error(
                    f"parameter {tok.text!r} has unsupported type {type(raw).__name__}", tok.col
                )
            self.used[tok.text] = value
            kind = {float: "num", str: "str", bool: "bool"}.get(type(value), "any")
            return _Const(tok.col, kind, value)
        if tok.kind == "op" and tok.text == "(":
            self._enter(tok)
            node = self._or()
            self._close(tok, ")", separated=False)
            self.nesting -= 1
            return node
        if tok.kind == "op" and tok.text == "[":
            raise self._error("a list literal is only allowed on the right of 'in'", tok.col)
        raise self._unexpected(tok)

    def _call(self, name_tok: _Token) -> _Node:
        name = name_tok.text
        if name not in _FUNCTIONS:
            raise self._error(
                f"unknown function {name!r}", name_tok.col, "available: " + ", ".join(sorted(_FUNCTIONS))
            )
        opened = self._next()
        self._enter(opened)
        args: list[_Node] = []
        if self._at("op", ")"):
            self._next()
        else:
            while True:
                args.append(self._or())
                if self._close(opened, ")", separated=True):
                    break
        self.nesting -= 1
        low, high = _FUNCTIONS[name]
        if len(args) < low or (high is not None and len(args) > high):
            if low == high:
                wanted = f"{low} argument{'s' if low != 1 else ''}"
            elif high is None:
                wanted = f"at least {low} argument{'s' if low != 1 else ''}"
            else:
                wanted = f"{low} to {high} arguments"
            raise self._error(f"{name}() takes {wanted}, got {len(args)}", name_tok.col)
        if name in ("is_missing", "is_present"):
            return _Call(name_tok.col, "bool", name, args)
        if name == "coalesce":
            kinds = {a.kind for a in args}
            return _Call(name_tok.col, kinds.pop() if len(kinds) == 1 else "any", name, args)
        ndigits = 0
        if name == "round" and len(args) == 2:
            nd = args.pop()
            if not (isinstance(nd, _Const) and type(nd.value) is float and nd.value.is_integer()):
                raise self._error("round() needs an integer constant for ndigits", nd.col)
            if abs(nd.value) > 400:
                raise self._error("round() ndigits out of range", nd.col)
            ndigits = int(nd.value)
        return _Call(name_tok.col, "num", name, args, ndigits)


# ------------------------------------------------------------------------------- scalar evaluation

_Scalar = Callable[[Mapping[str, Any]], Any]


def _round(value: float, ndigits: int) -> float:
    try:
        return round(value, ndigits)
    except OverflowError:
        return math.copysign(math.inf, value)


class _ScalarBuilder:
    """Builds the closure tree that evaluates one row."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, message: str, node: _Node) -> ExpressionTypeError:
        return ExpressionTypeError(message, column=node.col, source=self.source)

    def build(self, node: _Node) -> _Scalar:
        if isinstance(node, _Const):
            value = node.value
            return lambda row: value
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


# ----------------------------------------------------------------------------- frame evaluation
# Each node yields a _Vec: a type tag per row plus the values. Booleans are stored as 0.0/1.0 in
# ``num``; strings live in the object array ``obj``. ``active`` marks the rows whose value is used:
# the right side of ``and``/``or`` and later ``coalesce`` arguments are active only where the scalar
# path would evaluate them, so both raise type errors for exactly the same rows.

_MISS, _NUM, _STR, _BOOL, _BADTAG = 0, 1, 2, 3, 4
_TAG_NAMES = ("missing", "number", "string", "boolean", "unsupported value")


class _Vec:
    __slots__ = ("num", "obj", "tag")

    def __init__(self, tag: np.ndarray, num: np.ndarray, obj: np.ndarray | None = None) -> None:
        self.tag = tag
        self.num = num
        self.obj = obj


class _FrameContext:
    __slots__ = ("cache", "frame", "n")

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.n = len(frame)
        self.cache: dict[str, _Vec] = {}


_Vector = Callable[[_FrameContext, "np.ndarray"], _Vec]


def _load_column(column: pd.Series, np: Any, pd: Any) -> _Vec:
    """Classify a frame column into a _Vec, exactly as ``_norm`` classifies single values."""
    dtype = column.dtype
    n = len(column)
    api = pd.api.types
    if isinstance(dtype, pd.CategoricalDtype):
        pass  # value by value below
    elif isinstance(dtype, np.dtype):
        if dtype.kind == "b":
            return _Vec(np.full(n, _BOOL, np.int8), column.to_numpy().astype(np.float64))
        if dtype.kind in "iu":
            return _Vec(np.full(n, _NUM, np.int8), column.to_numpy().astype(np.float64))
        if dtype.kind == "f":
            num = column.to_numpy().astype(np.float64)
            return _Vec(np.where(np.isnan(num), _MISS, _NUM).astype(np.int8), num)
    else:
        if api.is_bool_dtype(dtype):
            missing = column.isna().to_numpy(dtype=bool)
            num = column.to_numpy(dtype=np.float64, na_value=0.0)
            return _Vec(np.where(missing, _MISS, _BOOL).astype(np.int8), num)
        if api.is_numeric_dtype(dtype):
            missing = column.isna().to_numpy(dtype=bool)
            num = column.to_numpy(dtype=np.float64, na_value=np.nan)
            return _Vec(np.where(missing | np.isnan(num), _MISS, _NUM).astype(np.int8), num)
        if isinstance(dtype, pd.StringDtype):
            missing = column.isna().to_numpy(dtype=bool)
            obj = column.to_numpy(dtype=object)
            return _Vec(np.where(missing, _MISS, _STR).astype(np.int8), np.zeros(n), obj)
    # object, categorical and anything else: value by value, with the scalar path's own rules
    values = column.to_numpy(dtype=object)
    tag = np.empty(n, np.int8)
    num = np.zeros(n)
    obj = np.empty(n, dtype=object)
    for i, raw in enumerate(values):
        v = _norm(raw)
        t = type(v)
        if t is float:
            tag[i] = _NUM
            num[i] = v
        elif t is str:
            tag[i] = _STR
            obj[i] = v
        elif t is bool:
            tag[i] = _BOOL
            num[i] = 1.0 if v else 0.0
        elif v is None:
            tag[i] = _MISS
        else:
            tag[i] = _BADTAG
            obj[i] = raw
    return _Vec(tag, num, obj)


class _VectorBuilder:
    """Builds the closure tree that evaluates a whole frame; imports numpy when constructed."""

    def __init__(self, source: str) -> None:
        import numpy  # deliberately lazy, see the module docstring

        self.np = numpy
        self.source = source

    def fail(self, ctx: _FrameContext, bad: np.ndarray, node: _Node, describe: Callable[[int], str]) -> None:
        """Raise for the first row of ``bad``, if any."""
        if bad.any():
            i = int(self.np.argmax(bad))
            raise ExpressionTypeError(
                describe(i), column=node.col, source=self.source, row=ctx.frame.index[i : i + 1].tolist()[0]
            )

    def build(self, node: _Node) -> _Vector:
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

    def _const(self, node: _Const) -> _Vector:
        np = self.np
        value = node.value
        t = type(value)
        tag = {float: _NUM, str: _STR, bool: _BOOL}.get(t, _MISS)
        number = float(value) if t in (float, bool) else 0.0

        def const(ctx: _FrameContext, active: np.ndarray) -> _Vec:
            n = ctx.n
            obj = np.full(n, value, dtype=object) if t is str else None
            return _Vec(np.full(n, tag, np.int8), np.full(n, number), obj)

        return const

    def _fact(self, node: _Fact) -> _Vector:
        np = self.np
        name = node.name

        def fact(ctx: _FrameContext, active: np.ndarray) -> _Vec:
            vec = ctx.cache.get(name)
            if vec is None:
                import pandas as pd  # deliberately lazy

                if name in ctx.frame.columns:
                    column = ctx.frame[name]
                    if isinstance(column, pd.DataFrame):
                        raise ExpressionError(f"the frame has more than one column named {name!r}")
                    vec = _load_column(column, np, pd)
                else:
                    vec = _Vec(np.zeros(ctx.n, np.int8), np.zeros(ctx.n))
                ctx.cache[name] = vec
            obj = vec.obj
            self.fail(
                ctx,
                active & (vec.tag == _BADTAG),
                node,
                lambda i: f"fact {name!r} has an unsupported value of type {type(obj[i]).__name__}",
            )
            return vec

        return fact

    def _neg(self, node: _Neg) -> _Vector:
        np = self.np
        fa = self.build(node.operand)

        def neg(ctx: _FrameContext, active: np.ndarray) -> _Vec:
            a = fa(ctx, active)
            bad = active & (a.tag != _MISS) & (a.tag != _NUM)
            self.fail(ctx, bad, node, lambda i: f"unary '-' needs a number, got {_TAG_NAMES[a.tag[i]]}")
            return _Vec(np.where(a.tag == _NUM, _NUM, _MISS).astype(np.int8), -a.num)

        return neg

    def _not(self, node: _Not) -> _Vector:
        np = self.np
        fa = self.build(node.operand)

        def not_(ctx: _FrameContext, active: np.ndarray) -> _Vec:
            a = fa(ctx, active)
            bad = active & (a.tag != _MISS) & (a.tag != _BOOL)
            self.fail(ctx, bad, node, lambda i: f"'not' needs a boolean, got {_TAG_NAMES[a.tag[i]]}")
            return _Vec(np.where(a.tag == _BOOL, _BOOL, _MISS).astype(np.int8), 1.0 - a.num)

        return not_

    def _logic(self, node: _Binary) -> _Vector:
        np = self.np
        fa, fb = self.build(node.left), self.build(node.right)
        op = node.op
        # `and` is decided by a false side, `or` by a true one
        deciding = 0.0 if op == "and" else 1.0

        def check(ctx: _FrameContext, vec: _Vec, active: np.ndarray) -> None:
            bad = active & (vec.tag != _MISS) & (vec.tag != _BOOL)
            self.fail(ctx, bad, node, lambda i: f"{op!r} needs booleans, got {_TAG_NAMES[vec.tag[i]]}")

        def logic(ctx: _FrameContext, active: np.ndarray) -> _Vec:
            a = fa(ctx, active)
            check(ctx, a, active)
            a_decides = (a.tag == _BOOL) & (a.num == deciding)
            right_active = active & ~a_decides
            b = fb(ctx, right_active)
            check(ctx, b, right_active)
            b_decides = (b.tag == _BOOL) & (b.num == deciding)
            decided = a_decides | b_decides
            both_other = (a.tag == _BOOL) & (b.tag == _BOOL) & ~decided
            tag = np.where(decided | both_other, _BOOL, _MISS).astype(np.int8)
            num = np.where(decided, deciding, 1.0 - deciding)
            return _Vec(tag, num)

        return logic

    def _arith(self, node: _Binary) -> _Vector:
        np = self.np
        fa, fb = self.build(node.left), self.build(node.right)
        op = node.op
        ufunc = {
            "+": np.add,
            "-": np.subtract,
            "*": np.multiply,
            "/": np.true_divide,
            "%": np.remainder,
        }[op]
        divides = op in ("/", "%")

        def arith(ctx: _FrameContext, active: np.ndarray) -> _Vec:
            a = fa(ctx, active)
            b = fb(ctx, active)
            missing = (a.tag == _MISS) | (b.tag == _MISS)
            numbers_ = (a.tag == _NUM) & (b.tag == _NUM)
            self.fail(
                ctx,
                active & ~missing & ~numbers_,
                node,
                lambda i: f"{op!r} needs numbers, got {_TAG_NAMES[a.tag[i]]} and {_TAG_NAMES[b.tag[i]]}",
            )
            with np.errstate(all="ignore"):
                result = ufunc(a.num, b.num)
            valid = numbers_ & ~np.isnan(result)
            if divides:
                valid &= b.num != 0.0
            return _Vec(np.where(valid, _NUM, _MISS).astype(np.int8), result)

        return arith

    def _compare(self, node: _Binary) -> _Vector:
        np = self.np
        fa, fb = self.build(node.left), self.build(node.right)
        op = node.op
        py_op = _PY_OPS[op]

        def strings(a: _Vec, b: _Vec, mask: np.ndarray, out: np.ndarray, compare: Callable) -> None:
            if mask.any():
                idx = np.flatnonzero(mask)
                assert a.obj is not None and b.obj is not None
                out[idx] = np.fromiter(
                    (compare(x, y) for x, y in zip(a.obj[idx], b.obj[idx], strict=True)), bool, len(idx)
                )

        if op in ("==", "!="):

            def equality(ctx: _FrameContext, active: np.ndarray) -> _Vec:
                a = fa(ctx, active)
                b = fb(ctx, active)
                missing = (a.tag == _MISS) | (b.tag == _MISS)
                same = a.tag == b.tag
                numeric = same & ((a.tag == _NUM) | (a.tag == _BOOL))
                equal = numeric & (a.num == b.num)
                strings(a, b, same & (a.tag == _STR), equal, operator.eq)
                if op == "!=":
                    equal = ~equal
                return _Vec(np.where(missing, _MISS, _BOOL).astype(np.int8), equal.astype(np.float64))

            return equality

        def order(ctx: _FrameContext, active: np.ndarray) -> _Vec:
            a = fa(ctx, active)
            b = fb(ctx, active)
            missing = (a.tag == _MISS) | (b.tag == _MISS)
            numeric = (a.tag == _NUM) & (b.tag == _NUM)
            textual = (a.tag == _STR) & (b.tag == _STR)
            self.fail(
                ctx,
                active & ~missing & ~numeric & ~textual,
                node,
                lambda i: f"{op!r} cannot compare {_TAG_NAMES[a.tag[i]]} with {_TAG_NAMES[b.tag[i]]}",
            )
            with np.errstate(invalid="ignore"):
                result = numeric & py_op(a.num, b.num)
            strings(a, b, textual, result, py_op)
            tag = np.where(numeric | textual, _BOOL, _MISS).astype(np.int8)
            return _Vec(tag, result.astype(np.float64))

        return order

    def _member(self, node: _Member) -> _Vector:
        np = self.np
        fa = self.build(node.operand)
        numbers_ = np.array([v for v in node.items if type(v) is float], dtype=np.float64)
        bools = np.array([float(v) for v in node.items if type(v) is bool], dtype=np.float64)
        texts = frozenset(v for v in node.items if type(v) is str)
        negated = node.negated

        def member(ctx: _FrameContext, active: np.ndarray) -> _Vec:
            a = fa(ctx, active)
            found = ((a.tag == _NUM) & np.isin(a.num, numbers_)) | ((a.tag == _BOOL) & np.isin(a.num, bools))
            textual = a.tag == _STR
            if textual.any():
                idx = np.flatnonzero(textual)
                assert a.obj is not None
                found[idx] = np.fromiter((v in texts for v in a.obj[idx]), bool, len(idx))
            if negated:
                found = ~found
            return _Vec(np.where(a.tag == _MISS, _MISS, _BOOL).astype(np.int8), found.astype(np.float64))

        return member

    def _call(self, node: _Call) -> _Vector:
        np = self.np
        fns = [self.build(a) for a in node.args]
        name = node.name

        if name in ("is_missing", "is_present"):
            fa = fns[0]
            want_missing = name == "is_missing"

            def presence(ctx: _FrameContext, active: np.ndarray) -> _Vec:
                a = fa(ctx, active)
                found = (a.tag == _MISS) == want_missing
                return _Vec(np.full(ctx.n, _BOOL, np.int8), found.astype(np.float64))

            return presence

        if name == "coalesce":

            def coalesce(ctx: _FrameContext, active: np.ndarray) -> _Vec:
                tag = np.zeros(ctx.n, np.int8)
                num = np.zeros(ctx.n)
                obj: np.ndarray | None = None
                pending = active.copy()
                for f in fns:
                    if not pending.any():
                        break
                    v = f(ctx, pending)
                    take = pending & (v.tag != _MISS)
                    tag[take] = v.tag[take]
                    num[take] = v.num[take]
                    if v.obj is not None:
                        if obj is None:
                            obj = np.empty(ctx.n, dtype=object)
                        obj[take] = v.obj[take]
                    pending &= ~take
                return _Vec(tag, num, obj)

            return coalesce

        def check(ctx: _FrameContext, args: list[_Vec], active: np.ndarray) -> np.ndarray:
            """Validate numeric arguments; return the rows where any of them is missing."""
            missing = np.zeros(ctx.n, bool)
            numeric = np.ones(ctx.n, bool)
            for v in args:
                missing |= v.tag == _MISS
                numeric &= v.tag == _NUM

            def describe(i: int) -> str:
                got = ", ".join(_TAG_NAMES[v.tag[i]] for v in args)
                return f"{name}() needs numbers, got {got}"

            self.fail(ctx, active & ~missing & ~numeric, node, describe)
            return missing | ~numeric

        if name in ("abs", "round"):
            fa = fns[0]
            ndigits = node.ndigits

            def numeric1(ctx: _FrameContext, active: np.ndarray) -> _Vec:
                a = fa(ctx, active)
                invalid = check(ctx, [a], active)
                if name == "abs":
                    result = np.abs(a.num)
                else:
                    # Python's correctly rounded round(), not numpy's multiply-rint-divide
                    result = np.zeros(ctx.n)
                    idx = np.flatnonzero(~invalid)
                    result[idx] = [_round(x, ndigits) for x in a.num[idx].tolist()]
                return _Vec(np.where(invalid, _MISS, _NUM).astype(np.int8), result)

            return numeric1

        take_new = np.less if name == "min" else np.greater  # same tie-breaking as builtin min/max

        def extremum(ctx: _FrameContext, active: np.ndarray) -> _Vec:
            args = [f(ctx, active) for f in fns]
            invalid = check(ctx, args, active)
            result = args[0].num
            with np.errstate(invalid="ignore"):
                for v in args[1:]:
                    result = np.where(take_new(v.num, result), v.num, result)
            return _Vec(np.where(invalid, _MISS, _NUM).astype(np.int8), result)

        return extremum


# -------------------------------------------------------------------------------------- public API


@dataclass(frozen=True)
class CompiledExpression:
    """A compiled expression, to evaluate on one row (:meth:`evaluate`) or a frame (:meth:`evaluate_frame`).

    ``facts`` are the dotted fact names it reads, ``params`` the parameter names it used.
    """

    source: str
    facts: frozenset[str]
    params: frozenset[str]
    _bound: tuple[tuple[str, Any], ...] = field(repr=False)
    _node: _Node = field(repr=False, compare=False)
    _scalar: _Scalar = field(repr=False, compare=False)
    _vector: list[_Vector] = field(default_factory=list, repr=False, compare=False)
    _kind: str = field(default="any", repr=False, compare=False)

    def evaluate(self, row: Mapping[str, Any]) -> Any:
        """Evaluate on one row: a mapping of dotted fact names to values (absent = MISSING).

        Returns a float, str, bool or None (MISSING). Raises :class:`ExpressionTypeError` on a type error.
        """
        return self._scalar(row)

    def hit(self, row: Mapping[str, Any]) -> bool | None:
        """Evaluate a condition on one row: True, False or None (MISSING); any other result is an error."""
        result = self._scalar(row)
        if result is None or result is True or result is False:
            return result
        raise ExpressionTypeError(
            f"a condition must give a boolean, got {_type_name(result)}", source=self.source
        )

    def _evaluate_vec(self, frame: pd.DataFrame) -> tuple[_Vec, Any]:
        if not self._vector:
            builder = _VectorBuilder(self.source)
            self._vector.append(builder.build(self._node))
        import numpy as np  # deliberately lazy

        ctx = _FrameContext(frame)
        return self._vector[0](ctx, np.ones(ctx.n, dtype=bool)), np

    def evaluate_frame(self, frame: pd.DataFrame) -> pd.Series:
        """Evaluate on every row of ``frame`` (a fact column absent from it is all MISSING).

        Numeric expressions give a float64 Series with NaN for MISSING; any other gives an object Series
        of float/str/bool values and None for MISSING. The index is the frame's. Each row's value equals
        :meth:`evaluate` on that row; a type error in any row raises :class:`ExpressionTypeError`.
        """
        import pandas as pd  # deliberately lazy

        vec, np = self._evaluate_vec(frame)
        tag = vec.tag
        if self._kind == "num":
            return pd.Series(np.where(tag == _NUM, vec.num, np.nan), index=frame.index, dtype="float64")
        out = np.full(len(tag), None, dtype=object)
        idx = np.flatnonzero(tag == _NUM)
        out[idx] = vec.num[idx].tolist()
        idx = np.flatnonzero(tag == _BOOL)
        out[idx] = (vec.num[idx] != 0.0).tolist()
        idx = np.flatnonzero(tag == _STR)
        if len(idx):
            assert vec.obj is not None
            out[idx] = vec.obj[idx]
        return pd.Series(out, index=frame.index, dtype=object)

    def hit_frame(self, frame: pd.DataFrame) -> pd.Series:
        """Evaluate a condition on every row: a pandas ``boolean`` Series with ``pd.NA`` for MISSING."""
        import pandas as pd  # deliberately lazy

        vec, np = self._evaluate_vec(frame)
        bad = (vec.tag != _MISS) & (vec.tag != _BOOL)
        if bad.any():
            i = int(np.argmax(bad))
            raise ExpressionTypeError(
                f"a condition must give a boolean, got {_TAG_NAMES[vec.tag[i]]}",
                source=self.source,
                row=frame.index[i : i + 1].tolist()[0],
            )
        values = pd.arrays.BooleanArray(vec.num != 0.0, vec.tag == _MISS)
        return pd.Series(values, index=frame.index)


def compile_expression(source: str, params: Mapping[str, Any] | None = None) -> CompiledExpression:
    """Compile ``source``; names without a dot are looked up in ``params`` and fixed now.

    Parameter values may be numbers, strings, booleans or None, or lists of numbers/strings/booleans
    for the right side of ``in``. Raises :class:`ExpressionError` naming the problem and its column.
    """
    if not isinstance(source, str):
        raise ExpressionError(f"an expression must be a string, got {type(source).__name__}")
    parser = _Parser(source, params or {})
    node = parser.parse()
    scalar = _ScalarBuilder(source).build(node)
    bound = tuple(sorted((k, v) for k, v in parser.used.items()))
    return CompiledExpression(
        source=source,
        facts=frozenset(parser.facts),
        params=frozenset(parser.used),
        _bound=bound,
        _node=node,
        _scalar=scalar,
        _kind=node.kind,
    )
