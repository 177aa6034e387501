"""Batch-run throughput: one shard end to end against raw XGBoost, and a million accounts
through the local in-loan state machine. Ratios from one run (the machine is shared and noisy).

1. Per shard, end to end as ``lendguard.batch.shard`` does it (``score_shard``): the snapshot
   shard's Parquet bytes -> its schema checked, the columns the job reads -> the real in-loan job
   (``lendguard.book.jobs.JOBS["inloan"].score``: features, ONE vectorised model call, rules,
   trace) -> actions table -> Parquet bytes -> summary. Against
   ``xgboost.Booster.inplace_predict`` on the same feature matrix (rows/s). Target: end to end
   >= 0.6x raw. The behaviour model is fixed: the committed ``tests/data/models/behaviour-xgb/v1``
   (its tree count and depth printed), evaluated by the project's own vectorised evaluator (no
   xgboost in Lambda). The book is the seeded synthetic one (``lendguard book generate``).
2. ``--accounts`` (default 1,000,000) accounts through the in-loan state machine on moto (planner
   -> Distributed Map of shards -> summary), dry run over a documented export, with the time per
   million accounts.
"""

from __future__ import annotations

import argparse
import time
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import xgboost as xgb

from lendguard.batch import parquet
from lendguard.batch.dates import today
from lendguard.batch.shard import score_shard
from lendguard.book.jobs import JOBS, JobContext
from lendguard.models.artifact import ModelArtifact
from lendguard.offline import project
from lendguard.offline.book_synthetic import book_table
from lendguard.policy.loader import load_policy

SEED = 7


def behaviour_model() -> ModelArtifact:
    """The committed behaviour model the policy's ``in_loan.model`` names."""
    ref = load_policy(project.default_policy_path()).in_loan.model
    assert ref is not None, "the default policy names no in-loan model"
    return ModelArtifact.load(
        project.project_root() / "tests" / "data" / "models" / ref.id / f"v{ref.version}"
    )


def book(n: int, as_of: date) -> pa.Table:
    """A seeded synthetic snapshot of ``n`` accounts (the snapshot columns only)."""
    table: pa.Table = book_table(n, SEED, as_of, labels=False)
    return table


def matrix(table: pa.Table, names: list[str]) -> np.ndarray:
    return np.column_stack([table.column(f).to_numpy(zero_copy_only=False) for f in names]).astype(np.float32)


def per_shard(table: pa.Table, model: ModelArtifact, repeat: int) -> None:
    day = table.column("as_of")[0].as_py()
    job = JOBS["inloan"]
    ctx = JobContext(job="inloan", run_id="bench", run_date=day, dry_run=True,
                     policy=load_policy(project.default_policy_path()), model=model)  # fmt: skip
    booster = xgb.Booster()
    booster.load_model(bytearray(model.model_json))
    names = model.metadata.feature_names
    ensemble = model.ensemble()
    body = parquet.snapshot_to_bytes(table)  # as the planner writes a shard
    x = matrix(table, names)
    score_shard(body, job, ctx)  # warm: lazily built tables, the re-loan pricing cache

    def end_to_end() -> None:
        actions, _ = score_shard(body, job, ctx)  # what the shard function runs
        job.summarise(actions)

    timed = {"raw": lambda: booster.inplace_predict(x), "call": lambda: ensemble.predict_margin_batch(x),
             "e2e": end_to_end}  # fmt: skip
    best = dict.fromkeys(timed, float("inf"))
    for _ in range(repeat):  # interleaved: each ratio compares times taken under the same load
        for name, fn in timed.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    raw, call, e2e = best["raw"], best["call"], best["e2e"]
    n = table.num_rows
    print("job: lendguard.book.jobs.JOBS['inloan'] through lendguard.batch.shard.score_shard")
    print(f"behaviour model {model.metadata.model_id} v{model.metadata.version}: {ensemble.n_trees} trees, "
          f"max depth {ensemble.max_depth}, {len(names)} features")  # fmt: skip
    print(f"shard of {n:,} accounts, best of {repeat} interleaved rounds:")
    print(f"  raw xgboost inplace_predict   {n / raw:>12,.0f} rows/s")
    print(f"  model call alone (evaluator)  {n / call:>12,.0f} rows/s  ({raw / call:.2f}x raw)")
    print(f"  shard end to end              {n / e2e:>12,.0f} rows/s  ({call / e2e:.2f}x the model call)")
    print(f"  ratio end to end / raw        {raw / e2e:>12.2f}x   (target >= 0.6x)")


def through_machine(accounts: int, shard_rows: int) -> None:
    from lendguard.offline import batch_runs
    from lendguard.offline.local.runtime import LocalRuntime
    from lendguard.store import batch_objects

    day = today() - timedelta(days=1)
    t0 = time.perf_counter()
    snapshot = parquet.to_bytes(book(accounts, day))
    generated = time.perf_counter() - t0
    with LocalRuntime():
        batch_objects.put("exports/bench.parquet", snapshot, "application/vnd.apache.parquet")
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
          f"{shard_rows:,}, dry run, real in-loan job): {wall:.1f} s, {wall * 1_000_000 / accounts:.1f} s per "
          f"million (generating the snapshot, {generated:.1f} s, not counted)")  # fmt: skip
    print(f"  actions: {summary['counts'].get('by_action')}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shard", type=int, default=100_000, help="accounts in the per-shard measure")
    parser.add_argument(
        "--accounts", type=int, default=1_000_000, help="accounts through the machine (0: skip)"
    )
    parser.add_argument("--shard-rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    per_shard(book(args.shard, today() - timedelta(days=1)), behaviour_model(), args.repeat)
    if args.accounts:
        through_machine(args.accounts, args.shard_rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
