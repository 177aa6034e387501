"""Batch-run throughput: one shard end to end against raw XGBoost, and a million accounts
through the local in-loan state machine. Ratios from one run (the machine is shared and noisy).

1. Per shard, end to end as ``lendguard.batch.shard`` does it: Parquet bytes -> Arrow table ->
   the job's ``score`` (features, ONE vectorised model call, rules) -> actions table -> Parquet
   bytes. Against ``xgboost.Booster.inplace_predict`` on the same feature matrix (rows/s).
   Target: end to end >= 0.6x raw. The behaviour model is fixed here (seeded, its tree count and
   depth printed) and shipped as the project's own vectorised evaluator (no xgboost in Lambda).
2. 1,000,000 accounts through the in-loan state machine on moto (planner -> Distributed Map of
   shards -> summary), dry run, with the time per million accounts.

The job is ``lendguard.book.jobs.JOBS["inloan"]`` when the loan-book package is installed; until
then a stand-in defined here that follows the same contract (score / apply / summarise), so the
orchestration's own cost is measured either way. Which one ran is printed.
"""

from __future__ import annotations

import argparse
import sys
import time
import types
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xgboost as xgb

from lendguard.batch import parquet
from lendguard.batch.dates import today
from lendguard.models.trees import TreeEnsemble

SEED = 7
N_TREES = 150
DEPTH = 5
FEATURES = ("utilisation", "months_on_book", "max_dpd_6m", "payment_ratio", "draws_3m", "limit_changes_12m")
SNAPSHOT_COLUMNS = {
    "account_id": "string", "customer_key": "string", "status": "string", "as_of": "date32",
    "credit_limit": "float64", **dict.fromkeys(FEATURES, "float64"),
}  # fmt: skip


def book(n: int, as_of: date, seed: int = SEED) -> pa.Table:
    """A synthetic snapshot of ``n`` accounts (vectorised; only for this benchmark)."""
    rng = np.random.default_rng(seed)
    ids = pa.array(np.char.add("A", np.arange(n).astype("U9")))
    columns: dict[str, Any] = {
        "account_id": ids,
        "customer_key": pa.array(np.char.add("k", np.arange(n).astype("U9"))),
        "status": pa.array(np.where(rng.random(n) < 0.97, "active", "frozen")),
        "as_of": pa.array([as_of] * n, pa.date32()),
        "credit_limit": rng.choice([2000.0, 5000.0, 10000.0, 20000.0], n),
        "utilisation": rng.beta(2, 3, n),
        "months_on_book": rng.integers(1, 48, n).astype(float),
        "max_dpd_6m": np.where(rng.random(n) < 0.85, 0, rng.integers(1, 90, n)).astype(float),
        "payment_ratio": np.clip(rng.normal(0.95, 0.15, n), 0, 1.2),
        "draws_3m": rng.poisson(1.5, n).astype(float),
        "limit_changes_12m": rng.poisson(0.4, n).astype(float),
    }
    return pa.table(columns)


def train_model(table: pa.Table) -> xgb.Booster:
    x = matrix(table)
    logit = 2.5 * x[:, 0] + 0.03 * x[:, 2] - 2.0 * x[:, 3] - 0.02 * x[:, 1] + 0.2 * x[:, 4] - 1.0
    y = (np.random.default_rng(SEED).random(len(x)) < 1 / (1 + np.exp(-logit))).astype(int)
    params = {"objective": "binary:logistic", "max_depth": DEPTH, "eta": 0.1, "tree_method": "hist",
              "nthread": 2, "seed": SEED}  # fmt: skip
    return xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=N_TREES)


def matrix(table: pa.Table) -> np.ndarray:
    return np.column_stack([table.column(f).to_numpy(zero_copy_only=False) for f in FEATURES]).astype(
        np.float32
    )


@dataclass(frozen=True)
class JobContext:
    job: str
    run_id: str
    run_date: date
    dry_run: bool
    policy: Any
    model: Any


class StandInJob:
    """The in-loan contract with one model call and vectorised rules (limit down / freeze / up)."""

    def score(self, shard: pa.Table, ctx: Any) -> pa.Table:
        pd_ = ctx.model.predict_proba_batch(matrix(shard))
        util = shard.column("utilisation").to_numpy()
        dpd = shard.column("max_dpd_6m").to_numpy()
        action = np.select(
            [dpd >= 30, pd_ > 0.5, (pd_ < 0.1) & (util > 0.7)], ["FREEZE", "LIMIT_DOWN", "LIMIT_UP"], "NONE"
        )
        limit = shard.column("credit_limit").to_numpy()
        new_limit = np.where(action == "LIMIT_UP", np.minimum(limit * 1.2, 50000.0),
                             np.where(action == "LIMIT_DOWN", limit * 0.7, limit))  # fmt: skip
        return pa.table({"account_id": shard.column("account_id"), "action": action, "score": pd_,
                         "new_limit": new_limit, "reasons": pa.array(np.where(action == "NONE", "", "PD_BAND"))})  # fmt: skip

    def apply(self, actions: pa.Table, ctx: Any, store: Any, events: Any) -> dict[str, int]:
        return {}

    def summarise(self, actions: pa.Table) -> dict[str, Any]:
        return {
            "by_action": {
                c["values"]: c["counts"] for c in pc.value_counts(actions.column("action")).to_pylist()
            }
        }


def _job_and_context(ensemble: TreeEnsemble, day: date) -> tuple[Any, Any, str]:
    try:
        from lendguard.book.jobs import JOBS
        from lendguard.book.jobs import JobContext as RealContext
        from lendguard.offline import project
        from lendguard.policy.loader import load_policy

        ctx = RealContext(job="inloan", run_id="bench", run_date=day, dry_run=True,
                          policy=load_policy(project.default_policy_path()), model=ensemble)  # fmt: skip
        return JOBS["inloan"], ctx, "lendguard.book.jobs.JOBS['inloan']"
    except ImportError:
        ctx = JobContext(
            job="inloan", run_id="bench", run_date=day, dry_run=True, policy=None, model=ensemble
        )
        return StandInJob(), ctx, "stand-in job (lendguard.book not installed)"


def _install_stand_in(ensemble: TreeEnsemble) -> None:
    """Register the stand-in as lendguard.book for the local machine when the real one is absent."""
    try:
        import lendguard.book.jobs  # noqa: F401

        return
    except ImportError:
        pass
    import lendguard.batch.book as seam

    def validate(table: pa.Table) -> None:
        missing = set(SNAPSHOT_COLUMNS) - set(table.column_names)
        if missing:
            raise ValueError(f"missing columns {sorted(missing)}")

    job = StandInJob()
    modules = {
        "lendguard.book": types.ModuleType("lendguard.book"),
        "lendguard.book.snapshot": types.ModuleType("lendguard.book.snapshot"),
        "lendguard.book.jobs": types.ModuleType("lendguard.book.jobs"),
    }
    modules["lendguard.book"].__path__ = []
    modules["lendguard.book.snapshot"].SNAPSHOT_COLUMNS = SNAPSHOT_COLUMNS
    modules["lendguard.book.snapshot"].validate_snapshot = validate
    modules["lendguard.book.jobs"].JOBS = {"inloan": job, "postloan": job}
    modules["lendguard.book.jobs"].JobContext = JobContext
    sys.modules.update(modules)
    seam._model = lambda policy, name: ensemble  # the bench's fixed behaviour model


def per_shard(table: pa.Table, booster: xgb.Booster, ensemble: TreeEnsemble, repeat: int) -> None:
    job, ctx, which = _job_and_context(ensemble, table.column("as_of")[0].as_py())
    body = parquet.to_bytes(table)
    x = matrix(table)
    raw, e2e, model = float("inf"), float("inf"), float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        booster.inplace_predict(x)
        raw = min(raw, time.perf_counter() - t0)
        t0 = time.perf_counter()
        ensemble.predict_proba_batch(x)
        model = min(model, time.perf_counter() - t0)
        t0 = time.perf_counter()
        actions = job.score(parquet.from_bytes(body), ctx)
        parquet.to_bytes(actions)
        job.summarise(actions)
        e2e = min(e2e, time.perf_counter() - t0)
    n = table.num_rows
    print(f"job: {which}")
    print(
        f"behaviour model: {ensemble.n_trees} trees, max depth {ensemble.max_depth}, {len(FEATURES)} features"
    )
    print(f"shard of {n:,} accounts, best of {repeat}:")
    print(f"  raw xgboost inplace_predict   {n / raw:>12,.0f} rows/s")
    print(f"  model call alone (evaluator)  {n / model:>12,.0f} rows/s  ({raw / model:.2f}x raw)")
    print(f"  shard end to end              {n / e2e:>12,.0f} rows/s  ({model / e2e:.2f}x the model call)")
    print(f"  ratio end to end / raw        {raw / e2e:>12.2f}x   (target >= 0.6x)")


def through_machine(accounts: int, shard_rows: int, ensemble: TreeEnsemble) -> None:
    from lendguard.offline import batch_runs
    from lendguard.offline.local.runtime import LocalRuntime
    from lendguard.store import batch_objects

    _install_stand_in(ensemble)
    day = today() - timedelta(days=1)
    with LocalRuntime():
        t0 = time.perf_counter()
        batch_objects.put(
            "exports/bench.parquet", parquet.to_bytes(book(accounts, day)), "application/octet-stream"
        )
        upload = time.perf_counter() - t0
        t0 = time.perf_counter()
        started = batch_runs.start_run("inloan", day, dry_run=True, snapshot_key="exports/bench.parquet",
                                       shard_rows=shard_rows)  # fmt: skip
        execution = batch_runs.wait(started, timeout_s=3000)
        wall = time.perf_counter() - t0
        if execution["status"] != "SUCCEEDED":
            print(f"run failed: {batch_runs.failure(execution)}")
            return
        summary = batch_runs.read_summary(started.run_id)
    print(f"{accounts:,} accounts through the local in-loan machine ({summary['shards_written']} shards of "
          f"{shard_rows:,}, dry run): {wall:.1f} s, {wall * 1_000_000 / accounts:.1f} s per million "
          f"(snapshot upload {upload:.1f} s not counted)")  # fmt: skip
    print(f"  actions: {summary['counts'].get('by_action')}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shard", type=int, default=100_000, help="accounts in the per-shard measure")
    parser.add_argument("--accounts", type=int, default=1_000_000, help="accounts through the machine")
    parser.add_argument("--shard-rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    table = book(args.shard, today() - timedelta(days=1))
    booster = train_model(book(20_000, today(), seed=SEED + 1))
    ensemble = TreeEnsemble.from_xgboost_json(bytes(booster.save_raw("json")))
    per_shard(table, booster, ensemble, args.repeat)
    if args.accounts:
        through_machine(args.accounts, args.shard_rows, ensemble)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
