"""Strict JSON: the one parser for every body a user sends, over HTTP and from a file in the CLI.

Python's ``json`` module is lenient where an API must not be: it keeps the last of duplicate
keys, reads ``NaN`` and ``Infinity``, turns ``1e400`` into infinity, recurses once per nesting
level (100,000 brackets exhaust the stack) and converts integers of any length (thousands of
digits cost quadratic time, then raise ``ValueError``). :func:`loads` refuses all of those with
a :class:`JsonProblem` that says what is wrong and where, never what the value was.

Limits (documented in the README, "HTTP API"):

- :data:`MAX_DEPTH` nested arrays / objects;
- :data:`MAX_INTEGER_DIGITS` digits in an integer, :data:`MAX_NUMBER_CHARS` characters in any
  number, and every number finite;
- UTF-8 without a byte order mark.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 32
MAX_INTEGER_DIGITS = 18
MAX_NUMBER_CHARS = 40
BOM = "\ufeff"

# A string literal (skipped whole, escapes included) or one bracket; anything else is ignored.
_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


class JsonProblem(ValueError):
    """Text that is not acceptable JSON; the message says why, without quoting the input."""


def decode_utf8(body: bytes) -> str:
    """``body`` as text: strict UTF-8, no byte order mark."""
    if body.startswith(BOM.encode()):
        raise JsonProblem("starts with a UTF-8 byte order mark (BOM); send UTF-8 without one")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonProblem(f"not valid UTF-8 (byte {exc.start})") from None


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects, found without recursion (strings are skipped)."""
    depth = deepest = 0
    for match in _STRUCTURE.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth -= 1
    return deepest


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JsonProblem(f"duplicate key {key!r}")
        out[key] = value
    return out


def _integer(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INTEGER_DIGITS:
        raise JsonProblem(f"an integer has {digits} digits; the limit is {MAX_INTEGER_DIGITS}")
    return int(text)


def _number(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise JsonProblem(f"a number is {len(text)} characters long; the limit is {MAX_NUMBER_CHARS}")
    value = float(text)
    if not math.isfinite(value):
        raise JsonProblem("a number is too large (it overflows to infinity)")
    return value


def _constant(name: str) -> Any:
    raise JsonProblem(f"{name} is not JSON; numbers must be finite")


def loads(body: str | bytes) -> Any:
    """Parse ``body`` strictly; :class:`JsonProblem` names the problem.

    Duplicate keys, ``NaN`` / ``Infinity``, numbers beyond the limits, nesting deeper than
    :data:`MAX_DEPTH`, invalid UTF-8 and a byte order mark are all refused.
    """
    text = decode_utf8(body) if isinstance(body, bytes) else body
    if text.startswith(BOM):
        raise JsonProblem("starts with a byte order mark (BOM); send UTF-8 without one")
    depth = nesting_depth(text)
    if depth > MAX_DEPTH:
        raise JsonProblem(f"nested {depth} levels deep; the limit is {MAX_DEPTH}")
    try:
        return json.loads(
            text,
            object_pairs_hook=_object,
            parse_int=_integer,
            parse_float=_number,
            parse_constant=_constant,
        )
    except json.JSONDecodeError as exc:
        raise JsonProblem(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
