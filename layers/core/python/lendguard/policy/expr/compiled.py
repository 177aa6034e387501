"""The public API: :func:`compile_expression` and the :class:`CompiledExpression` it returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lendguard.policy.expr.errors import ExpressionError, ExpressionTypeError
from lendguard.policy.expr.parser import _Parser
from lendguard.policy.expr.scalar import _Scalar, _ScalarBuilder
from lendguard.policy.expr.syntax import _Node
from lendguard.policy.expr.values import _type_name

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from lendguard.policy.expr.column import _Vec, _Vector


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
        from lendguard.policy.expr.column import _FrameContext, _VectorBuilder  # numpy, pandas: lazily

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

        from lendguard.policy.expr.column import _BOOL, _NUM, _STR

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

        from lendguard.policy.expr.column import _BOOL, _MISS, _TAG_NAMES

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

    def hit_arrays(
        self, columns: Mapping[str, Any], n: int, cache: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Evaluate a condition on ``n`` rows of numpy / pyarrow columns (fact name -> column; an
        absent fact is MISSING): ``(hit, missing)`` boolean arrays, no pandas involved.

        Each row's outcome equals :meth:`hit` on that row; a type error names the row's position.
        ``cache``: a dict shared by several conditions over the same ``columns`` and ``n``, so each
        fact column is classified once for all of them (never modified once made).
        """
        from lendguard.policy.expr.column import _BOOL, _MISS, _TAG_NAMES, _ArrayContext, _VectorBuilder

        if not self._vector:
            self._vector.append(_VectorBuilder(self.source).build(self._node))
        import numpy as np  # deliberately lazy

        ctx = _ArrayContext(columns, n)
        if cache is not None:
            ctx.cache = cache
        vec = self._vector[0](ctx, np.ones(n, dtype=bool))
        bad = (vec.tag != _MISS) & (vec.tag != _BOOL)
        if bad.any():
            i = int(np.argmax(bad))
            raise ExpressionTypeError(
                f"a condition must give a boolean, got {_TAG_NAMES[vec.tag[i]]}", source=self.source, row=i
            )
        missing = vec.tag == _MISS
        return (vec.num != 0.0) & ~missing, missing


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
