"""Benchmark the light tree evaluator against XGBoost itself.

Trains a 200-tree, depth-4 ``binary:logistic`` model on seeded synthetic data, then prints:

* single-row latency: ``TreeEnsemble.predict_proba(list)`` vs ``booster.inplace_predict(np row)``
  (target ratio ≤ 0.5×),
* batch throughput: ``predict_proba_batch`` vs ``inplace_predict`` on the same 100k × N matrix,
* import time in a fresh interpreter: ``import lendguard.models.trees`` vs ``import numpy``
  (target ratio ≤ 1.5×),
* model load time and the largest difference from XGBoost's predictions.

Run: ``.venv/bin/python bench/scoring.py``. Plain-text table, exit status 0.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import timeit

import numpy as np
import xgboost as xgb

from lendguard.models.trees import TreeEnsemble

SEED = 20261122
N_FEATURES = 20
N_TREES = 200
DEPTH = 4
BATCH_ROWS = 100_000


def _train() -> xgb.Booster:
    rng = np.random.default_rng(SEED)
    n = 20_000
    x = rng.normal(size=(n, N_FEATURES))
    logit = x[:, :5] @ np.array([0.8, -0.6, 0.5, 0.4, -0.3]) + 0.5 * np.sin(x[:, 5]) - 1.5
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    x[rng.random(x.shape) < 0.1] = np.nan
    params = {
        "objective": "binary:logistic",
        "max_depth": DEPTH,
        "eta": 0.05,
        "subsample": 0.8,
        "colsample_bytree": 0.8,
        "min_child_weight": 3,
        "tree_method": "hist",
        "nthread": 2,
        "seed": SEED,
    }
    return xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=N_TREES)


def _per_call(fn, args_list, repeat: int = 5) -> float:
    """Best-of-``repeat`` mean seconds per call, cycling through ``args_list``."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for args in args_list:
            fn(args)
        best = min(best, (time.perf_counter() - start) / len(args_list))
    return best


def _import_wall(statement: str, env: dict[str, str] | None = None, runs: int = 9) -> float:
    """Median wall time of a fresh ``python -c statement`` (after one warm-up run)."""
    times = []
    for i in range(runs + 1):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True, env=env)
        if i:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    booster = _train()
    raw = bytes(booster.save_raw("json"))
    load_s = min(timeit.repeat(lambda: TreeEnsemble.from_xgboost_json(raw), number=10, repeat=5)) / 10
    ensemble = TreeEnsemble.from_xgboost_json(raw)

    rng = np.random.default_rng(SEED + 1)
    matrix = rng.normal(size=(BATCH_ROWS, N_FEATURES))
    matrix[rng.random(matrix.shape) < 0.1] = np.nan

    # single row: 500 different rows, python lists for ours, (1, N) float64 arrays for xgboost
    np_rows = [matrix[i : i + 1].copy() for i in range(500)]
    py_rows = [[None if np.isnan(v) else float(v) for v in r[0]] for r in np_rows]
    for r in np_rows[:50]:
        booster.inplace_predict(r)
    ours_row = _per_call(ensemble.predict_proba, py_rows)
    xgb_row = _per_call(booster.inplace_predict, np_rows)
    single_diff = max(
        abs(ensemble.predict_proba(p) - float(booster.inplace_predict(n)[0]))
        for p, n in zip(py_rows, np_rows, strict=True)
    )

    # batch
    ensemble.predict_proba_batch(matrix[:100])
    booster.inplace_predict(matrix[:100])
    ours_batch = min(timeit.repeat(lambda: ensemble.predict_proba_batch(matrix), number=1, repeat=3))
    xgb_batch = min(timeit.repeat(lambda: booster.inplace_predict(matrix), number=1, repeat=3))
    batch_diff = float(np.max(np.abs(ensemble.predict_proba_batch(matrix) - booster.inplace_predict(matrix))))

    # import time in fresh interpreters: as this environment runs them (PYTHONDONTWRITEBYTECODE may
    # be set, then our sources are compiled on every start, as in a Lambda layer shipped without
    # .pyc files), and with a bytecode cache (in a temporary PYTHONPYCACHEPREFIX, not the repo)
    bare = _import_wall("pass")
    imp_trees = _import_wall("import lendguard.models.trees")
    imp_numpy = _import_wall("import numpy")
    with tempfile.TemporaryDirectory() as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        bare_c = _import_wall("pass", env)
        imp_trees_c = _import_wall("import lendguard.models.trees", env)
        imp_numpy_c = _import_wall("import numpy", env)
    compiled = "" if os.environ.get("PYTHONDONTWRITEBYTECODE") else " (.pyc may be cached)"

    rows = [
        ("single row, µs/call", ours_row * 1e6, xgb_row * 1e6, ours_row / xgb_row, "≤ 0.5"),
        (
            f"batch {BATCH_ROWS // 1000}k×{N_FEATURES}, k rows/s",
            BATCH_ROWS / ours_batch / 1e3,
            BATCH_ROWS / xgb_batch / 1e3,
            xgb_batch / ours_batch,
            "(throughput)",
        ),
        (f"import, ms wall{compiled}", imp_trees * 1e3, imp_numpy * 1e3, imp_trees / imp_numpy, "≤ 1.5"),
        (
            "  minus bare python",
            (imp_trees - bare) * 1e3,
            (imp_numpy - bare) * 1e3,
            (imp_trees - bare) / max(imp_numpy - bare, 1e-9),
            "",
        ),
        (
            "import, ms wall, cached .pyc",
            imp_trees_c * 1e3,
            imp_numpy_c * 1e3,
            imp_trees_c / imp_numpy_c,
            "≤ 1.5",
        ),
        (
            "  minus bare python",
            (imp_trees_c - bare_c) * 1e3,
            (imp_numpy_c - bare_c) * 1e3,
            (imp_trees_c - bare_c) / max(imp_numpy_c - bare_c, 1e-9),
            "",
        ),
    ]
    print(
        f"lendguard tree evaluator vs xgboost {xgb.__version__}: {N_TREES} trees, depth {DEPTH}, "
        f"{N_FEATURES} features, 10% missing"
    )
    print(f"{'measure':<32}{'lendguard':>12}{'xgboost':>12}{'ratio':>9}  target")
    print("-" * 76)
    for name, ours, theirs, ratio, target in rows:
        print(f"{name:<32}{ours:>12.1f}{theirs:>12.1f}{ratio:>8.2f}×  {target}")
    print("-" * 76)
    print(f"model load (from_xgboost_json, {len(raw) / 1e3:.0f} kB): {load_s * 1e3:.2f} ms")
    print(f"max |Δp| vs inplace_predict: single row {single_diff:.1e}, batch {batch_diff:.1e}")
    print(f"bare `python -c pass`: {bare * 1e3:.1f} ms; xgboost column of the import rows = `import numpy`")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
