"""The run's last step: shards expected vs written, the tolerated share, counts, metrics.

It counts the shards' done markers itself rather than trusting the map's outcome: moto writes
an empty ``ResultWriter`` manifest and does not enforce ``ToleratedFailurePercentage`` (a failed
shard fails its whole map there), so the machine routes a failed map here too, and this step
decides the same way on AWS and on moto.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lendguard.batch import layout
from lendguard.batch.errors import BatchRunFailed
from lendguard.batch.model import RunPlan, RunSummary, ShardDone
from lendguard.store import batch_objects, batch_runs

RUN_FAILED_METRIC = "BatchRunFailed"
ACCOUNTS_METRIC = "BatchAccounts"
SHARDS_FAILED_METRIC = "BatchShardsFailed"
ACTIONS_METRIC = "BatchActions"
_DONE = re.compile(r"shard-(\d+)\.json$")


def merge_counts(total: dict[str, Any], part: Mapping[str, Any]) -> dict[str, Any]:
    """Add ``part`` into ``total``: numbers summed, nested mappings merged, anything else kept first."""
    for key, value in part.items():
        if isinstance(value, bool):
            total.setdefault(key, value)
        elif isinstance(value, int | float):
            total[key] = total.get(key, 0) + value
        elif isinstance(value, Mapping):
            total[key] = merge_counts(dict(total.get(key) or {}), value)
        else:
            total.setdefault(key, value)
    return total


@dataclass(frozen=True)
class ShardCheck:
    """The shards a run expected against the done markers written: what every summary decides on."""

    done: dict[int, ShardDone]  # shard -> its marker (only shards of the plan)
    expected: set[int]
    missing: list[int]
    share: float  # percent of expected shards without a marker
    tolerated: float

    @property
    def failed(self) -> bool:
        return self.share > self.tolerated


def check_shards(run_id: str, shards: int, tolerated: float) -> ShardCheck:
    """Read the run's done markers (``batch/<run id>/done/``) and compare them with ``shards`` expected.

    Shared by every machine of the batch shape (in-loan, post-loan, backtest): the markers are the
    proof a shard finished, never the map's own result (moto writes an empty ResultWriter manifest).
    """
    done: dict[int, ShardDone] = {}
    for key in batch_objects.keys(layout.shard_done_prefix(run_id)):
        match = _DONE.search(key)
        body = batch_objects.get(key) if match else None
        if body is not None:
            marker = ShardDone.model_validate_json(body)
            done[marker.shard] = marker
    expected = set(range(shards))
    missing = sorted(expected - set(done))
    share = 100.0 * len(missing) / shards if shards else 0.0
    kept = {s: m for s, m in done.items() if s in expected}
    return ShardCheck(done=kept, expected=expected, missing=missing, share=share, tolerated=tolerated)


def summarise_run(
    event: dict[str, Any], namespace: str, now: datetime | None = None
) -> tuple[RunSummary, str]:
    """Write the summary JSON, close the run and publish its metrics; (summary, its key).

    Raises :class:`BatchRunFailed` (after writing all that) when the failed share of shards is
    above the tolerated one.
    """
    raw_plan = dict(event["plan"])
    map_error = raw_plan.pop("map_error", None)
    plan = RunPlan.model_validate(raw_plan)
    tolerated = float(event["tolerated_failure_percentage"])
    check = check_shards(plan.run_id, plan.shards, tolerated)
    done, expected, missing, share, failed = (
        check.done,
        check.expected,
        check.missing,
        check.share,
        check.failed,
    )
    counts: dict[str, Any] = {}
    applied: dict[str, int] = {}
    for shard in sorted(set(done) & expected):
        merge_counts(counts, done[shard].summary)
        merge_counts(applied, done[shard].applied)
    summary = RunSummary(
        run_id=plan.run_id, job=plan.job, run_date=plan.run_date, dry_run=plan.dry_run,
        status="FAILED" if failed else "SUCCEEDED", execution=plan.execution, attempt=plan.attempt,
        shards_expected=plan.shards, shards_written=len(expected & set(done)), missing_shards=missing,
        failed_share_percent=round(share, 3), tolerated_failure_percent=tolerated,
        accounts=sum(done[s].rows for s in expected & set(done)), counts=counts, applied=applied,
        policy=f"{plan.policy_id}@{plan.policy_version}",
        map_error=error_text(map_error), finished_at=now or datetime.now(UTC),
    )  # fmt: skip
    key = layout.summary_key(plan.run_id)
    batch_objects.put(key, summary.model_dump_json(indent=1).encode(), "application/json")
    batch_runs.finish_run(
        plan.run_id, plan.execution, summary.status, summary.finished_at,
        reason=f"{len(missing)} of {plan.shards} shards not written" if failed else None, summary_key=key,
    )  # fmt: skip
    publish(namespace, summary)
    if failed:
        raise BatchRunFailed(
            f"run {plan.run_id}: {len(missing)} of {plan.shards} shards not written "
            f"({share:.1f}% > tolerated {tolerated:.1f}%)"
        )
    return summary, key


def error_text(error: Any) -> str | None:
    if not error:
        return None
    if isinstance(error, Mapping):
        return str(error.get("Error") or error)[:500]
    return str(error)[:500]


def metric_points(summary: RunSummary) -> list[tuple[str, dict[str, str], float]]:
    """(metric, dimensions, value): run failed (0/1), accounts, shards failed, actions by name."""
    dims = {"job": summary.job}
    points = [
        (RUN_FAILED_METRIC, dims, 1.0 if summary.status == "FAILED" else 0.0),
        (ACCOUNTS_METRIC, dims, float(summary.accounts)),
        (SHARDS_FAILED_METRIC, dims, float(len(summary.missing_shards))),
    ]
    by_action = summary.counts.get("by_action") or summary.counts.get("actions") or {}
    if isinstance(by_action, Mapping):
        for action, count in sorted(by_action.items()):
            if isinstance(count, int | float) and not isinstance(count, bool):
                points.append((ACTIONS_METRIC, {**dims, "action": str(action)}, float(count)))
    return points


def publish(namespace: str, summary: RunSummary) -> None:
    """Emit :func:`metric_points` as EMF; dry runs publish nothing (they are rehearsals)."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    if summary.dry_run:
        return
    for name, dims, value in metric_points(summary):
        with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=namespace) as metric:
            for key, dim in dims.items():
                metric.add_dimension(name=key, value=dim)
