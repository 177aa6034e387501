"""Backtest throughput: the column evaluator against the in-process pipeline, in one run.

Prints, from one run (the machine is shared and noisy, so only ratios within a run count):
1. rows/s of the in-process pipeline (every stage, simulated vendors, in-memory lists) on a
   sample of the generated applications;
2. rows/s of the backtest (checking and typing the columns, evaluating the default policy
   shard by shard, aggregating outcomes, funnel, spend and per-rule counts, merging the shards)
   on 1,000,000 rows, with its wall time; the ratio of (2) to (1), target ≥ 50×;
3. the time to build the report and its HTML page from those aggregates, as a ratio of the
   backtest's time, target ≤ 1.

The 1,000,000 rows are the generator's distinct applications (``--distinct``, with their
facts, planted list entries and labels) repeated with fresh application ids: generating a
million applications one by one would take longer than everything measured here.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from lendguard.core.application import parse_application
from lendguard.core.hashing import LOCAL_SECRET
from lendguard.decision.pipeline import MemoryLists, Pipeline
from lendguard.models.artifact import ModelArtifact
from lendguard.offline import project
from lendguard.offline.backtest.aggregates import aggregate, merge_all
from lendguard.offline.backtest.data import prepare
from lendguard.offline.backtest.evaluator import evaluate
from lendguard.offline.backtest.report import build_report, render_html
from lendguard.offline.backtest.run import SHARD_ROWS
from lendguard.offline.local.runtime import default_home, ensure_default_model
from lendguard.offline.synthetic import LABEL_COLUMN, backtest_rows
from lendguard.policy.loader import load_policy

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--distinct", type=int, default=20_000)
    parser.add_argument("--sample", type=int, default=2_000, help="rows decided by the pipeline")
    args = parser.parse_args()

    policy = load_policy(project.default_policy_path())
    model = ModelArtifact.load(ensure_default_model(default_home()))
    apps, rows, entries = backtest_rows(args.distinct, 7, LOCAL_SECRET, policy, NOW)

    pipeline = Pipeline(policy, model, LOCAL_SECRET, lookup=MemoryLists(entries))
    sample = [parse_application(a, policy.products) for a in apps[: args.sample]]
    for app in sample[:50]:  # warm caches and compiled paths
        pipeline.decide(app, "warm", NOW)
    started = time.perf_counter()
    for i, app in enumerate(sample):
        pipeline.decide(app, f"C{i}", NOW)
    pipeline_rate = len(sample) / (time.perf_counter() - started)

    base = pd.DataFrame(rows)
    repeats = -(-args.rows // len(base))
    frame = pd.concat([base] * repeats, ignore_index=True).iloc[: args.rows]
    frame["application_id"] = [f"B{i:07d}" for i in range(len(frame))]
    frame = prepare(frame, policy, model).frame  # typed once, as a Parquet file would arrive
    labels = frame.pop(LABEL_COLUMN).astype(np.int8).to_numpy()
    evaluate(policy, model, frame.iloc[:2000].reset_index(drop=True), NOW)  # warm

    started = time.perf_counter()
    checked = prepare(frame, policy, model).frame
    parts = []
    exact = 0
    for start in range(0, len(checked), SHARD_ROWS):
        shard = checked.iloc[start : start + SHARD_ROWS].reset_index(drop=True)
        ev = evaluate(policy, model, shard, NOW)
        exact += ev.offers.exact_rows
        parts.append(aggregate(ev, labels[start : start + SHARD_ROWS]))
    agg = merge_all(parts)
    backtest_s = time.perf_counter() - started
    backtest_rate = len(checked) / backtest_s

    started = time.perf_counter()
    page = render_html(build_report(policy, agg, {"source": "bench", "label": LABEL_COLUMN}))
    report_s = time.perf_counter() - started

    ratio = backtest_rate / pipeline_rate
    print(f"pipeline (in process): {pipeline_rate:,.0f} rows/s on {len(sample):,} rows")
    print(f"backtest: {len(checked):,} rows in {backtest_s:.1f} s wall = {backtest_rate:,.0f} rows/s "
          f"({exact:,} offers by the exact scalar path)")  # fmt: skip
    print(f"backtest / pipeline rows per second: {ratio:.0f}x (target >= 50x)")
    print(f"report + HTML ({len(page) / 1e6:.1f} MB): {report_s:.2f} s = {report_s / backtest_s:.2f} of the "
          "backtest's time (target <= 1)")  # fmt: skip
    outcomes = {d: c.n for d, c in agg.decisions.items()}
    print(f"outcomes: {outcomes}; vendor spend per 1,000: {1000 * agg.spend() / agg.rows:,.2f}")
    return 0 if ratio >= 50 and report_s <= backtest_s else 1


if __name__ == "__main__":
    sys.exit(main())
