"""One shard of a run: read its Parquet snapshot, score it (one vectorised call), write the
actions, apply them (unless a dry run), then mark the shard done.

The done marker is written last: the summary counts markers, never the map's own result
(moto writes an empty ResultWriter manifest). A retried shard redoes everything; the job's
apply is idempotent per (account, job, run date), so nothing is applied twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lendguard.batch import book, layout, parquet
from lendguard.batch.model import ShardDone, ShardTask
from lendguard.batch.shard_input import check_rows, read_shard
from lendguard.store import batch_objects

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa


def score_shard(body: bytes, job: Any, ctx: Any) -> tuple[pa.Table, bytes]:
    """A snapshot shard's Parquet bytes to the job's actions and their Parquet bytes: the whole
    snapshot schema checked from the file's footer, then only the columns the job reads decoded,
    the categories as dictionaries, scored in one vectorised pass, written. What ``bench/book_scoring.py`` measures."""
    book.validate_snapshot(parquet.schema_of(body))
    snapshot = parquet.from_bytes(body, job.columns(ctx), book.categorical_columns())
    actions = job.score(snapshot, ctx)
    return actions, parquet.results_to_bytes(actions)


def run_shard(event: dict[str, Any]) -> dict[str, Any]:
    """Score, write and apply one shard; a small answer (the map keeps every shard's)."""
    task = ShardTask.model_validate(event)
    plan, item = task.plan, task.shard
    body = read_shard(plan.run_id, item, "snapshot")
    job = book.job(plan.job)
    ctx = book.context(plan)
    actions, results = score_shard(body, job, ctx)
    check_rows(plan.run_id, item, actions.num_rows, "rows")
    results_key = layout.results_key(plan.run_id, item.shard)
    batch_objects.put(results_key, results, "application/vnd.apache.parquet")
    applied: dict[str, int] = {}
    if not plan.dry_run:
        store, events = book.apply_targets()
        applied = dict(job.apply(actions, ctx, store, events))
    done = ShardDone(
        shard=item.shard, rows=actions.num_rows, results_key=results_key, applied=applied,
        summary=job.summarise(actions),
    )  # fmt: skip
    batch_objects.put(
        layout.shard_done_key(plan.run_id, item.shard), done.model_dump_json().encode(), "application/json"
    )
    return {"shard": item.shard, "rows": done.rows}
