"""condition_of (the rules' one-call conditions) answers exactly what CompiledExpression.hit does.

Each shape with a short cut is fed every kind of fact value (floats incl. NaN and infinities,
ints incl. ones too large for a float, booleans, strings, None, absent, unsupported types); the
answer, or the error and its message, must be the long way's.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lendguard.policy.expr import compile_expression
from lendguard.policy.expr.condition import condition_of

SOURCES = [
    "a.x > 3",
    "a.x >= -1.5",
    "a.x < 0",
    "a.x <= 1e308",
    "a.x > limit",
    "a.x",
    "not a.x",
    "a.x == 'y'",
    "a.x in ['a', 'b']",
    "a.x and not b.y",
    "not a.x or not b.y",
    "(a.x >= 1 and a.x < 5) or b.y > 2",
    "a.x > 2 * b.y",
    "coalesce(a.x, 0) < 3",
    "is_missing(a.x)",
    "a.x + 1",  # not a condition: both ways must raise the same type error
]

VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
    st.sampled_from([Decimal("1.5"), Decimal("NaN"), [1], {"k": 1}, b"x", object()]),
)
ABSENT = object()


def _answer(fn: Any, row: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "value", fn(row)
    except Exception as exc:  # compared: the same type and message
        return type(exc).__name__, str(exc)


@pytest.mark.parametrize("source", SOURCES)
@given(x=st.one_of(VALUES, st.just(ABSENT)), y=st.one_of(VALUES, st.just(ABSENT)))
def test_a_condition_answers_as_hit_does(source: str, x: Any, y: Any) -> None:
    compiled = compile_expression(source, {"limit": 7})
    row = {name: value for name, value in (("a.x", x), ("b.y", y)) if value is not ABSENT}
    fast, slow = _answer(condition_of(compiled), row), _answer(compiled.hit, row)
    assert fast == slow
    assert type(fast[1]) is type(slow[1])


def test_the_short_cut_shapes_do_not_walk_the_tree() -> None:
    # The three common shapes answer a float or boolean fact without calling the closure tree.
    for source, row in [("a.x > 3", {"a.x": 4.0}), ("a.x", {"a.x": True}), ("not a.x", {"a.x": False})]:
        compiled = compile_expression(source)
        fn = condition_of(compiled)
        object.__setattr__(compiled, "_scalar", None)  # the tree, gone: a walk would fail
        assert fn(row) is True
