"""The lexer: expression text to tokens, with hints for characters the language does not use."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lendguard.policy.expr.errors import ExpressionError

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
