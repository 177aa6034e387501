"""The column evaluator: a syntax tree to a closure tree that evaluates a whole pandas DataFrame,
or a mapping of fact names to numpy / pyarrow columns (the batch jobs: no pandas).

numpy and pandas are imported only when a frame is evaluated (never at import), so the online
Lambda functions, which evaluate single rows, never load them.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from lendguard.policy.expr.errors import ExpressionError, ExpressionTypeError
from lendguard.policy.expr.scalar import _round
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
from lendguard.policy.expr.values import _norm

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

# Each node yields a _Vec: a type tag per row plus the values. Booleans are stored as 0.0/1.0 in
# ``num``; strings live in the object array ``obj``. ``active`` marks the rows whose value is used:
# the right side of ``and``/``or`` and later ``coalesce`` arguments are active only where the scalar
# path would evaluate them, so both raise type errors for exactly the same rows.

_MISS, _NUM, _STR, _BOOL, _BADTAG = 0, 1, 2, 3, 4
_TAG_NAMES = ("missing", "number", "string", "boolean", "unsupported value")


class _Vec:
    """Tags and values of one node. Strings may also be held as a pyarrow array (``arrow``, a
    column loaded from Arrow, plain or dictionary-encoded) or one constant (``text``): comparisons with a constant then run in
    Arrow's kernels, and the object array is built only if something else needs it."""

    __slots__ = ("_obj", "arrow", "num", "tag", "text")

    def __init__(
        self,
        tag: np.ndarray,
        num: np.ndarray,
        obj: np.ndarray | None = None,
        *,
        arrow: Any = None,
        text: str | None = None,
    ) -> None:
        self.tag = tag
        self.num = num
        self._obj = obj
        self.arrow = arrow
        self.text = text

    @property
    def obj(self) -> np.ndarray | None:
        if self._obj is None:
            if self.arrow is not None:
                self._obj = self.arrow.to_numpy(zero_copy_only=False)
            elif self.text is not None:
                import numpy as np

                self._obj = np.full(len(self.tag), self.text, dtype=object)
        return self._obj


class _FrameContext:
    __slots__ = ("cache", "frame", "n")

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.n = len(frame)
        self.cache: dict[str, _Vec] = {}

    def load(self, name: str, np: Any) -> _Vec | None:
        """The fact column ``name`` as a _Vec, None when the frame lacks it."""
        import pandas as pd  # deliberately lazy

        if name not in self.frame.columns:
            return None
        column = self.frame[name]
        if isinstance(column, pd.DataFrame):
            raise ExpressionError(f"the frame has more than one column named {name!r}")
        return _load_column(column, np, pd)

    def label(self, i: int) -> Any:
        """How an error names row ``i``: the frame's index label."""
        return self.frame.index[i : i + 1].tolist()[0]


class _ArrayContext:
    """Facts as numpy arrays or pyarrow arrays (no pandas): what the batch jobs evaluate on."""

    __slots__ = ("cache", "columns", "n")

    def __init__(self, columns: Mapping[str, Any], n: int) -> None:
        self.columns = columns
        self.n = n
        self.cache: dict[str, _Vec] = {}

    def load(self, name: str, np: Any) -> _Vec | None:
        if name not in self.columns:
            return None
        return _load_array(self.columns[name], np)

    def label(self, i: int) -> Any:
        return i


_Context = _FrameContext | _ArrayContext


def _arrow_compare(a: _Vec, b: _Vec, compare: Callable) -> np.ndarray | None:
    """``compare(a, b)`` for a string column held in Arrow against a string constant, by Arrow's
    kernels (UTF-8 byte order is code point order: the same answers as Python's ``str``), as a
    bool array over every row; None when the sides are not such a pair."""
    kernels = {operator.eq: "equal", operator.ne: "not_equal", operator.lt: "less",
               operator.le: "less_equal", operator.gt: "greater", operator.ge: "greater_equal"}  # fmt: skip
    name = kernels.get(compare)
    if name is None:
        return None
    if a.arrow is not None and b.text is not None:
        column, left, right = a.arrow, a.arrow, b.text
    elif a.text is not None and b.arrow is not None:
        column, left, right = b.arrow, a.text, b.arrow
    else:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(column.type) and isinstance(column, pa.Array) and not column.null_count:
        # a category column: compare its few distinct values once, then look each row's up
        small = column.dictionary
        outcome = getattr(pc, name)(small, right) if column is left else getattr(pc, name)(left, small)
        found: np.ndarray = outcome.fill_null(False).to_numpy(zero_copy_only=False)
        return found.take(column.indices.to_numpy(zero_copy_only=False).astype("intp", copy=False))
    result = getattr(pc, name)(left, right).fill_null(False)
    return result.to_numpy(zero_copy_only=False)


def _load_array(values: Any, np: Any) -> _Vec:
    """Classify a numpy or pyarrow column into a _Vec, exactly as ``_norm`` classifies single values."""
    if hasattr(values, "to_numpy") and hasattr(values, "type"):  # pyarrow Array / ChunkedArray
        import pyarrow as pa  # only when pyarrow columns are given

        kind = values.type
        nulls = values.is_null().to_numpy(zero_copy_only=False) if values.null_count else None
        if pa.types.is_boolean(kind) or pa.types.is_integer(kind) or pa.types.is_floating(kind):
            boolean = pa.types.is_boolean(kind)
            filled = values.fill_null(False if boolean else 0) if nulls is not None else values
            num = filled.to_numpy(zero_copy_only=False).astype(np.float64)
            tag = _BOOL if boolean else _NUM
            if nulls is None and not pa.types.is_floating(kind):  # nothing can be missing
                return _Vec(np.full(len(num), tag, np.int8), num)
            missing = np.isnan(num) if pa.types.is_floating(kind) else np.zeros(len(num), bool)
            if nulls is not None:
                missing |= nulls
            return _Vec(np.where(missing, np.int8(_MISS), np.int8(tag)), num)
        textual = kind.value_type if pa.types.is_dictionary(kind) else kind  # categories: strings
        if pa.types.is_string(textual) or pa.types.is_large_string(textual):
            n = len(values)
            missing = nulls if nulls is not None else np.zeros(n, bool)
            return _Vec(np.where(missing, _MISS, _STR).astype(np.int8), np.zeros(n), arrow=values)
        values = values.to_numpy(zero_copy_only=False)
    array = np.asarray(values)
    n = len(array)
    kind = array.dtype.kind
    if kind == "b":
        return _Vec(np.full(n, _BOOL, np.int8), array.astype(np.float64))
    if kind in "iu":
        return _Vec(np.full(n, _NUM, np.int8), array.astype(np.float64))
    if kind == "f":
        num = array.astype(np.float64)
        return _Vec(np.where(np.isnan(num), _MISS, _NUM).astype(np.int8), num)
    if kind == "U":
        return _Vec(np.full(n, _STR, np.int8), np.zeros(n), array.astype(object))
    tag = np.empty(n, np.int8)
    num = np.zeros(n)
    obj = np.empty(n, dtype=object)
    _classify(array.astype(object), tag, num, obj)
    return _Vec(tag, num, obj)


def _classify(values: np.ndarray, tag: np.ndarray, num: np.ndarray, obj: np.ndarray) -> None:
    """Value by value, with the scalar path's own rules (object columns)."""
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


_Vector = Callable[["_Context", "np.ndarray"], _Vec]


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
    tag = np.empty(n, np.int8)
    num = np.zeros(n)
    obj = np.empty(n, dtype=object)
    _classify(column.to_numpy(dtype=object), tag, num, obj)
    return _Vec(tag, num, obj)


class _VectorBuilder(_NodeBuilder[_Vector]):
    """Builds the closure tree that evaluates a whole frame; imports numpy when constructed."""

    def __init__(self, source: str) -> None:
        import numpy  # deliberately lazy, see the module docstring

        self.np = numpy
        self.source = source

    def fail(self, ctx: _Context, bad: np.ndarray, node: _Node, describe: Callable[[int], str]) -> None:
        """Raise for the first row of ``bad``, if any."""
        if bad.any():
            i = int(self.np.argmax(bad))
            raise ExpressionTypeError(describe(i), column=node.col, source=self.source, row=ctx.label(i))

    def _const(self, node: _Const) -> _Vector:
        np = self.np
        value = node.value
        t = type(value)
        tag = {float: _NUM, str: _STR, bool: _BOOL}.get(t, _MISS)
        number = float(value) if t in (float, bool) else 0.0

        def const(ctx: _Context, active: np.ndarray) -> _Vec:
            n = ctx.n
            return _Vec(np.full(n, tag, np.int8), np.full(n, number), text=value if t is str else None)

        return const

    def _fact(self, node: _Fact) -> _Vector:
        np = self.np
        name = node.name

        def fact(ctx: _Context, active: np.ndarray) -> _Vec:
            vec = ctx.cache.get(name)
            if vec is None:
                vec = ctx.load(name, np)
                if vec is None:
                    vec = _Vec(np.zeros(ctx.n, np.int8), np.zeros(ctx.n))
                ctx.cache[name] = vec
            found = vec  # read only on failure: the object array may never be needed
            self.fail(
                ctx,
                active & (vec.tag == _BADTAG),
                node,
                lambda i: f"fact {name!r} has an unsupported value of type {type(found.obj[i]).__name__}",
            )
            return vec

        return fact

    def _neg(self, node: _Neg) -> _Vector:
        np = self.np
        fa = self.build(node.operand)

        def neg(ctx: _Context, active: np.ndarray) -> _Vec:
            a = fa(ctx, active)
            bad = active & (a.tag != _MISS) & (a.tag != _NUM)
            self.fail(ctx, bad, node, lambda i: f"unary '-' needs a number, got {_TAG_NAMES[a.tag[i]]}")
            return _Vec(np.where(a.tag == _NUM, _NUM, _MISS).astype(np.int8), -a.num)

        return neg

    def _not(self, node: _Not) -> _Vector:
        np = self.np
        fa = self.build(node.operand)

        def not_(ctx: _Context, active: np.ndarray) -> _Vec:
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
        bool8, miss8 = np.int8(_BOOL), np.int8(_MISS)  # np.where of two int8 scalars makes int8 tags directly

        def booleans(ctx: _Context, vec: _Vec, active: np.ndarray) -> np.ndarray:
            """Where ``vec`` is a boolean; raises for an active row neither boolean nor missing."""
            boolean = vec.tag == _BOOL
            bad = active & ~boolean & (vec.tag != _MISS)
            self.fail(ctx, bad, node, lambda i: f"{op!r} needs booleans, got {_TAG_NAMES[vec.tag[i]]}")
            return boolean

        def logic(ctx: _Context, active: np.ndarray) -> _Vec:
            a = fa(ctx, active)
            a_bool = booleans(ctx, a, active)
            a_decides = a_bool & (a.num == deciding)
            right_active = active & ~a_decides
            b = fb(ctx, right_active)
            b_bool = booleans(ctx, b, right_active)
            decided = a_decides | (b_bool & (b.num == deciding))
            # known: decided by one side, or both sides booleans (then neither decides)
            tag = np.where(decided | (a_bool & b_bool), bool8, miss8)
            num = (decided if deciding else ~decided).astype(np.float64)  # the deciding value where decided
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

        def arith(ctx: _Context, active: np.ndarray) -> _Vec:
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
                fast = _arrow_compare(a, b, compare)
                if fast is not None:
                    np.copyto(out, fast, where=mask)
                    return
                idx = np.flatnonzero(mask)
                assert a.obj is not None and b.obj is not None
                # Both sides are str at these rows: numpy applies the operator element-wise in C.
                out[idx] = np.asarray(compare(a.obj[idx], b.obj[idx]), dtype=bool)

        def equal_of(a: _Vec, b: _Vec) -> _Vec:
            missing = (a.tag == _MISS) | (b.tag == _MISS)
            same = a.tag == b.tag
            numeric = same & ((a.tag == _NUM) | (a.tag == _BOOL))
            equal = numeric & (a.num == b.num)
            strings(a, b, same & (a.tag == _STR), equal, operator.eq)
            if op == "!=":
                equal = ~equal
            return _Vec(np.where(missing, _MISS, _BOOL).astype(np.int8), equal.astype(np.float64))

        def order_of(ctx: _Context, active: np.ndarray, a: _Vec, b: _Vec) -> _Vec:
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

        # A comparison with a constant on the right (``account.days_past_due >= 30``, ``account.status
        # == "ACTIVE"``), the usual rule: the constant's side is known, so only the other side's tags
        # are looked at: the same answers and errors as above, in half the array operations.
        right = node.right.value if isinstance(node.right, _Const) else None
        bool8, miss8 = np.int8(_BOOL), np.int8(_MISS)
        if type(right) is float:
            number = right

            if op in ("==", "!="):

                def equality_number(ctx: _Context, active: np.ndarray) -> _Vec:
                    a = fa(ctx, active)
                    equal = (a.tag == _NUM) & (a.num == number)
                    if op == "!=":
                        equal = ~equal
                    return _Vec(np.where(a.tag == _MISS, miss8, bool8), equal.astype(np.float64))

                return equality_number

            def order_number(ctx: _Context, active: np.ndarray) -> _Vec:
                a = fa(ctx, active)
                numeric = a.tag == _NUM
                self.fail(
                    ctx,
                    active & ~numeric & (a.tag != _MISS),
                    node,
                    lambda i: f"{op!r} cannot compare {_TAG_NAMES[a.tag[i]]} with {_TAG_NAMES[_NUM]}",
                )
                with np.errstate(invalid="ignore"):
                    result = numeric & py_op(a.num, number)
                return _Vec(np.where(numeric, bool8, miss8), result.astype(np.float64))

            return order_number

        if type(right) is str and op in ("==", "!="):

            def equality_text(ctx: _Context, active: np.ndarray) -> _Vec:
                a = fa(ctx, active)
                b = fb(ctx, active)
                fast = _arrow_compare(a, b, operator.eq) if a.arrow is not None else None
                if fast is None:
                    return equal_of(a, b)
                equal = (a.tag == _STR) & fast
                if op == "!=":
                    equal = ~equal
                return _Vec(np.where(a.tag == _MISS, miss8, bool8), equal.astype(np.float64))

            return equality_text

        if op in ("==", "!="):

            def equality(ctx: _Context, active: np.ndarray) -> _Vec:
                return equal_of(fa(ctx, active), fb(ctx, active))

            return equality

        def order(ctx: _Context, active: np.ndarray) -> _Vec:
            return order_of(ctx, active, fa(ctx, active), fb(ctx, active))

        return order

    def _member(self, node: _Member) -> _Vector:
        np = self.np
        fa = self.build(node.operand)
        numbers_ = np.array([v for v in node.items if type(v) is float], dtype=np.float64)
        bools = np.array([float(v) for v in node.items if type(v) is bool], dtype=np.float64)
        texts = frozenset(v for v in node.items if type(v) is str)
        negated = node.negated

        def member(ctx: _Context, active: np.ndarray) -> _Vec:
            a = fa(ctx, active)
            found = ((a.tag == _NUM) & np.isin(a.num, numbers_)) | ((a.tag == _BOOL) & np.isin(a.num, bools))
            textual = a.tag == _STR
            if textual.any() and not texts:
                found[textual] = False
            elif textual.any() and a.arrow is not None:
                import pyarrow as pa
                import pyarrow.compute as pc

                kind = a.arrow.type
                kind = kind.value_type if pa.types.is_dictionary(kind) else kind
                inside = pc.is_in(a.arrow, value_set=pa.array(sorted(texts), kind))
                found[textual] = inside.fill_null(False).to_numpy(zero_copy_only=False)[textual]
            elif textual.any():
                idx = np.flatnonzero(textual)
                assert a.obj is not None
                found[idx] = np.isin(a.obj[idx], np.array(sorted(texts), dtype=object))
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

            def presence(ctx: _Context, active: np.ndarray) -> _Vec:
                a = fa(ctx, active)
                found = (a.tag == _MISS) == want_missing
                return _Vec(np.full(ctx.n, _BOOL, np.int8), found.astype(np.float64))

            return presence

        if name == "coalesce":

            def coalesce(ctx: _Context, active: np.ndarray) -> _Vec:
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

        def check(ctx: _Context, args: list[_Vec], active: np.ndarray) -> np.ndarray:
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

            def numeric1(ctx: _Context, active: np.ndarray) -> _Vec:
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

        def extremum(ctx: _Context, active: np.ndarray) -> _Vec:
            args = [f(ctx, active) for f in fns]
            invalid = check(ctx, args, active)
            result = args[0].num
            with np.errstate(invalid="ignore"):
                for v in args[1:]:
                    result = np.where(take_new(v.num, result), v.num, result)
            return _Vec(np.where(invalid, _MISS, _NUM).astype(np.int8), result)

        return extremum
