"""The light tree evaluator must reproduce XGBoost's own predictions."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from functools import cache

import numpy as np
import pytest
import xgboost as xgb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lendguard.models.trees import BIAS, TreeEnsemble, UnsupportedModelError

N_FEATURES = 6
NAMES = [f"x{i}" for i in range(N_FEATURES)]


def _data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Continuous, rounded and integer columns (many duplicates on split points) with NaNs."""
    x = rng.normal(size=(n, N_FEATURES))
    x[:, 1] = np.round(x[:, 1], 1)
    x[:, 2] = rng.integers(0, 5, n)
    x[:, 3] = np.round(x[:, 3] * 1000.0) / 7.0  # values with no exact float32 form
    x[:, 4] = rng.lognormal(size=n) * 1e4
    logit = x[:, 0] + 0.5 * x[:, 1] - 0.4 * x[:, 2] + 0.3 * np.tanh(x[:, 3]) + rng.normal(size=n)
    y = (logit > 0.5).astype(np.int64)
    x[rng.random(x.shape) < 0.15] = np.nan
    return x, y


def _train(
    depth: int,
    rounds: int,
    *,
    base_score: float | None = None,
    method: str = "hist",
    seed: int = 0,
    names: bool = True,
    extra: dict | None = None,
) -> xgb.Booster:
    rng = np.random.default_rng(seed)
    x, y = _data(rng, 1500)
    params = {
        "objective": "binary:logistic",
        "max_depth": depth,
        "eta": 0.3,
        "tree_method": method,
        "nthread": 2,
        "seed": seed,
        "subsample": 0.9,
    }
    if base_score is not None:
        params["base_score"] = base_score
    params.update(extra or {})
    dtrain = xgb.DMatrix(x, label=y, feature_names=NAMES if names else None)
    return xgb.train(params, dtrain, num_boost_round=rounds)


def _thresholds(booster: xgb.Booster) -> np.ndarray:
    doc = json.loads(booster.save_raw("json"))
    values = {
        c
        for tree in doc["learner"]["gradient_booster"]["model"]["trees"]
        for c, lc in zip(tree["split_conditions"], tree["left_children"], strict=True)
        if lc != -1
    }
    return np.array(sorted(values), dtype=np.float64)


def _probe_rows(booster: xgb.Booster, n: int, seed: int = 1) -> np.ndarray:
    """Rows full of values on, next to and at the float32 rounding boundary of split thresholds."""
    rng = np.random.default_rng(seed)
    rows, _ = _data(rng, n)
    thr = _thresholds(booster)
    if thr.size:
        t32 = thr.astype(np.float32)
        up = np.nextafter(t32, np.float32(np.inf))
        down = np.nextafter(t32, np.float32(-np.inf))
        # Exactly half-way between a float32 threshold and its neighbours (rounds to even), and
        # a hair either side: float64 values that round onto / off the threshold.
        mid_down = (t32.astype(np.float64) + down.astype(np.float64)) / 2
        mid_up = (t32.astype(np.float64) + up.astype(np.float64)) / 2
        candidates = np.concatenate(
            [
                thr,
                up,
                down,
                mid_down,
                mid_up,
                np.nextafter(mid_down, np.inf),
                np.nextafter(mid_down, -np.inf),
                np.nextafter(mid_up, np.inf),
                np.nextafter(mid_up, -np.inf),
            ]
        )
        mask = rng.random(rows.shape) < 0.6
        rows[mask] = rng.choice(candidates, int(mask.sum()))
    rows[rng.random(rows.shape) < 0.1] = np.nan
    rows[:3] = np.nan  # all-missing rows
    return rows


def _as_row(values: np.ndarray) -> list[float | None]:
    return [None if math.isnan(v) else float(v) for v in values]


CONFIGS = [
    # depth, rounds, base_score, method
    (1, 1, None, "hist"),
    (1, 40, 0.2, "exact"),
    (2, 10, None, "approx"),
    (3, 60, 0.65, "hist"),
    (4, 200, None, "hist"),
    (5, 25, None, "exact"),
    (6, 300, None, "hist"),
    (6, 80, 0.05, "approx"),
]


@pytest.mark.parametrize(("depth", "rounds", "base_score", "method"), CONFIGS)
def test_matches_xgboost(depth: int, rounds: int, base_score: float | None, method: str) -> None:
    booster = _train(depth, rounds, base_score=base_score, method=method, seed=depth * 7 + rounds)
    ensemble = TreeEnsemble.from_xgboost_json(booster.save_raw("json"))
    assert ensemble.n_trees == rounds
    assert ensemble.feature_names == tuple(NAMES)
    rows = _probe_rows(booster, 1200, seed=depth + rounds)
    expected = booster.inplace_predict(rows)
    expected_margin = booster.inplace_predict(rows, predict_type="margin")

    single = np.array([ensemble.predict_proba(_as_row(r)) for r in rows])
    np.testing.assert_allclose(single, expected, rtol=0, atol=1e-6)
    single_margin = np.array([ensemble.predict_margin(_as_row(r)) for r in rows])
    np.testing.assert_allclose(single_margin, expected_margin, rtol=0, atol=2e-5)

    # The batch path accumulates in float32 in tree order: the margin is bit-identical.
    batch_margin = ensemble.predict_margin_batch(rows)
    assert np.array_equal(batch_margin, expected_margin)
    np.testing.assert_allclose(ensemble.predict_proba_batch(rows), expected, rtol=0, atol=1e-6)
    # float32 input and small chunks take the same path
    np.testing.assert_allclose(
        ensemble.predict_margin_batch(rows.astype(np.float32), chunk_rows=7), expected_margin, rtol=0, atol=0
    )


def test_nan_and_none_are_both_missing_and_mapping_uses_names() -> None:
    booster = _train(4, 30)
    ensemble = TreeEnsemble.from_xgboost_json(booster.save_raw("json"))
    rows = _probe_rows(booster, 200)
    expected = booster.inplace_predict(rows)
    for row, want in zip(rows, expected, strict=True):
        as_nan = [float(v) for v in row]
        assert ensemble.predict_proba(as_nan) == pytest.approx(want, abs=1e-6)
        mapping = {name: float(v) for name, v in zip(NAMES, row, strict=True) if not math.isnan(v)}
        mapping["not_a_feature"] = "ignored"
        assert ensemble.predict_proba_mapping(mapping) == pytest.approx(want, abs=1e-6)
    all_missing = booster.inplace_predict(np.full((1, N_FEATURES), np.nan))[0]
    assert ensemble.predict_proba_mapping({}) == pytest.approx(all_missing, abs=1e-6)
    assert ensemble.predict_proba([None] * N_FEATURES) == pytest.approx(all_missing, abs=1e-6)


def test_integers_numpy_scalars_and_extreme_values() -> None:
    booster = _train(4, 50)
    ensemble = TreeEnsemble.from_xgboost_json(booster.save_raw("json"))
    rows = np.array(
        [
            [1, 2, 3, 4, 5, 6],
            [1e39, -1e39, 3.5e38, -3.5e38, 1e-45, -1e-45],
            [np.inf, -np.inf, np.inf, -np.inf, 0.0, -0.0],
            [2**60, -(2**60), 7, 0, 12345678901, 1],
        ],
        dtype=np.float64,
    )
    with np.errstate(over="ignore"):
        expected = booster.inplace_predict(rows)
        batch = ensemble.predict_proba_batch(rows)
    np.testing.assert_allclose(batch, expected, rtol=0, atol=1e-6)
    for row, want in zip(rows, expected, strict=True):
        assert ensemble.predict_proba([float(v) for v in row]) == pytest.approx(want, abs=1e-6)
        assert ensemble.predict_proba(list(row)) == pytest.approx(want, abs=1e-6)  # numpy scalars
    assert ensemble.predict_proba([1, 2, 3, 4, 5, 6]) == pytest.approx(expected[0], abs=1e-6)  # ints


def test_single_leaf_trees_and_unnamed_features() -> None:
    booster = _train(3, 5, names=False, extra={"min_child_weight": 1e9})  # no split can be made
    ensemble = TreeEnsemble.from_xgboost_json(booster.save_raw("json"))
    assert ensemble.feature_names == tuple(f"f{i}" for i in range(N_FEATURES))
    assert ensemble.max_depth == 0
    rows = _probe_rows(booster, 20)
    expected = booster.inplace_predict(rows)
    np.testing.assert_allclose(ensemble.predict_proba_batch(rows), expected, rtol=0, atol=1e-6)
    assert ensemble.predict_proba(_as_row(rows[0])) == pytest.approx(expected[0], abs=1e-6)


@pytest.mark.parametrize(("depth", "rounds"), [(1, 5), (3, 60), (6, 150)])
def test_contributions_match_approx_contribs(depth: int, rounds: int) -> None:
    booster = _train(depth, rounds, base_score=0.3 if depth == 3 else None, seed=depth)
    ensemble = TreeEnsemble.from_xgboost_json(booster.save_raw("json"))
    rows = _probe_rows(booster, 300)
    expected = booster.predict(
        xgb.DMatrix(rows, feature_names=NAMES), pred_contribs=True, approx_contribs=True
    )
    margins = booster.inplace_predict(rows, predict_type="margin")
    for row, want, margin in zip(rows, expected, margins, strict=True):
        contrib = ensemble.contributions(_as_row(row))
        assert list(contrib) == [*NAMES, BIAS]
        np.testing.assert_allclose(list(contrib.values()), want, rtol=0, atol=1e-5)
        assert sum(contrib.values()) == pytest.approx(float(margin), abs=2e-5)
    mapping = dict(zip(NAMES, _as_row(rows[5]), strict=True))
    assert ensemble.contributions_mapping(mapping) == ensemble.contributions(_as_row(rows[5]))


def test_loads_from_bytes_text_dict_and_file(tmp_path) -> None:
    booster = _train(3, 20, base_score=0.4)
    path = tmp_path / "model.json"
    booster.save_model(str(path))
    raw = bytes(booster.save_raw("json"))
    row = _as_row(_probe_rows(booster, 5)[4])
    want = TreeEnsemble.from_xgboost_json(raw).predict_proba(row)
    for source in (path.read_bytes(), path.read_text(), json.loads(raw), raw.decode()):
        assert TreeEnsemble.from_xgboost_json(source).predict_proba(row) == want
    assert TreeEnsemble.from_xgboost_json(raw).base_score == pytest.approx(0.4)


@pytest.mark.parametrize("raw", ["[4E-1]", "4E-1", 0.4, [0.4], "[4.0E-1]"])
def test_base_score_forms(raw) -> None:
    doc = json.loads(_train(2, 3, base_score=0.4).save_raw("json"))
    doc["learner"]["learner_model_param"]["base_score"] = raw
    assert TreeEnsemble.from_xgboost_json(doc).base_score == pytest.approx(0.4)


def test_row_length_is_checked() -> None:
    ensemble = TreeEnsemble.from_xgboost_json(_train(2, 3).save_raw("json"))
    with pytest.raises(ValueError, match="expects 6"):
        ensemble.predict_proba([1.0, 2.0])
    with pytest.raises(ValueError, match="shape"):
        ensemble.predict_proba_batch(np.zeros((3, 2)))
    with pytest.raises(TypeError):
        ensemble.predict_proba(["a"] * N_FEATURES)


def test_categorical_model_is_rejected() -> None:
    rng = np.random.default_rng(3)
    x = np.column_stack([rng.integers(0, 4, 500), rng.normal(size=500)]).astype(np.float64)
    y = (x[:, 0] == 2).astype(int)
    dtrain = xgb.DMatrix(x, label=y, feature_types=["c", "q"], enable_categorical=True)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2, "nthread": 2}, dtrain, 5)
    with pytest.raises(UnsupportedModelError, match="categorical"):
        TreeEnsemble.from_xgboost_json(booster.save_raw("json"))
    # also when only the split types say so
    doc = json.loads(booster.save_raw("json"))
    doc["learner"]["feature_types"] = []
    with pytest.raises(UnsupportedModelError, match="categorical"):
        TreeEnsemble.from_xgboost_json(doc)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"objective": "multi:softprob", "num_class": 3}, "objective"),
        ({"objective": "reg:squarederror"}, "objective"),
        ({"objective": "binary:logistic", "booster": "dart"}, "booster"),
        ({"objective": "binary:logistic", "booster": "gblinear"}, "booster"),
    ],
)
def test_unsupported_models_are_rejected(params: dict, message: str) -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(300, 3))
    y = rng.integers(0, 3 if "num_class" in params else 2, 300)
    booster = xgb.train({**params, "nthread": 2}, xgb.DMatrix(x, label=y), 3)
    with pytest.raises(UnsupportedModelError, match=message):
        TreeEnsemble.from_xgboost_json(booster.save_raw("json"))
    with pytest.raises(UnsupportedModelError):
        TreeEnsemble.from_xgboost_json({"not": "a model"})


def test_200_trees_depth_4_load_whole() -> None:
    # How fast they load is bench/scoring.py's to measure ("model load"), not a test's to time.
    booster = _train(4, 200)
    ensemble = TreeEnsemble.from_xgboost_json(bytes(booster.save_raw("json")))
    assert (ensemble.n_trees, ensemble.max_depth) == (200, 4)


def test_online_modules_do_not_import_heavy_libraries() -> None:
    code = (
        "import sys\n"
        "import lendguard.models.trees, lendguard.models.points, lendguard.models.artifact\n"
        "heavy = sorted(m for m in ('pandas', 'sklearn', 'xgboost', 'scipy') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
        "print('numpy' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    heavy, numpy_loaded = result.stdout.splitlines()
    assert heavy == ""
    assert numpy_loaded == "False", "numpy must only be imported by the batch functions"


# ---------------------------------------------------------------------- property-based


@cache
def _fixed_model() -> tuple[xgb.Booster, TreeEnsemble, tuple[float, ...]]:
    booster = _train(5, 60, base_score=0.35, method="hist", seed=11)
    ensemble = TreeEnsemble.from_xgboost_json(booster.save_raw("json"))
    thr = _thresholds(booster)
    t32 = thr.astype(np.float32)
    near = np.concatenate(
        [
            thr,
            np.nextafter(t32, np.float32(np.inf)),
            np.nextafter(t32, np.float32(-np.inf)),
            (t32.astype(np.float64) + np.nextafter(t32, np.float32(-np.inf)).astype(np.float64)) / 2,
        ]
    )
    return booster, ensemble, tuple(float(v) for v in near)


_THRESHOLDS = _fixed_model()[2]
_value = st.one_of(
    st.none(),
    st.just(float("nan")),
    st.sampled_from(_THRESHOLDS),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    st.integers(min_value=-10, max_value=10),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_value, min_size=N_FEATURES, max_size=N_FEATURES))
def test_random_rows_with_missing_values(row: list) -> None:
    booster, ensemble, _ = _fixed_model()
    matrix = np.array([[np.nan if v is None else float(v) for v in row]], dtype=np.float64)
    want = float(booster.inplace_predict(matrix)[0])
    assert ensemble.predict_proba(row) == pytest.approx(want, abs=1e-6)
    assert float(ensemble.predict_proba_batch(matrix)[0]) == pytest.approx(want, abs=1e-6)
    assert sum(ensemble.contributions(row).values()) == pytest.approx(ensemble.predict_margin(row), abs=1e-9)
