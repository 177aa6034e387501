"""Monotonic WOE binning of one feature (coarse classing for scorecards). Offline, numpy only.

Numbers
    1. *Fine classes*: every distinct value when there are at most ``init_bins`` of them, else
       cut points at the ``k / init_bins`` quantiles, each snapped to a data value
       (``method="higher"``); then each cut is written with the fewest significant digits that
       still splits the sample the same way, so edges read well (``dti < 0.5``, not
       ``< 0.503581…``).
    2. *Monotonic*: adjacent classes are pooled until the bad rate strictly rises (or strictly
       falls) along the feature: the pool-adjacent-violators algorithm, run for both directions.
    3. *Size*: a bin with fewer than ``min_bin_share`` of the rows, or without both a good and a
       bad, is merged into the neighbour with the closer bad rate.
    4. *Count*: while there are more than ``max_bins`` bins, the adjacent pair whose merge loses
       the least information value is merged.
    The direction with the larger IV wins. Merging neighbours in a monotonic sequence keeps it
    monotonic, so steps 3–4 never break step 2.

Categories
    Categories are ordered by bad rate (so the order is monotonic by construction) and steps 3–4
    run on that order: small categories join the neighbour with the closer bad rate.

Missing values
    With at least ``min_bin_share`` of the rows, missing values get their own bin (and WOE);
    otherwise too few were seen to estimate them, and a missing value (like a category never seen
    in training) is given the riskiest bin — the conservative choice for credit.

WOE and IV follow :func:`lendguard.offline.evaluation.metrics.woe_iv_counts`: WOE = ln(%bad / %good),
positive = riskier, zero counts replaced by ``zero_count``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from lendguard.models.encoding import category_key, is_missing
from lendguard.offline.evaluation.metrics import ZERO_COUNT, woe_iv_counts

__all__ = ["Bin", "FeatureBinning", "bin_categorical", "bin_numeric"]


@dataclass
class Bin:
    """A coarse class: numeric ``[lower, upper)`` (``None`` = unbounded) or a set of categories."""

    good: int
    bad: int
    lower: float | None = None
    upper: float | None = None
    values: list[str] | None = None
    woe: float = 0.0
    iv: float = 0.0

    @property
    def n(self) -> int:
        return self.good + self.bad

    @property
    def bad_rate(self) -> float:
        return self.bad / self.n if self.n else 0.0

    def label(self) -> str:
        if self.values is not None:
            return " | ".join(self.values)
        if self.lower is None and self.upper is None:
            return "all"
        if self.lower is None:
            return f"< {self.upper:g}"
        if self.upper is None:
            return f">= {self.lower:g}"
        return f"[{self.lower:g}, {self.upper:g})"


@dataclass
class FeatureBinning:
    """The coarse classes of one feature, with WOE / IV computed on the binning sample."""

    name: str
    type: Literal["numeric", "categorical"]
    direction: Literal["increasing", "decreasing", "categorical"]
    bins: list[Bin]
    missing: Bin | None = None
    n_missing: int = 0
    iv: float = 0.0
    categories: list[str] = field(default_factory=list)

    @property
    def riskiest(self) -> int:
        """Index of the bin with the highest WOE (where missing / unseen values go without their own bin)."""
        return max(range(len(self.bins)), key=lambda i: (self.bins[i].woe, -i))

    def assign(self, values: Any) -> np.ndarray:
        """Bin index of each value: ``0 … len(bins) − 1``, or ``len(bins)`` for the missing bin.

        Missing values without their own bin, and unseen categories, get :attr:`riskiest`.
        """
        items = values.tolist() if isinstance(values, np.ndarray) else list(values)
        out = np.empty(len(items), dtype=np.intp)
        missing_index = len(self.bins) if self.missing is not None else self.riskiest
        if self.type == "numeric":
            uppers = np.asarray([b.upper for b in self.bins[:-1]], dtype=np.float64)
            x = np.asarray([np.nan if is_missing(v) else float(v) for v in items], dtype=np.float64)
            nan = np.isnan(x)
            out[~nan] = np.searchsorted(uppers, x[~nan], side="right")
            out[nan] = missing_index
            return out
        lookup = {v: i for i, b in enumerate(self.bins) for v in b.values or ()}
        for k, v in enumerate(items):
            out[k] = missing_index if is_missing(v) else lookup.get(category_key(v), self.riskiest)
        return out

    def woe_values(self, values: Any) -> np.ndarray:
        """The WOE of each value's bin (the logistic regression's input)."""
        woe = np.asarray([b.woe for b in self.bins] + [self.missing.woe if self.missing else 0.0])
        return woe[self.assign(values)]


def _check_args(max_bins: int, min_bin_share: float) -> None:
    if max_bins < 1:
        raise ValueError("max_bins must be at least 1")
    if not 0.0 <= min_bin_share < 0.5:
        raise ValueError("min_bin_share must be in [0, 0.5)")


def _labels(y: Any) -> np.ndarray:
    arr = np.asarray(y)
    if arr.dtype != bool:
        if not np.isin(arr, (0, 1)).all():
            raise ValueError("labels must be 0 (good) / 1 (bad)")
        arr = arr.astype(bool)
    return arr.ravel()


def _merge(a: Bin, b: Bin) -> Bin:
    """Adjacent bins as one (``a`` before ``b``)."""
    values = None if a.values is None else [*a.values, *(b.values or [])]
    return Bin(good=a.good + b.good, bad=a.bad + b.bad, lower=a.lower, upper=b.upper, values=values)


def _iv(bins: Sequence[Bin], missing: Bin | None, zero_count: float) -> float:
    extra = [missing] if missing is not None else []
    _, iv = woe_iv_counts([b.good for b in [*bins, *extra]], [b.bad for b in [*bins, *extra]], zero_count)
    return float(iv.sum())


def _monotonic(bins: list[Bin], increasing: bool) -> list[Bin]:
    """Pool adjacent violators until bad rates strictly rise (``increasing``) or strictly fall."""
    stack: list[Bin] = []
    for b in bins:
        stack.append(b)
        while len(stack) >= 2:
            left, right = stack[-2], stack[-1]
            # compare bad rates without division: right/left ordering by cross-multiplication
            lhs, rhs = right.bad * left.n, left.bad * right.n
            ok = lhs > rhs if increasing else lhs < rhs
            if ok:
                break
            stack[-2:] = [_merge(left, right)]
    return stack


def _enforce_size(bins: list[Bin], min_count: float) -> list[Bin]:
    """Merge bins that are too small or lack a class into the neighbour with the closer bad rate."""
    bins = list(bins)
    while len(bins) > 1:
        weak = [i for i, b in enumerate(bins) if b.n < min_count or b.good == 0 or b.bad == 0]
        if not weak:
            break
        i = min(weak, key=lambda k: (bins[k].n, k))
        if i == 0:
            j = 1
        elif i == len(bins) - 1:
            j = i - 1
        else:
            rate = bins[i].bad_rate
            j = i - 1 if abs(bins[i - 1].bad_rate - rate) <= abs(bins[i + 1].bad_rate - rate) else i + 1
        lo, hi = min(i, j), max(i, j)
        bins[lo : hi + 1] = [_merge(bins[lo], bins[hi])]
    return bins


def _enforce_count(bins: list[Bin], max_bins: int, missing: Bin | None, zero_count: float) -> list[Bin]:
    """Merge the adjacent pair that loses the least IV until at most ``max_bins`` remain."""
    bins = list(bins)
    while len(bins) > max_bins:
        best_i, best_iv = 0, -math.inf
        for i in range(len(bins) - 1):
            trial = [*bins[:i], _merge(bins[i], bins[i + 1]), *bins[i + 2 :]]
            iv = _iv(trial, missing, zero_count)
            if iv > best_iv + 1e-12:
                best_i, best_iv = i, iv
        bins[best_i : best_i + 2] = [_merge(bins[best_i], bins[best_i + 1])]
    return bins


def _finish(binning: FeatureBinning, zero_count: float) -> FeatureBinning:
    everything = [*binning.bins, *([binning.missing] if binning.missing else [])]
    woe, iv = woe_iv_counts([b.good for b in everything], [b.bad for b in everything], zero_count)
    for b, w, v in zip(everything, woe, iv, strict=True):
        b.woe, b.iv = float(w), float(v)
    binning.iv = float(iv.sum())
    return binning


def _missing_bin(y_missing: np.ndarray, min_count: float) -> Bin | None:
    n = int(y_missing.size)
    if n == 0 or n < max(min_count, 1):
        return None
    bad = int(y_missing.sum())
    return Bin(good=n - bad, bad=bad)


def _round_cuts(cuts: np.ndarray, uniq: np.ndarray) -> np.ndarray:
    """Each cut as the number with the fewest significant digits that splits the data identically.

    A cut ``c`` (a data value) separates ``x < c`` from ``x >= c``; any ``r`` with
    ``previous value < r <= c`` does the same on this sample, so the card can say ``dti < 0.5``
    instead of ``dti < 0.503581…``. The intervals are disjoint, so the order is kept.
    """
    out = np.empty_like(cuts)
    for k, c in enumerate(cuts):
        i = int(np.searchsorted(uniq, c))
        prev = uniq[i - 1]
        for digits in range(1, 18):
            r = float(f"{c:.{digits}g}")
            if prev < r <= c:
                out[k] = r
                break
        else:  # pragma: no cover - c itself always qualifies at 17 digits
            out[k] = c
    return out


def bin_numeric(
    name: str,
    x: Any,
    y: Any,
    *,
    max_bins: int = 6,
    init_bins: int = 20,
    min_bin_share: float = 0.05,
    zero_count: float = ZERO_COUNT,
) -> FeatureBinning:
    """Monotonic coarse classes of a numeric feature (NaN / ``None`` = missing); see the module doc."""
    _check_args(max_bins, min_bin_share)
    values = np.asarray(
        [np.nan if is_missing(v) else v for v in np.asarray(x, dtype=object).ravel()], dtype=np.float64
    )
    labels = _labels(y)
    if values.size != labels.size:
        raise ValueError(f"feature {name}: {values.size} values for {labels.size} labels")
    nan = np.isnan(values)
    xs, ys = values[~nan], labels[~nan]
    min_count = min_bin_share * values.size
    missing = _missing_bin(labels[nan], min_count)
    if xs.size == 0:
        raise ValueError(f"feature {name}: no non-missing values to bin")
    uniq = np.unique(xs)
    if uniq.size <= init_bins:
        cuts = uniq[1:]
    else:
        qs = np.arange(1, init_bins) / init_bins
        cuts = np.unique(np.quantile(xs, qs, method="higher"))
        cuts = cuts[cuts > uniq[0]]
    cuts = _round_cuts(cuts, uniq)
    idx = np.searchsorted(cuts, xs, side="right")
    bad = np.bincount(idx, weights=ys, minlength=cuts.size + 1).astype(np.int64)
    n = np.bincount(idx, minlength=cuts.size + 1)
    edges: list[float | None] = [None, *(float(c) for c in cuts), None]
    fine = [
        Bin(good=int(n[i] - bad[i]), bad=int(bad[i]), lower=edges[i], upper=edges[i + 1])
        for i in range(cuts.size + 1)
        if n[i] > 0
    ]
    best: FeatureBinning | None = None
    for increasing in (True, False):
        bins = _monotonic([replace(b) for b in fine], increasing)  # copies: each direction owns its bins
        bins = _enforce_size(bins, min_count)
        bins = _enforce_count(bins, max_bins, missing, zero_count)
        # the merged bins keep the outer edges of their parts: restore -inf / +inf at the ends
        bins[0].lower, bins[-1].upper = None, None
        candidate = _finish(
            FeatureBinning(
                name=name,
                type="numeric",
                direction="increasing" if increasing else "decreasing",
                bins=bins,
                missing=None if missing is None else Bin(good=missing.good, bad=missing.bad),
                n_missing=int(nan.sum()),
            ),
            zero_count,
        )
        if best is None or candidate.iv > best.iv + 1e-12:
            best = candidate
    assert best is not None
    return best


def bin_categorical(
    name: str,
    x: Any,
    y: Any,
    *,
    max_bins: int = 6,
    min_bin_share: float = 0.05,
    zero_count: float = ZERO_COUNT,
) -> FeatureBinning:
    """Coarse classes of a categorical feature, ordered by bad rate; see the module doc."""
    _check_args(max_bins, min_bin_share)
    items = x.tolist() if isinstance(x, np.ndarray) else list(x)
    labels = _labels(y)
    if len(items) != labels.size:
        raise ValueError(f"feature {name}: {len(items)} values for {labels.size} labels")
    counts: dict[str, list[int]] = {}
    miss = np.zeros(labels.size, dtype=bool)
    for k, (v, bad) in enumerate(zip(items, labels, strict=True)):
        if is_missing(v):
            miss[k] = True
            continue
        c = counts.setdefault(category_key(v), [0, 0])
        c[int(bad)] += 1
    if not counts:
        raise ValueError(f"feature {name}: no non-missing values to bin")
    min_count = min_bin_share * labels.size
    missing = _missing_bin(labels[miss], min_count)
    atoms = [Bin(good=g, bad=b, values=[cat]) for cat, (g, b) in counts.items()]
    atoms.sort(key=lambda b: (b.bad_rate, (b.values or [""])[0]))
    bins = _enforce_size(atoms, min_count)
    bins = _enforce_count(bins, max_bins, missing, zero_count)
    for b in bins:
        b.values = sorted(b.values or [])
    return _finish(
        FeatureBinning(
            name=name,
            type="categorical",
            direction="categorical",
            bins=bins,
            missing=missing,
            n_missing=int(miss.sum()),
            categories=sorted(counts),
        ),
        zero_count,
    )
