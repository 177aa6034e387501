"""The planner: which run, claimed once; the snapshot exported in Parquet shards; the manifest.

A start names its day (``run_date``) or carries the scheduler's fire time (``scheduled_time``,
UTC), read as the Asia/Shanghai business day. A day in the future cannot have a book yet and is
refused. The snapshot is either exported here from the accounts table, or a documented export
(``snapshot_key``: one Parquet file of the snapshot columns) that must exist and be as of the run
date; a missing one fails with ``SnapshotMissing``, an older one with ``SnapshotLate``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from itertools import islice
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import ValidationError

from lendguard.batch import book, layout, parquet
from lendguard.batch.dates import business_date, run_id, today
from lendguard.batch.errors import SnapshotLate, SnapshotMissing
from lendguard.batch.model import JOBS, BatchStart, RunPlan, ShardItem
from lendguard.core.errors import FieldError, InvalidInput
from lendguard.store import batch_objects, batch_runs
from lendguard.store.batch_runs import RunRecord


def resolve_run_date(start: BatchStart, now: datetime) -> date:
    """The run's business day; ``InvalidInput`` naming the field when absent or in the future."""
    if start.run_date is not None:
        day, field = start.run_date, "run_date"
    elif start.scheduled_time is not None:
        day, field = business_date(start.scheduled_time), "scheduled_time"
    else:
        raise InvalidInput(
            "batch start names no day",
            [FieldError(field="run_date", message="give run_date or scheduled_time")],
        )
    if day > today(now):
        raise InvalidInput(
            "batch start is for a future day",
            [FieldError(field=field, message=f"{day.isoformat()} is after today ({today(now).isoformat()})")],
        )
    return day


def plan_run(job: str, execution: str, request: dict[str, Any], now: datetime | None = None) -> RunPlan:
    """Claim the run of (job, day) for ``execution`` and write its shards and manifest."""
    now = now or datetime.now(UTC)
    if job not in JOBS:
        raise InvalidInput(
            "unknown batch job", [FieldError(field="job", message=f"one of {', '.join(JOBS)}")]
        )
    try:
        start = BatchStart.model_validate(request)
    except ValidationError as exc:
        raise InvalidInput.from_validation_error("invalid batch start", exc) from None
    day = resolve_run_date(start, now)
    rid = run_id(job, day, start.dry_run)
    claimed = batch_runs.claim_run(
        RunRecord(
            run_id=rid, job=job, run_date=day, dry_run=start.dry_run, status="RUNNING",
            execution=execution, attempt=1, started_at=now,
        )
    )  # fmt: skip
    policy_id, policy_version = book.pinned_policy()
    plan = RunPlan(
        run_id=rid, job=job, run_date=day, dry_run=start.dry_run, execution=execution,
        policy_id=policy_id, policy_version=policy_version,
        attempt=claimed.attempt, bucket=batch_objects.bucket(), manifest_key=layout.manifest_key(rid),
        shards=claimed.shards or 0, rows=claimed.rows or 0, skip=claimed.status == "SUCCEEDED",
    )  # fmt: skip
    if plan.skip:
        return plan
    try:
        items = _export(rid, day, start)
        shards, rows = len(items), sum(i.rows for i in items)
        batch_objects.put(
            plan.manifest_key,
            json.dumps([i.model_dump() for i in items]).encode(),
            "application/json",
        )
        batch_runs.set_planned(rid, execution, shards, rows)
    except Exception as exc:
        batch_runs.finish_run(
            rid, execution, "FAILED", datetime.now(UTC), reason=f"{type(exc).__name__}: {exc}"
        )
        raise
    return plan.model_copy(update={"shards": shards, "rows": rows})


def _export(rid: str, day: date, start: BatchStart) -> list[ShardItem]:
    """Write the snapshot's shards (``batch/<run>/snapshot/shard-N.parquet``); their manifest lines.

    A resumed run exports again: the book may have moved, and the shard functions' apply is
    idempotent per (account, job, run date), so accounts already acted on are not acted on twice.
    """
    batch_objects.delete_prefix(layout.run_prefix(rid) + "snapshot/")
    batch_objects.delete_prefix(layout.shard_done_prefix(rid))
    if start.snapshot_key:
        tables: Iterable[pa.Table] = _slices(_documented_export(start.snapshot_key, day), start.shard_rows)
    else:
        tables = _tables(book.snapshot_rows(day), book.snapshot_schema(), start.shard_rows)
    items = []
    for shard, table in enumerate(tables):
        book.validate_snapshot(table)
        key = layout.snapshot_key(rid, shard)
        batch_objects.put(key, parquet.snapshot_to_bytes(table), "application/vnd.apache.parquet")
        items.append(ShardItem(shard=shard, key=key, rows=table.num_rows))
    return items


def _tables(rows: Iterator[dict[str, Any]], schema: pa.Schema, size: int) -> Iterator[pa.Table]:
    while chunk := list(islice(rows, size)):
        yield pa.Table.from_pylist(chunk, schema=schema)


def _slices(table: pa.Table, size: int) -> Iterator[pa.Table]:
    for offset in range(0, table.num_rows, size):
        yield table.slice(offset, size)


def _documented_export(key: str, day: date) -> pa.Table:
    """A snapshot exported by another system: present, valid, and as of the run date."""
    body = batch_objects.get(key)
    if body is None:
        raise SnapshotMissing(f"no snapshot at s3://{batch_objects.bucket()}/{key} for {day.isoformat()}")
    table = parquet.from_bytes(body)
    book.validate_snapshot(table)
    if table.num_rows:
        newest = pc.max(table.column("as_of")).as_py()
        if newest < day:
            raise SnapshotLate(
                f"snapshot s3://{batch_objects.bucket()}/{key} is as of {newest.isoformat()}, "
                f"the run is for {day.isoformat()}: the export for that day has not landed"
            )
    return table
