"""A tree ensemble's single-row paths as straight-line Python: no per-node loop overhead.

:meth:`TreeEnsemble.predict_margin` walks flat arrays node by node; each step is a loop turn and
four list reads. Here every tree becomes one nested conditional expression (the margin) or one
nested ``if`` block (the contributions), compiled once per ensemble, so a row costs only its
comparisons and additions: several times faster for the scoring stage's one row.

The results are identical to the array walk, bit for bit: the same comparisons
(``xs[k] < threshold``, with ``xs`` the float32-rounded row and missing values as -inf / +inf),
the same float additions in the same order (leaf values and contribution steps are written as
``repr`` literals, which read back as the same doubles; each step ``mean(child) - mean(parent)``
is the same subtraction the walk makes, done once here). ``tests/unit/test_tree_code.py``
compares both on random rows and models.

Safety: the generated source holds only integers (feature slots) and float literals taken from
the model's numeric arrays, checked finite; no text from a model file reaches it. A model that
would make unwieldy code (very deep or very large) is not compiled and keeps the array walk.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

# Beyond these the generated code would hit the parser's nesting limits or take long to
# compile; such models keep the array walk.
MAX_DEPTH = 48
MAX_NODES = 200_000

MarginFunction = Callable[[list[float]], float]
# Returns the contribution per feature slot (the caller folds missing-value slots onto features).
ContributionFunction = Callable[[list[float]], tuple[float, ...]]


def _literal(value: float) -> str:
    if not math.isfinite(value):
        raise ValueError("non-finite value")
    return repr(float(value))


def _depth(root: int, left: Sequence[int], right: Sequence[int]) -> int:
    deepest, stack = 0, [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if node < 0:
            deepest = max(deepest, depth)
            continue
        stack += [(left[node], depth + 1), (right[node], depth + 1)]
    return deepest


def _fits(roots: Sequence[int], left: Sequence[int], right: Sequence[int]) -> bool:
    return len(left) <= MAX_NODES and all(_depth(r, left, right) <= MAX_DEPTH for r in roots)


def _compile(source: str, name: str) -> Callable[..., object]:
    namespace: dict[str, object] = {}
    # The source is generated above from integers and finite float literals only.
    exec(compile(source, f"<lendguard tree ensemble: {name}>", "exec"), namespace)
    return namespace[name]  # type: ignore[return-value]


def _unpack(n_slots: int) -> str:
    # Row values as local variables: a local read is far cheaper than a subscript.
    return f"    ({', '.join(f'x{k}' for k in range(n_slots))},) = x"


def margin_function(
    n_slots: int,
    base_margin: float,
    roots: Sequence[int],
    feat: Sequence[int],
    thr: Sequence[float],
    left: Sequence[int],
    right: Sequence[int],
) -> MarginFunction | None:
    """``f(xs) -> margin`` for prepared rows (see ``TreeEnsemble._prepare``); None if not compiled.

    Arrays as ``TreeEnsemble._flatten`` lays them out: node ``g`` goes left when
    ``xs[feat[g]] < thr[g]``; a child ``c < 0`` is the leaf whose value is ``thr[~c]``.
    """
    if not _fits(roots, left, right):
        return None

    def expression(node: int) -> str:
        if node < 0:
            return _literal(thr[~node])
        return (
            f"({expression(left[node])} if x{int(feat[node])} < {_literal(thr[node])} "
            f"else {expression(right[node])})"
        )

    try:
        lines = ["def margin(x):", _unpack(n_slots), f"    m = {_literal(base_margin)}"]
        lines += [f"    m += {expression(root)}" for root in roots]
    except ValueError:
        return None
    lines.append("    return m")
    return _compile("\n".join(lines) + "\n", "margin")  # type: ignore[return-value]


def contribution_function(
    n_slots: int,
    n_features: int,
    roots: Sequence[int],
    feat: Sequence[int],
    thr: Sequence[float],
    left: Sequence[int],
    right: Sequence[int],
    means: Sequence[float],
    orig: Sequence[int],
) -> ContributionFunction | None:
    """``f(xs) -> (per feature)``: each split's step along the row's paths, summed by feature.

    ``means[g]`` is node ``g``'s mean value and ``orig[g]`` its split feature (as in
    ``TreeEnsemble.contributions``); the bias does not depend on the row and is not included.
    """
    if not _fits(roots, left, right):
        return None
    lines = ["def contributions(x):", _unpack(n_slots)]
    lines += [f"    o{k} = 0.0" for k in range(n_features)]

    def block(node: int, indent: str) -> None:
        if node < 0:
            return
        parent_mean = means[node]
        for branch, child in (("if", left[node]), ("else", right[node])):
            if branch == "if":
                lines.append(f"{indent}if x{int(feat[node])} < {_literal(thr[node])}:")
            else:
                lines.append(f"{indent}else:")
            step = means[child if child >= 0 else ~child] - parent_mean
            lines.append(f"{indent}    o{int(orig[node])} += {_literal(step)}")
            block(child, indent + "    ")

    try:
        for root in roots:
            block(root, "    ")
    except ValueError:
        return None
    lines.append(f"    return ({', '.join(f'o{k}' for k in range(n_features))},)")
    return _compile("\n".join(lines) + "\n", "contributions")  # type: ignore[return-value]
