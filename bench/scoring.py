"""Benchmark online scoring against XGBoost itself, and the scoring function's start-up.

Trains a 200-tree, depth-4 ``binary:logistic`` model on seeded synthetic data and the German
Credit XGBoost model and scorecard (tests/data, the stock training defaults), then prints:

* single-row latency: ``TreeEnsemble.predict_proba(list)`` vs ``booster.inplace_predict(np row)``
  (target ratio ≤ 0.5×); and the **online scorer** as the scoring stage runs it on German Credit
  (``ModelArtifact.encode_row`` from raw values, categories included, then ``predict_proba``)
  against ``inplace_predict`` on the already-encoded numpy row (target ≤ 0.5×);
* batch throughput: ``predict_proba_batch`` vs ``inplace_predict`` on the same 100k × N matrix,
* import time in a fresh interpreter: ``import lendguard.models.trees`` and the **scoring
  handler** (``functions/scoring/handler.py`` with everything it imports) vs ``import numpy``
  (target ratio ≤ 1.5×), and what of it is boto3 plus Powertools (Logger, Metrics, Tracer with
  the X-Ray SDK), which no lendguard change removes,
* model load time, the scorecard's single-row latency, and the largest difference from
  XGBoost's predictions.

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
from pathlib import Path

import numpy as np
import xgboost as xgb

from lendguard.models.trees import TreeEnsemble
from lendguard.offline.training.tabular import read_training_csv, train_from_frame

ROOT = Path(__file__).resolve().parents[1]
GERMAN = ROOT / "tests" / "data" / "germancredit.csv"
HANDLER = ROOT / "functions" / "scoring" / "handler.py"
# What every stage function imports before any lendguard code: the floor under the handler's
# import time while the project's conventions (Powertools Tracer, models in S3) hold.
IMPORT_PLATFORM = "import boto3; from aws_lambda_powertools import Logger, Metrics, Tracer; Tracer()"
IMPORT_HANDLER = (
    f"import importlib.util as u; s = u.spec_from_file_location('handler', {str(HANDLER)!r}); "
    "m = u.module_from_spec(s); s.loader.exec_module(m)"
)

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


def _german() -> dict[str, float]:
    """The online scorer on German Credit: raw applicant values in, PD out, vs inplace_predict."""
    frame = read_training_csv(GERMAN)
    model = train_from_frame(frame, "creditability", model_id="german-xgb").artifact
    card = train_from_frame(frame, "creditability", kind="scorecard", model_id="german-scorecard").artifact
    booster = xgb.Booster()
    booster.load_model(bytearray(model.model_json))
    booster.set_param({"nthread": 2})  # as the synthetic model below (and this machine's 2 cores)
    records = frame.drop(columns=["creditability"]).to_dict(orient="records")[:500]
    np_rows = [
        np.array([[np.nan if v is None else v for v in model.encode_row(r)[0]]], dtype=np.float64)
        for r in records
    ]
    ensemble = model.ensemble()

    def online(values: dict) -> float:
        return ensemble.predict_proba(model.encode_row(values)[0])

    for r in np_rows[:50]:
        booster.inplace_predict(r)
    scorecard = card.scorecard()
    return {
        "online": _per_call(online, records),
        "xgb": _per_call(booster.inplace_predict, np_rows),
        "contributions": _per_call(lambda v: ensemble.contributions(model.encode_row(v)[0]), records),
        "scorecard": _per_call(scorecard.evaluate, records),
        "diff": max(
            abs(online(r) - float(booster.inplace_predict(n)[0]))
            for r, n in zip(records, np_rows, strict=True)
        ),
        "trees": float(ensemble.n_trees),
    }


def main() -> int:
    german = _german()
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
    # the handler as Lambda runs it: tracing and metrics off as in the local stack
    handler_env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true"}
    bare = _import_wall("pass")
    imp_trees = _import_wall("import lendguard.models.trees")
    imp_handler = _import_wall(IMPORT_HANDLER, handler_env)
    imp_numpy = _import_wall("import numpy")
    with tempfile.TemporaryDirectory() as cache:
        env = {k: v for k, v in handler_env.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        bare_c = _import_wall("pass", env)
        imp_trees_c = _import_wall("import lendguard.models.trees", env)
        imp_handler_c = _import_wall(IMPORT_HANDLER, env)
        imp_platform_c = _import_wall(IMPORT_PLATFORM, env)
        imp_numpy_c = _import_wall("import numpy", env)
    compiled = "" if os.environ.get("PYTHONDONTWRITEBYTECODE") else " (.pyc may be cached)"

    rows = [
        ("single row, µs/call", ours_row * 1e6, xgb_row * 1e6, ours_row / xgb_row, "≤ 0.5"),
        (
            "online scorer, German, µs/call",
            german["online"] * 1e6,
            german["xgb"] * 1e6,
            german["online"] / german["xgb"],
            "≤ 0.5",
        ),
        (
            f"batch {BATCH_ROWS // 1000}k×{N_FEATURES}, k rows/s",
            BATCH_ROWS / ours_batch / 1e3,
            BATCH_ROWS / xgb_batch / 1e3,
            xgb_batch / ours_batch,
            "(throughput)",
        ),
        (
            f"import handler, ms wall{compiled}",
            imp_handler * 1e3,
            imp_numpy * 1e3,
            imp_handler / imp_numpy,
            "≤ 1.5",
        ),
        (
            "import handler, cached .pyc",
            imp_handler_c * 1e3,
            imp_numpy_c * 1e3,
            imp_handler_c / imp_numpy_c,
            "≤ 1.5",
        ),
        (
            "  of it boto3 + Powertools, cached",
            imp_platform_c * 1e3,
            imp_numpy_c * 1e3,
            imp_platform_c / imp_numpy_c,
            "(floor)",
        ),
        (
            f"import trees, ms wall{compiled}",
            imp_trees * 1e3,
            imp_numpy * 1e3,
            imp_trees / imp_numpy,
            "≤ 1.5",
        ),
        (
            "  minus bare python",
            (imp_trees - bare) * 1e3,
            (imp_numpy - bare) * 1e3,
            (imp_trees - bare) / max(imp_numpy - bare, 1e-9),
            "",
        ),
        (
            "import trees, cached .pyc",
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
    print(
        f"German Credit: {german['trees']:.0f}-tree XGBoost (categories coded in the model), raw values per row; "
        "import rows: the xgboost column is `import numpy`"
    )
    print(f"{'measure':<34}{'lendguard':>12}{'xgboost':>12}{'ratio':>9}  target")
    print("-" * 78)
    for name, ours, theirs, ratio, target in rows:
        print(f"{name:<34}{ours:>12.1f}{theirs:>12.1f}{ratio:>8.2f}×  {target}")
    print("-" * 78)
    print(f"model load (from_xgboost_json, {len(raw) / 1e3:.0f} kB): {load_s * 1e3:.2f} ms")
    print(f"max |Δp| vs inplace_predict: single row {single_diff:.1e}, batch {batch_diff:.1e}, "
          f"German online scorer {german['diff']:.1e}")  # fmt: skip
    print(f"German Credit per row: online scorer with contributions {german['contributions'] * 1e6:.1f} µs, "
          f"points scorecard (card.evaluate) {german['scorecard'] * 1e6:.1f} µs")  # fmt: skip
    print(f"bare `python -c pass`: {bare * 1e3:.1f} ms; xgboost column of the import rows = `import numpy`")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
