"""Regression tests for the PSI audit of issue 17 (numbers from the issue)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lendguard.models.artifact import BinnedDistribution, CategoricalDistribution
from lendguard.offline.evaluation.metrics import psi, psi_from_baseline, psi_table


def _baseline_psi(values: list) -> float:
    return psi_from_baseline(CategoricalDistribution.from_values(values), len(values), values).psi


def test_boolean_category_on_identical_data_is_zero() -> None:
    # was 14.5: the baseline keys True as "true" (category_key), the comparison used str() = "True"
    values = [True, False] * 500
    assert _baseline_psi(values) == pytest.approx(0.0, abs=1e-12)


def test_float_coded_category_on_identical_data_is_zero() -> None:
    # was 10.1 / 14.1: 1.0 is keyed "1" in the baseline but compared as "1.0"
    values = [0.0, 1.0, 2.0, 1.0] * 250
    assert _baseline_psi(values) == pytest.approx(0.0, abs=1e-12)


def test_int_baseline_vs_float_current_is_the_same_category() -> None:
    # was 5.8: `1` vs `1.0`
    base = CategoricalDistribution.from_values([1] * 600 + [2] * 400)
    assert psi_from_baseline(base, 1000, [1.0] * 600 + [2.0] * 400).psi == pytest.approx(0.0, abs=1e-12)
    assert psi([1] * 60 + [2] * 40, [1.0] * 60 + [2.0] * 40, categorical=True) == pytest.approx(
        0.0, abs=1e-12
    )


def test_unseen_category_still_counts_as_drift() -> None:
    base = CategoricalDistribution.from_values(["a", "b"] * 50)
    assert psi_from_baseline(base, 100, ["c"] * 100).psi > 1.0


def _mostly_zero(n: int, nonzero: int, rng: np.random.Generator) -> np.ndarray:
    x = np.zeros(n)
    x[:nonzero] = rng.uniform(1.0, 100.0, nonzero)
    return x


def test_mostly_zero_feature_keeps_a_zero_bin() -> None:
    # was one bin and PSI 0.000 for 8% -> 40% non-zero
    rng = np.random.default_rng(7)
    baseline = _mostly_zero(1000, 80, rng)
    current = _mostly_zero(1000, 400, rng)
    dist = BinnedDistribution.from_values(baseline)
    assert len(dist.proportions) >= 2
    assert dist.proportions[0] == pytest.approx(0.92)
    expected = (0.40 - 0.08) * math.log(0.40 / 0.08) + (0.60 - 0.92) * math.log(0.60 / 0.92)
    assert psi_from_baseline(dist, 1000, current).psi == pytest.approx(expected, rel=1e-9)
    assert psi_table(baseline, current).psi == pytest.approx(expected, rel=1e-9)
    assert psi_from_baseline(dist, 1000, baseline).psi == pytest.approx(0.0, abs=1e-12)


def test_point_mass_inside_the_range_gets_its_own_bin() -> None:
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(0, 10, 500), np.full(500, 20.0), rng.uniform(30, 40, 500)])
    dist = BinnedDistribution.from_values(x)
    i = dist.bin_index(20.0)
    assert i is not None
    assert dist.proportions[i] == pytest.approx(500 / 1500)


def test_continuous_feature_still_gets_deciles() -> None:
    x = np.random.default_rng(1).normal(size=2000)
    dist = BinnedDistribution.from_values(x)
    assert len(dist.proportions) == 10
    assert all(p == pytest.approx(0.1, abs=0.001) for p in dist.proportions)
