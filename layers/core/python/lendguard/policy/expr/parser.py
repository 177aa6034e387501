"""The parser: tokens to a typed syntax tree, with parameters fixed at compile time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lendguard.policy.expr.errors import ExpressionError
from lendguard.policy.expr.lexer import _Token, _tokenize
from lendguard.policy.expr.syntax import (
    _CMP_OPS,
    _FUNCTIONS,
    _MAX_DEPTH,
    _MAX_NESTING,
    _Binary,
    _Call,
    _Const,
    _depth,
    _Fact,
    _Member,
    _Neg,
    _Node,
    _Not,
)
from lendguard.policy.expr.values import _BAD, _norm


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
