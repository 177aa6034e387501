"""Evaluate an exported XGBoost tree model without xgboost.

The online scoring Lambda must not ship or import xgboost (hundreds of MB, 0.5–2 s to import),
so it evaluates the model from the JSON that ``Booster.save_model("model.json")`` or
``Booster.save_raw("json")`` writes. Only ``binary:logistic`` (and ``reg:logistic``) gbtree
models with numerical splits are supported; anything else is rejected at load with a clear error.

Semantics, matched to XGBoost's CPU predictor (verified against ``Booster.inplace_predict`` in
``tests/unit/test_trees.py``):

* A split goes left when ``float32(x) < threshold`` (the threshold is a float32). The input is
  rounded to float32 first, exactly as XGBoost stores its input, so values sitting on or next to
  a threshold take the same branch as in XGBoost.
* ``None`` and NaN are missing and follow the node's ``default_left`` direction.
* The margin starts at the base margin (``logit(base_score)``) and adds one leaf value per tree
  in tree order. The batch path accumulates in float32 like XGBoost; the single-row path
  accumulates in float64 (faster in pure Python); both agree with XGBoost within 1e-6 in
  probability.

The module uses only the standard library for loading and single rows; numpy is imported lazily
by the batch functions.
"""

from __future__ import annotations

import itertools
import json
import math
from array import array
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from lendguard.models import tree_code

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = ["BIAS", "TreeEnsemble", "UnsupportedModelError"]

BIAS = "bias"
"""Key of the bias (base margin + expected tree output) entry in :meth:`TreeEnsemble.contributions`."""

_SUPPORTED_OBJECTIVES = frozenset({"binary:logistic", "reg:logistic"})
_NEG_INF = float("-inf")
_POS_INF = float("inf")
_NAN = float("nan")


class UnsupportedModelError(ValueError):
    """The JSON is not a model this evaluator can reproduce exactly (objective, booster, splits)."""


def _f32(value: float) -> float:
    """Round a Python float to the nearest float32 (returned as a float)."""
    return array("f", (value,))[0]


def _parse_base_score(raw: Any) -> float:
    """Parse ``base_score``: a number, ``"5E-1"`` (xgboost 2.x) or ``"[5E-1]"`` (3.x, a vector)."""
    if isinstance(raw, int | float):
        return float(raw)
    if isinstance(raw, list):
        if len(raw) != 1:
            raise UnsupportedModelError(f"base_score has {len(raw)} values; only one target is supported")
        return float(raw[0])
    text = str(raw).strip()
    if text.startswith("[") and text.endswith("]"):
        parts = [p for p in text[1:-1].split(",") if p.strip()]
        if len(parts) != 1:
            raise UnsupportedModelError(f"base_score {text!r}: only one target is supported")
        text = parts[0]
    try:
        return float(text)
    except ValueError as exc:
        raise UnsupportedModelError(f"cannot parse base_score {raw!r}") from exc


def _logit_f32(p: float) -> float:
    """``-log(1/p - 1)`` step by step in float32, as XGBoost's ``ProbToMargin`` does."""
    if not 0.0 < p < 1.0:
        raise UnsupportedModelError(f"base_score {p!r} must lie strictly between 0 and 1 for binary:logistic")
    p32 = _f32(p)
    inv = _f32(1.0 / p32)
    return _f32(-math.log(_f32(inv - 1.0)))


def _sigmoid(margin: float) -> float:
    if margin >= 0.0:
        return 1.0 / (1.0 + math.exp(-margin))
    e = math.exp(margin)
    return e / (1.0 + e)


class _Tree:
    """One tree as XGBoost stores it (node ids as in the JSON), thresholds rounded to float32."""

    __slots__ = ("default_left", "hess", "left", "right", "split_index", "value")

    def __init__(self, raw: Mapping[str, Any], tree_no: int, n_features: int) -> None:
        try:
            left = list(raw["left_children"])
            right = list(raw["right_children"])
            split_index = list(raw["split_indices"])
            cond = raw["split_conditions"]
            default_left = [bool(d) for d in raw["default_left"]]
        except KeyError as exc:
            raise UnsupportedModelError(f"tree {tree_no}: missing field {exc.args[0]!r}") from exc
        n = len(left)
        if n == 0 or not (len(right) == len(split_index) == len(cond) == len(default_left) == n):
            raise UnsupportedModelError(f"tree {tree_no}: node arrays are empty or of different lengths")
        split_type = raw.get("split_type") or ()
        if any(split_type) or raw.get("categories_nodes"):
            raise UnsupportedModelError(
                f"tree {tree_no} has categorical splits: categorical features are not supported by the "
                "light evaluator; encode them as numbers before training"
            )
        tree_param = raw.get("tree_param") or {}
        if int(tree_param.get("size_leaf_vector", 1) or 1) > 1:
            raise UnsupportedModelError(f"tree {tree_no} has vector leaves (multi-output trees)")
        leaves = [i for i, c in enumerate(left) if c == -1]
        if leaves != [i for i, c in enumerate(right) if c == -1]:
            raise UnsupportedModelError(f"tree {tree_no}: a node has only one child")
        kids = [c for c in left if c != -1]
        kids += [c for c in right if c != -1]
        # Every child id in range, none twice and never the root: a walk from the root ends.
        if kids and (min(kids) < 1 or max(kids) >= n or len(set(kids)) != len(kids)):
            raise UnsupportedModelError(f"tree {tree_no}: child indices are out of range or repeated")
        used = [s for s, c in zip(split_index, left, strict=True) if c != -1]
        if used and (min(used) < 0 or max(used) >= n_features):
            raise UnsupportedModelError(
                f"tree {tree_no}: split feature index out of range (model has {n_features} features)"
            )
        self.left = left
        self.right = right
        self.split_index = split_index
        self.value = array("f", cond).tolist()  # thresholds and leaf values are float32 in XGBoost
        self.default_left = default_left
        hess = raw.get("sum_hessian")
        self.hess = list(hess) if hess is not None and len(hess) == n else None

    def node_means(self) -> list[float]:
        """Hessian-weighted mean leaf value below each node (XGBoost's ``FillNodeMeanValues``)."""
        left, right, value, hess = self.left, self.right, self.value, self.hess
        means = [0.0] * len(left)
        order: list[int] = []  # pre-order, then processed in reverse: children before parents
        stack = [0]
        while stack:
            i = stack.pop()
            order.append(i)
            if left[i] != -1:
                stack.append(left[i])
                stack.append(right[i])
        for i in reversed(order):
            lc = left[i]
            if lc == -1:
                means[i] = value[i]
                continue
            rc = right[i]
            if hess is not None and hess[i] > 0:
                means[i] = (means[lc] * hess[lc] + means[rc] * hess[rc]) / hess[i]
            else:
                means[i] = 0.5 * (means[lc] + means[rc])
        return means

    def depth(self) -> int:
        deepest = 0
        stack = [(0, 0)]
        while stack:
            i, d = stack.pop()
            if self.left[i] == -1:
                deepest = max(deepest, d)
            else:
                if d > 10_000:
                    raise UnsupportedModelError("tree is cyclic or absurdly deep")
                stack.append((self.left[i], d + 1))
                stack.append((self.right[i], d + 1))
        return deepest


_MIN_ROWS_PER_WORKER = 1 << 15


def _workers(n_rows: int) -> int:
    """Threads for a batch of ``n_rows``: one per core this process may run on, none below
    :data:`_MIN_ROWS_PER_WORKER` rows each (a thread costs more than it saves on small batches)."""
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, n_rows // _MIN_ROWS_PER_WORKER))


_POOLS: dict[tuple[int, int], Any] = {}


def _pool(workers: int) -> Any:
    """A thread pool of ``workers`` threads kept for the process: a warm container's next shard
    reuses it (starting the threads cost ~4 ms a call). Keyed by process id too: a forked child
    inherits the pool but not its threads, and would wait on it for ever. Idle threads are
    joined when the interpreter exits."""
    import os

    key = (os.getpid(), workers)
    pool = _POOLS.get(key)
    if pool is None:
        from concurrent.futures import ThreadPoolExecutor

        pool = _POOLS[key] = ThreadPoolExecutor(workers, thread_name_prefix="lendguard-trees")
    return pool


class _Binner:
    """Ranks of a feature's values among the model's sorted thresholds on it (float32): the number
    of thresholds ``<= x`` (``np.searchsorted(edges, x, side="right")``), ``len(edges) + 1`` for
    a missing value.

    A binary search over random values mispredicts a branch per step (~35 ns a value here), so
    the thresholds' range is cut into a grid of equal cells: ``cell(x)`` is monotone in ``x`` (the
    same float64 subtraction and multiplication for values and thresholds), so every threshold in
    an earlier cell is ``<= x`` and every one in a later cell is ``> x``; only the few thresholds
    in x's own cell are compared. The same ranks as the binary search, in a handful of array
    operations; a feature whose thresholds crowd into one cell keeps the binary search.
    """

    _MAX_IN_CELL = 3

    def __init__(self, edges: np.ndarray) -> None:
        import numpy as np

        self.edges = edges
        self.missing = len(edges) + 1
        self.grid: tuple[float, float, float, np.ndarray, list[np.ndarray]] | None = None
        if len(edges) == 0 or not np.isfinite(edges).all():
            return
        lo, hi = float(edges[0]), float(edges[-1])
        cells = int(min(1 << 16, max(256, 16 * len(edges))))
        scale = (cells - 1) / (hi - lo) if hi > lo else 0.0
        cell = self._cells(edges.astype(np.float64), lo, scale)
        occupancy = np.bincount(cell, minlength=cells)
        if occupancy.max() > self._MAX_IN_CELL:
            return
        below = np.searchsorted(cell, np.arange(cells), side="left").astype(np.intp)
        first = np.searchsorted(cell, cell, side="left")
        # an empty slot is NaN: no value compares >= it, not even +inf
        slots = [np.full(cells, np.nan, dtype=np.float32) for _ in range(int(occupancy.max()))]
        for k, (c, j) in enumerate(zip(cell.tolist(), (np.arange(len(cell)) - first).tolist(), strict=True)):
            slots[j][c] = edges[k]
        self.grid = (lo, hi, scale, below, slots)

    @staticmethod
    def _cells(values: np.ndarray, lo: float, scale: float) -> np.ndarray:
        import numpy as np

        return ((values - lo) * scale).astype(np.intp)

    def ranks(self, column: np.ndarray) -> np.ndarray:
        """The rank of each value of ``column`` (a contiguous float32 array), as intp."""
        import numpy as np

        missing = np.isnan(column)
        if self.grid is None:
            rank = np.searchsorted(self.edges, column, side="right").astype(np.intp)
        else:
            lo, hi, scale, below, slots = self.grid
            # clipped into the thresholds' range (monotone too); compared below with the value itself
            clipped = np.clip(column, lo, hi).astype(np.float64)
            if missing.any():
                clipped[missing] = lo
            cell = self._cells(clipped, lo, scale)
            rank = below.take(cell)
            for slot in slots:
                rank += column >= slot.take(cell)
        if missing.any():
            rank[missing] = self.missing
        return rank


def _walk_every_interval(tree: _Tree, feats: list[int], local: dict[int, list[float]]) -> np.ndarray:
    """The leaf value a walk down ``tree`` reaches for every combination of intervals of its
    features (``feats``, each cut by its own ``local`` thresholds), in ``itertools.product``
    order: per feature -inf (below every threshold), each threshold (at or above it, below the
    next) and NaN (missing). All combinations walk down together, one level at a time, with the
    single-row rule: a missing value goes the default way, else left when ``value < threshold``."""
    import numpy as np

    if not feats:  # a single leaf: one combination (of no intervals), its value
        return np.asarray([tree.value[0]], dtype=np.float64)
    left = np.asarray(tree.left, dtype=np.intp)
    right = np.asarray(tree.right, dtype=np.intp)
    threshold = np.asarray(tree.value, dtype=np.float64)
    default_left = np.asarray(tree.default_left, dtype=bool)
    # the row of each split's feature in ``grid`` (features the tree does not split on: never read)
    row_of = np.zeros(max(tree.split_index, default=0) + 1, dtype=np.intp)
    row_of[feats] = np.arange(len(feats))
    split_row = row_of[np.asarray(tree.split_index, dtype=np.intp)]
    axes = [np.asarray([_NEG_INF, *local[f], _NAN], dtype=np.float64) for f in feats]
    grid = np.stack([g.ravel() for g in np.meshgrid(*axes, indexing="ij")])  # C order: product order
    columns = np.arange(grid.shape[1])
    node = np.zeros(grid.shape[1], dtype=np.intp)
    while True:
        inner = left[node] != -1
        if not inner.any():
            return threshold[node]  # a leaf's value sits where a split's threshold would
        v = grid[split_row[node], columns]
        with np.errstate(invalid="ignore"):
            go_left = np.where(np.isnan(v), default_left[node], v < threshold[node])
        node = np.where(inner, np.where(go_left, left[node], right[node]), node)


class TreeEnsemble:
    """A ``binary:logistic`` XGBoost gbtree model, evaluated in pure Python (or numpy for batches).

    Build it with :meth:`from_xgboost_json`. Rows are sequences of numbers in the order of
    :attr:`feature_names`; ``None`` or NaN mean missing.
    """

    def __init__(
        self,
        trees: list[_Tree],
        feature_names: Sequence[str],
        base_score: float,
        objective: str = "binary:logistic",
    ) -> None:
        self.feature_names: tuple[str, ...] = tuple(feature_names)
        self.n_features: int = len(self.feature_names)
        self.objective = objective
        self.base_score: float = base_score
        """Base score as a probability (XGBoost's ``base_score``)."""
        self.base_margin: float = _logit_f32(base_score)
        """Base score on the margin (log-odds) scale, a float32 value."""
        self._trees = trees
        self._flatten()
        self._batch_arrays: tuple[Any, ...] | None = None
        self._contrib_arrays: tuple[list[float], list[int]] | None = None
        self._leaf_tables: tuple[list[Any], list[Any]] | None = None
        self._binners: list[_Binner] = []
        self._typed_tables: dict[Any, list[Any]] = {}  # leaf tables in a summing dtype, per dtype
        # Straight-line code for one row (lendguard.models.tree_code), built on first use;
        # False once found not compilable (the array walk then serves).
        self._margin_code: Any = None
        self._contrib_code: Any = None

    # ------------------------------------------------------------------ loading

    @classmethod
    def from_xgboost_json(cls, data: bytes | str | Mapping[str, Any]) -> TreeEnsemble:
        """Parse the JSON model XGBoost writes (``save_model("x.json")`` / ``save_raw("json")``).

        Accepts the raw bytes, the text, or the already-decoded dict. Raises
        :class:`UnsupportedModelError` (a ``ValueError``) for objectives other than
        ``binary:logistic`` / ``reg:logistic``, non-gbtree boosters (dart, gblinear),
        multi-class / multi-target models and categorical splits.
        """
        if isinstance(data, bytes | bytearray | memoryview):
            doc = json.loads(bytes(data))
        elif isinstance(data, str):
            doc = json.loads(data)
        else:
            doc = data
        try:
            learner = doc["learner"]
        except (KeyError, TypeError) as exc:
            raise UnsupportedModelError("not an XGBoost JSON model (no 'learner')") from exc
        objective = (learner.get("objective") or {}).get("name", "")
        if objective not in _SUPPORTED_OBJECTIVES:
            raise UnsupportedModelError(
                f"objective {objective!r} is not supported; expected one of {sorted(_SUPPORTED_OBJECTIVES)}"
            )
        booster = learner.get("gradient_booster") or {}
        if booster.get("name") != "gbtree":
            raise UnsupportedModelError(
                f"booster {booster.get('name')!r} is not supported; expected 'gbtree'"
            )
        param = learner.get("learner_model_param") or {}
        if int(param.get("num_class", 0) or 0) > 1 or int(param.get("num_target", 1) or 1) > 1:
            raise UnsupportedModelError("multi-class / multi-target models are not supported")
        n_features = int(param.get("num_feature", 0) or 0)
        names = list(learner.get("feature_names") or [])
        if names and n_features and len(names) != n_features:
            raise UnsupportedModelError(f"{len(names)} feature names for {n_features} features")
        if not names:
            names = [f"f{i}" for i in range(n_features)]
        n_features = len(names)
        types = list(learner.get("feature_types") or [])
        categorical = [names[i] for i, t in enumerate(types) if t == "c" and i < len(names)]
        if categorical:
            raise UnsupportedModelError(
                f"categorical features {categorical} are not supported by the light evaluator; "
                "encode them as numbers before training"
            )
        model = booster.get("model") or {}
        raw_trees = model.get("trees") or []
        tree_info = model.get("tree_info") or [0] * len(raw_trees)
        if len(tree_info) != len(raw_trees):
            raise UnsupportedModelError("tree_info and trees differ in length")
        if any(int(g) != 0 for g in tree_info):
            raise UnsupportedModelError(
                "trees for more than one output group (multi-class) are not supported"
            )
        trees = [_Tree(t, k, n_features) for k, t in enumerate(raw_trees)]
        base_score = _parse_base_score(param.get("base_score", 0.5))
        return cls(trees, names, base_score, objective)

    def _flatten(self) -> None:
        """Lay all trees out in flat lists for the single-row loop.

        Node ``g`` (global id = tree offset + node id) goes left when
        ``xs[feat[g]] < thr[g]``, where ``xs`` is the float32-rounded row with missing values as
        ``-inf`` (first half) or ``+inf`` (second half): ``feat`` points into the half that sends a
        missing value to the node's default direction. Child pointers to leaves are stored as
        ``~g`` (negative), so the loop stops on a negative id and reads ``leaf[~id]``.
        """
        n_feat = self.n_features
        feat: list[int] = []
        thr: list[float] = []
        left: list[int] = []
        right: list[int] = []
        roots: list[int] = []
        offset = 0
        for tree in self._trees:
            lc, rc, value = tree.left, tree.right, tree.value
            n = len(lc)
            feat.extend(
                [s if d else s + n_feat for s, d in zip(tree.split_index, tree.default_left, strict=True)]
            )
            thr.extend(value)
            left.extend([(~(c + offset) if lc[c] == -1 else c + offset) if c != -1 else 0 for c in lc])
            right.extend([(~(c + offset) if lc[c] == -1 else c + offset) if c != -1 else 0 for c in rc])
            roots.append(~offset if lc[0] == -1 else offset)
            offset += n
        self._feat = feat
        self._thr = thr
        self._left = left
        self._right = right
        self._leaf = thr  # leaf values live in the same slots (split_conditions of leaves)
        self._roots = roots

    # ------------------------------------------------------------------ properties

    @property
    def n_trees(self) -> int:
        """Number of trees."""
        return len(self._trees)

    @property
    def max_depth(self) -> int:
        """Depth of the deepest tree (a single leaf has depth 0)."""
        return max((t.depth() for t in self._trees), default=0)

    def __repr__(self) -> str:
        return (
            f"TreeEnsemble(n_trees={self.n_trees}, n_features={self.n_features}, "
            f"base_score={self.base_score!r}, objective={self.objective!r})"
        )

    # ------------------------------------------------------------------ single row

    def _prepare(self, row: Sequence[Any]) -> list[float]:
        if len(row) != self.n_features:
            raise ValueError(f"row has {len(row)} values, the model expects {self.n_features}")
        try:
            vals = array("f", [_NAN if v is None else v for v in row]).tolist()
        except TypeError as exc:
            raise TypeError(f"row values must be numbers or None: {exc}") from exc
        lo = [_NEG_INF if x != x else x for x in vals]
        hi = [_POS_INF if x != x else x for x in vals]
        return lo + hi

    def predict_margin(self, row: Sequence[float | None]) -> float:
        """Margin (log-odds of the positive class) for one row in :attr:`feature_names` order."""
        xs = self._prepare(row)
        code = self._margin_code
        if code is None:
            code = self._margin_code = (
                tree_code.margin_function(
                    2 * self.n_features,
                    self.base_margin,
                    self._roots,
                    self._feat,
                    self._thr,
                    self._left,
                    self._right,
                )
                or False
            )
        if code:
            return code(xs)
        feat, thr, left, right, leaf = self._feat, self._thr, self._left, self._right, self._leaf
        margin = self.base_margin
        for i in self._roots:
            while i >= 0:
                i = left[i] if xs[feat[i]] < thr[i] else right[i]
            margin += leaf[~i]
        return margin

    def compile_single_row(self) -> bool:
        """Build the single-row code now (warm-up) rather than on the first row; True if compiled."""
        self.predict_margin([None] * self.n_features)
        self.contributions([None] * self.n_features)
        return bool(self._margin_code) and bool(self._contrib_code)

    def predict_proba(self, row: Sequence[float | None]) -> float:
        """Probability of the positive class (label 1, e.g. default) for one row."""
        return _sigmoid(self.predict_margin(row))

    def row_from_mapping(self, values: Mapping[str, Any]) -> list[Any]:
        """Order a ``{feature name: value}`` mapping as a row; absent keys become ``None`` (missing)."""
        get = values.get
        return [get(name) for name in self.feature_names]

    def predict_proba_mapping(self, values: Mapping[str, Any]) -> float:
        """Probability for one row given as ``{feature name: value}``; absent keys / ``None`` are missing.

        Keys that are not model features are ignored.
        """
        return _sigmoid(self.predict_margin(self.row_from_mapping(values)))

    def contributions(self, row: Sequence[float | None]) -> dict[str, float]:
        """Saabas-style per-feature contributions to the margin, plus a ``"bias"`` entry.

        For each tree the decision path is walked; the change of the node value from a parent
        to the child taken is attributed to the parent's split feature. Node values are
        XGBoost's hessian-weighted mean leaf values below each node (what
        ``Booster.predict(..., pred_contribs=True, approx_contribs=True)`` uses; ``base_weights``
        of internal nodes are the nodes' own Newton steps and do not telescope to the leaf
        value). ``bias`` = base margin + the sum of the root values. The entries add up to
        :meth:`predict_margin`. Positive values push towards the positive class (higher risk).
        """
        xs = self._prepare(row)
        if self._contrib_arrays is None:
            means: list[float] = []
            for tree in self._trees:
                means.extend(tree.node_means())
            n_feat = self.n_features
            self._contrib_arrays = (means, [f % n_feat for f in self._feat])
        means, orig = self._contrib_arrays
        feat, thr, left, right = self._feat, self._thr, self._left, self._right
        out = [0.0] * self.n_features
        bias = self.base_margin
        code = self._contrib_code
        if code is None:
            code = self._contrib_code = (
                tree_code.contribution_function(
                    2 * self.n_features, self.n_features, self._roots, feat, thr, left, right, means, orig
                )
                or False
            )
        if code:
            for root in self._roots:  # the bias does not depend on the row
                bias += means[root if root >= 0 else ~root]
            result = dict(zip(self.feature_names, code(xs), strict=True))
            result[BIAS] = bias
            return result
        for root in self._roots:
            i = root if root >= 0 else ~root
            bias += means[i]
            while root >= 0:
                i = root
                root = left[i] if xs[feat[i]] < thr[i] else right[i]
                child = root if root >= 0 else ~root
                out[orig[i]] += means[child] - means[i]
        result = dict(zip(self.feature_names, out, strict=True))
        result[BIAS] = bias
        return result

    def contributions_mapping(self, values: Mapping[str, Any]) -> dict[str, float]:
        """:meth:`contributions` for a ``{feature name: value}`` mapping."""
        return self.contributions(self.row_from_mapping(values))

    # ------------------------------------------------------------------ batch (numpy)

    def _build_batch_arrays(self) -> tuple[Any, ...]:
        """Breadth-first layout for numpy: right child = left child + 1, leaves point to themselves.

        A leaf gets a NaN threshold so ``x >= thr`` is False and the node id stays put; every row
        can then take ``max_depth`` steps in every tree without masks.
        """
        import numpy as np

        n_feat = self.n_features
        feat: list[int] = []
        thr: list[float] = []
        left: list[int] = []
        leaf: list[float] = []
        roots: list[int] = []
        for tree in self._trees:
            base = len(feat)
            roots.append(base)
            queue = [0]  # xgboost ids in the new order
            new_id = {0: base}
            head = 0
            while head < len(queue):
                i = queue[head]
                head += 1
                g = new_id[i]
                lc = tree.left[i]
                if lc == -1:
                    feat.append(0)
                    thr.append(_NAN)
                    left.append(g)
                    leaf.append(tree.value[i])
                else:
                    rc = tree.right[i]
                    new_id[lc] = base + len(queue)
                    new_id[rc] = base + len(queue) + 1
                    queue.append(lc)
                    queue.append(rc)
                    feat.append(tree.split_index[i] + (0 if tree.default_left[i] else n_feat))
                    thr.append(tree.value[i])
                    left.append(new_id[lc])
                    leaf.append(0.0)
        arrays = (
            np.asarray(feat, dtype=np.intp),
            np.asarray(thr, dtype=np.float32),
            np.asarray(left, dtype=np.intp),
            np.asarray(leaf, dtype=np.float32),
            np.asarray(roots, dtype=np.intp),
            self.max_depth,
        )
        self._batch_arrays = arrays
        return arrays

    def predict_margin_batch(self, matrix: np.ndarray, *, chunk_rows: int | None = None) -> np.ndarray:
        """Margins for a 2-D matrix (rows × :attr:`n_features`, NaN = missing), as float32.

        Vectorised with numpy: all trees advance one level at a time over a chunk of rows, and the
        leaf values are added in tree order in float32, as XGBoost does.
        """
        import numpy as np

        x = np.asarray(matrix, dtype=np.float32)
        if x.ndim == 1:
            x = x.reshape(1, -1)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"matrix must have shape (n, {self.n_features}), got {np.shape(matrix)}")
        tables = self._build_leaf_tables()
        if tables is not None and chunk_rows is None:
            # Shallow trees: ranks and leaf tables (a few array operations per tree whatever the
            # rows), added in tree order in float32: the same sums as the walk below, bit for bit.
            return self._margins_by_tables(x, tables, np.float32)
        return self._margins_by_walk(x, np.float32, chunk_rows)

    def predict_margin_batch_f64(self, matrix: np.ndarray, *, method: str = "auto") -> np.ndarray:
        """Margins for a 2-D matrix exactly as :meth:`predict_margin` gives them row by row (float64).

        The leaf values are added in tree order in float64 starting from the base margin, as
        the single-row path does, so a backtest reproduces the online score to the last bit.
        Which leaf a row reaches is found one of two ways (``method``), with the same result:

        * ``"tables"``: every feature's value is ranked once among all the thresholds the model
          uses on it (float32, as XGBoost compares); each tree then reads its leaf from a table
          indexed by the ranks of the few features it splits on. A handful of array operations
          per tree, whatever its depth; used when every tree's table is small (shallow trees).
        * ``"walk"``: all trees step down one level at a time (:meth:`predict_margin_batch`'s
          traversal).
        """
        import numpy as np

        x = np.asarray(matrix, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"matrix must have shape (n, {self.n_features}), got {np.shape(matrix)}")
        tables = self._build_leaf_tables() if method in ("auto", "tables") else None
        if method == "tables" and tables is None:
            raise ValueError("the trees are too deep for leaf tables")
        if tables is not None:
            return self._margins_by_tables(x, tables)
        return self._margins_by_walk(x, np.float64)

    def _margins_by_walk(self, x: np.ndarray, dtype: type, chunk_rows: int | None = None) -> np.ndarray:
        """All trees step down one level at a time; leaves added in tree order in ``dtype``."""
        import numpy as np

        feat, thr, left, leaf, roots, depth = self._batch_arrays or self._build_batch_arrays()
        n_rows, n_trees = x.shape[0], len(roots)
        out = np.full(n_rows, self.base_margin, dtype=dtype)
        if n_trees == 0:
            return out
        if chunk_rows is None:
            chunk_rows = max(256, min(16384, 250_000 // n_trees))  # ~250k node ids per step
        width = 2 * self.n_features
        for start in range(0, n_rows, chunk_rows):
            block = x[start : start + chunk_rows]
            m = block.shape[0]
            missing = np.isnan(block)
            both = np.empty((m, width), dtype=np.float32)
            both[:, : self.n_features] = np.where(missing, np.float32(_NEG_INF), block)
            both[:, self.n_features :] = np.where(missing, np.float32(_POS_INF), block)
            flat = both.ravel()
            row_base = (np.arange(m, dtype=np.intp) * width)[:, None]
            nodes = np.broadcast_to(roots, (m, n_trees)).copy()
            for _ in range(depth):
                values = flat.take(feat.take(nodes) + row_base)
                nodes = left.take(nodes) + (values >= thr.take(nodes))
            acc = np.empty((m, n_trees + 1), dtype=dtype)
            acc[:, 0] = self.base_margin
            acc[:, 1:] = leaf.take(nodes)
            # cumsum adds strictly left to right (no pairwise summation): base + tree 0 + tree 1
            # + ..., the single-row path's order of additions
            out[start : start + m] = np.cumsum(acc, axis=1, dtype=dtype)[:, -1]
        return out

    _MAX_TABLE = 1 << 12  # entries of one tree's leaf table; deeper trees are walked instead

    def _build_leaf_tables(self) -> tuple[list[Any], list[Any]] | None:
        """Per feature the sorted thresholds of the whole model; per tree its leaf table.

        A tree's table is indexed by, for each feature it splits on, the interval of the value
        among the tree's own thresholds on that feature (``len + 1`` for a missing value), and
        holds the leaf value a walk down the tree reaches for such a value. None when some tree
        would need a table larger than ``_MAX_TABLE``.
        """
        if self._leaf_tables is not None:
            return self._leaf_tables

        import numpy as np

        thresholds: list[set[float]] = [set() for _ in range(self.n_features)]
        for tree in self._trees:
            for i, child in enumerate(tree.left):
                if child != -1:
                    thresholds[tree.split_index[i]].add(tree.value[i])
        edges = [np.asarray(sorted(t), dtype=np.float32) for t in thresholds]
        trees = []
        for tree in self._trees:
            inner = [i for i, child in enumerate(tree.left) if child != -1]
            feats = sorted({tree.split_index[i] for i in inner})
            local = {f: sorted({tree.value[i] for i in inner if tree.split_index[i] == f}) for f in feats}
            sizes = [len(local[f]) + 2 for f in feats]
            total = math.prod(sizes)
            if total > self._MAX_TABLE:
                return None
            strides = [math.prod(sizes[k + 1 :]) for k in range(len(feats))]
            maps = []
            for f, stride in zip(feats, strides, strict=True):
                own = np.asarray(local[f], dtype=np.float32)
                # intp: the codes index with these directly (any other index type is converted,
                # a copy per take that cost ten times the take itself)
                index = np.empty(len(edges[f]) + 2, dtype=np.intp)
                index[0] = 0
                index[1:-1] = np.searchsorted(own, edges[f], side="right")
                index[-1] = len(own) + 1
                maps.append((f, index * stride))
            table = _walk_every_interval(tree, feats, local)
            if len(maps) == 1:  # one feature: the table read straight by the feature's rank
                f, index = maps[0]
                maps, table = [(f, None)], table[index]
            trees.append((maps, table))
        self._leaf_tables = (edges, trees)
        self._binners = [_Binner(e) for e in edges]
        return self._leaf_tables

    def _margins_by_tables(
        self, x: np.ndarray, tables: tuple[list[Any], list[Any]], dtype: Any = None
    ) -> np.ndarray:
        """Margins from the leaf tables, summed in ``dtype`` (float64 unless told): each addition
        is done in that type, so float32 gives exactly the walk's float32 running sum."""
        import numpy as np

        dtype = np.dtype(dtype or np.float64)
        _, trees = tables
        if dtype != np.float64:
            # converted once per model, not per call (120 small copies were ~4 ms of every shard)
            typed = self._typed_tables.get(dtype)
            if typed is None:
                typed = self._typed_tables[dtype] = [(maps, table.astype(dtype)) for maps, table in trees]
            trees = typed
        n_rows = x.shape[0]
        out = np.full(n_rows, self.base_margin, dtype=dtype)
        workers = _workers(n_rows)
        if workers == 1:
            self._tables_into(x, out, trees)
            return out
        # Rows are independent: a slice per core, each summed in tree order like the whole.
        # numpy releases the GIL inside each array operation, so the slices run in parallel.
        bounds = np.linspace(0, n_rows, workers + 1).astype(int).tolist()
        pool = _pool(workers)
        done = [
            pool.submit(self._tables_into, x[a:b], out[a:b], trees) for a, b in itertools.pairwise(bounds)
        ]
        for future in done:
            future.result()
        return out

    def _tables_into(self, x: np.ndarray, out: np.ndarray, trees: list[Any]) -> None:
        """Add every tree's leaf to ``out`` (row-aligned with ``x``), tree by tree in tree order."""
        import numpy as np

        chunk_rows = 1 << 16
        binners = self._binners
        for start in range(0, x.shape[0], chunk_rows):
            block = x[start : start + chunk_rows]
            columns = np.ascontiguousarray(block.T)  # one contiguous row per feature
            ranks = [binner.ranks(column) for binner, column in zip(binners, columns, strict=True)]
            acc = out[start : start + len(block)]
            for maps, table in trees:  # tree order, one addition each: the single-row order
                if not maps:
                    acc += table[0]
                    continue
                f, index = maps[0]
                if index is None:  # a one-feature tree's table is read by the rank itself
                    acc += table.take(ranks[f])
                    continue
                code = index.take(ranks[f])
                for f, index in maps[1:]:
                    code += index.take(ranks[f])
                acc += table.take(code)

    def contributions_batch(self, matrix: np.ndarray) -> np.ndarray:
        """:meth:`contributions` for every row of a 2-D matrix: (rows × :attr:`n_features`), float64.

        The bias is not included. Each row's values equal :meth:`contributions` on that row to
        the last bit: the trees are walked in the same order and each step adds the same float64
        difference to the same feature.
        """
        import numpy as np

        x = np.asarray(matrix, dtype=np.float32).astype(np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"matrix must have shape (n, {self.n_features}), got {np.shape(matrix)}")
        if self._contrib_arrays is None:
            self.contributions([None] * self.n_features)  # builds the node means once
        assert self._contrib_arrays is not None
        means = np.asarray(self._contrib_arrays[0], dtype=np.float64)
        orig = np.asarray(self._contrib_arrays[1], dtype=np.intp)
        feat = np.asarray(self._feat, dtype=np.intp)
        thr = np.asarray(self._thr, dtype=np.float64)
        left = np.asarray(self._left, dtype=np.intp)
        right = np.asarray(self._right, dtype=np.intp)
        n_rows = x.shape[0]
        missing = np.isnan(x)
        xs = np.concatenate([np.where(missing, _NEG_INF, x), np.where(missing, _POS_INF, x)], axis=1)
        out = np.zeros((n_rows, self.n_features), dtype=np.float64)
        every = np.arange(n_rows, dtype=np.intp)
        for root in self._roots:
            if root < 0:
                continue  # a single leaf: nothing to attribute
            rows = every
            node = np.full(n_rows, root, dtype=np.intp)
            while len(rows):
                go_left = xs[rows, feat[node]] < thr[node]
                nxt = np.where(go_left, left[node], right[node])
                child = np.where(nxt >= 0, nxt, ~nxt)
                out[rows, orig[node]] += means[child] - means[node]
                keep = nxt >= 0
                rows, node = rows[keep], nxt[keep]
        return out

    def predict_proba_batch(self, matrix: np.ndarray) -> np.ndarray:
        """Probabilities (float64) for a 2-D matrix (rows × :attr:`n_features`, NaN = missing)."""
        import numpy as np

        margin = self.predict_margin_batch(matrix).astype(np.float64)
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-margin))
