"""Population stability (PSI) and its per-bin table (CSI): shipped online for the daily monitor.

Conventions (missing values, zero counts) are those of :mod:`lendguard.offline.evaluation.metrics`,
which re-exports everything here. numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np

from lendguard.models.artifact import BinnedDistribution, CategoricalDistribution
from lendguard.models.encoding import category_key

ZERO_COUNT = 0.5
"""Default replacement for a zero count before shares and logarithms are taken (see module doc)."""
MISSING = "(missing)"
"""Bin label of missing values (``None``, NaN, ``pd.NA``)."""
UNSEEN = "(unseen)"
"""PSI bin pooling the categories of the current sample that the baseline never had."""


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


def _check_zero_count(zero_count: float) -> None:
    if not (zero_count > 0 and math.isfinite(zero_count)):
        raise ValueError(f"zero_count must be a positive number, got {zero_count!r}")


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
