"""The grid binning of the leaf-table evaluator ranks every value exactly as a binary search does."""

from __future__ import annotations

import numpy as np
import pytest

from lendguard.models.trees import _Binner


def _thresholds(kind: int, k: int, rng: np.random.Generator) -> np.ndarray:
    base = [
        rng.normal(0, 1, k),
        rng.integers(-5, 50, k).astype(float) + 0.5,  # counts split halfway, as XGBoost does
        np.concatenate([rng.normal(0, 1e-6, k), [1e6]]),  # crowded, with one far outlier
    ][kind]
    return np.unique(base.astype(np.float32))


@pytest.mark.parametrize("kind", [0, 1, 2])
def test_ranks_equal_searchsorted_on_and_beside_every_threshold(kind: int) -> None:
    rng = np.random.default_rng(kind)
    for k in (1, 2, 7, 40, 99):
        edges = _thresholds(kind, k, rng)
        values = np.concatenate([
            rng.choice(edges, 300), np.nextafter(rng.choice(edges, 300), np.float32(np.inf)),
            np.nextafter(rng.choice(edges, 300), np.float32(-np.inf)), rng.normal(0, 3, 300),
            [np.inf, -np.inf, np.nan, 0.0, -0.0, 1e30, -1e30],
        ]).astype(np.float32)  # fmt: skip
        want = np.searchsorted(edges, values, side="right")
        want[np.isnan(values)] = len(edges) + 1
        got = _Binner(edges).ranks(np.ascontiguousarray(values))
        assert got.dtype == np.intp
        assert np.array_equal(got, want)


def test_crowded_thresholds_keep_the_binary_search() -> None:
    edges = np.unique(
        np.concatenate([np.float32(0.5) + np.arange(10, dtype=np.float32) * np.float32(1e-7), [1e9]])
    )
    binner = _Binner(edges.astype(np.float32))
    assert binner.grid is None
    assert _Binner(np.arange(50, dtype=np.float32)).grid is not None
