"""The in-loan / post-loan machines on moto, end to end, with the real loan-book jobs
(``lendguard.book.jobs``) over a seeded book (``lendguard.offline.local.book_seed``)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pyarrow as pa
import pytest

from lendguard import deployment
from lendguard.batch import layout, parquet
from lendguard.batch.dates import today
from lendguard.book.jobs import JOBS
from lendguard.book.snapshot import arrow_schema, snapshot_rows
from lendguard.offline import batch_runs
from lendguard.offline.local.book_seed import seed_book
from lendguard.store import batch_objects
from lendguard.store import batch_runs as runs_table
from lendguard.store.accounts import DynamoAccountStore
from lendguard.store.aws import client


def _day(offset: int) -> date:
    return today() - timedelta(days=offset)


def _empty(table: str, keys: tuple[str, ...]) -> None:
    ddb = client("dynamodb")
    for page in ddb.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            ddb.delete_item(TableName=table, Key={k: item[k] for k in keys})


@pytest.fixture
def fresh_book(runtime) -> Iterator[None]:
    """An empty book for the test (the stack is shared by the module)."""
    from lendguard.settings import settings

    _empty(settings.accounts_table, ("account_id",))
    _empty(settings.loan_events_table, ("case_id", "event_id"))
    yield


@pytest.fixture
def bus_queue(runtime) -> str:
    """A queue the book bus sends every ``lendguard.book`` event to (what the loan app would read)."""
    sqs, events = client("sqs"), client("events")
    url = sqs.create_queue(QueueName="batch-flow-book-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = os.environ[deployment.ENV_EVENT_BUS]
    events.put_rule(Name="batch-flow", EventBusName=bus,
                    EventPattern=json.dumps({"source": [deployment.BOOK_EVENT_SOURCE]}))  # fmt: skip
    events.put_targets(Rule="batch-flow", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    _drain(url)  # what an earlier test of the module left
    return url


def _drain(url: str) -> list[dict[str, Any]]:
    sqs, out = client("sqs"), []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for m in messages:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return out


def _run(job: str, day: date, **kw: Any) -> tuple[batch_runs.Started, dict[str, Any]]:
    started = batch_runs.start_run(job, day, **kw)
    return started, batch_runs.wait(started, timeout_s=300)


def _audit_entries(job: str, day: date) -> int:
    key = f"{job}#{day.isoformat()}"
    return sum(1 for a in DynamoAccountStore().accounts() for e in a.audit if e.apply_key.endswith(key))


def test_inloan_run_scores_every_shard_applies_once_publishes_and_summarises(
    runtime, fresh_book, bus_queue
) -> None:
    day = _day(10)
    seed_book(runtime.policy, 120, 3, day)
    accounts = len(list(snapshot_rows(DynamoAccountStore(), day)))
    started, execution = _run("inloan", day, shard_rows=50)
    assert execution["status"] == "SUCCEEDED", batch_runs.failure(execution)
    summary = batch_runs.read_summary(started.run_id)
    shards = -(-accounts // 50)
    assert summary["shards_expected"] == summary["shards_written"] == shards
    assert summary["accounts"] == accounts and summary["status"] == "SUCCEEDED"
    # Pinned by the planner: no routing here, so the deployment's policy.
    assert summary["policy"] == f"{runtime.policy.id}@{runtime.policy.version}"
    by_action = summary["counts"]["by_action"]
    assert sum(by_action.values()) == accounts
    acted = accounts - by_action.get("NONE", 0)
    assert acted > 0, by_action
    assert summary["applied"]["applied"] == acted == _audit_entries("inloan", day)
    # Limit changes, freezes and re-loan offers reach the book bus, with the borrower's notice.
    received = _drain(bus_queue)
    assert len(received) == summary["applied"]["published"] > 0
    assert {e["source"] for e in received} == {deployment.BOOK_EVENT_SOURCE}
    assert all(e["detail"]["run_id"] == started.run_id and e["detail"]["notice"] for e in received)
    record = runs_table.get_run(started.run_id)
    assert record.status == "SUCCEEDED" and record.shards == shards
    # The same day again: the planner finds it done; nothing is scored, applied or published again.
    again, second = _run("inloan", day, shard_rows=50)
    assert second["status"] == "SUCCEEDED"
    assert again.execution_name == f"{started.execution_name}-r2"
    assert _audit_entries("inloan", day) == acted and _drain(bus_queue) == []


def test_postloan_dry_run_writes_the_queue_without_applying(runtime, fresh_book, bus_queue) -> None:
    day = _day(11)
    seed_book(runtime.policy, 40, 4, day)
    started, execution = _run("postloan", day, dry_run=True)
    assert execution["status"] == "SUCCEEDED", batch_runs.failure(execution)
    assert started.run_id.endswith("-dry-run")
    summary = batch_runs.read_summary(started.run_id)
    assert set(summary["counts"]["by_segment"]) - {"none"}, summary["counts"]
    assert _audit_entries("postloan", day) == 0 and _drain(bus_queue) == []
    (results,) = batch_objects.keys(layout.run_prefix(started.run_id) + "results/")
    actions = parquet.from_bytes(batch_objects.get(results))
    assert set(JOBS["postloan"].output_columns) <= set(actions.column_names)


class _FailingOn:
    """The real job, made to fail on the shard holding one account (a broken shard)."""

    def __init__(self, job: Any, account_id: str) -> None:
        self.job, self.account_id = job, account_id

    def score(self, shard: pa.Table, ctx: Any) -> pa.Table:
        if self.account_id in shard.column("account_id").to_pylist():
            raise RuntimeError("injected shard failure")
        return self.job.score(shard, ctx)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.job, name)


def test_failed_shards_above_the_tolerated_share_fail_the_run_and_a_rerun_resumes(
    runtime, fresh_book, monkeypatch
) -> None:
    day = _day(12)
    seed_book(runtime.policy, 50, 5, day)
    ids = sorted(a.account_id for a in DynamoAccountStore().accounts())
    real = JOBS["postloan"]
    monkeypatch.setitem(JOBS, "postloan", _FailingOn(real, ids[0]))
    started, execution = _run("postloan", day, shard_rows=10)
    assert execution["status"] == "FAILED"
    assert "BatchRunFailed" in batch_runs.failure(execution)
    summary = batch_runs.read_summary(started.run_id)
    assert summary["status"] == "FAILED" and len(summary["missing_shards"]) == 1
    assert runs_table.get_run(started.run_id).status == "FAILED"
    applied_before = _audit_entries("postloan", day)
    # Fixed: the next start resumes the run (attempt 2) and applies each action once.
    monkeypatch.setitem(JOBS, "postloan", real)
    again, second = _run("postloan", day, shard_rows=10)
    assert second["status"] == "SUCCEEDED", batch_runs.failure(second)
    assert runs_table.get_run(again.run_id).attempt == 2
    resumed = batch_runs.read_summary(again.run_id)
    acted = resumed["accounts"] - resumed["counts"]["by_action"].get("NONE", 0)
    assert _audit_entries("postloan", day) == acted > applied_before
    assert resumed["applied"]["already_applied"] == applied_before


def test_empty_book_succeeds_with_zero_shards(runtime, fresh_book) -> None:
    started, execution = _run("postloan", _day(13))
    assert execution["status"] == "SUCCEEDED", batch_runs.failure(execution)
    assert batch_runs.read_summary(started.run_id)["shards_expected"] == 0


def test_missing_documented_snapshot_fails_clearly(runtime) -> None:
    started, execution = _run("inloan", _day(14), snapshot_key="exports/none.parquet")
    assert execution["status"] == "FAILED"
    assert "SnapshotMissing" in batch_runs.failure(execution)
    assert runs_table.get_run(started.run_id).status == "FAILED"


def test_late_documented_snapshot_fails_clearly(runtime, fresh_book) -> None:
    day = _day(15)
    seed_book(runtime.policy, 5, 6, day - timedelta(days=1))
    rows = list(snapshot_rows(DynamoAccountStore(), day - timedelta(days=1)))
    batch_objects.put(
        "exports/old.parquet", parquet.to_bytes(pa.Table.from_pylist(rows, arrow_schema())), "x"
    )
    _, execution = _run("inloan", day, snapshot_key="exports/old.parquet")
    assert execution["status"] == "FAILED"
    assert "SnapshotLate" in batch_runs.failure(execution)


def test_documented_snapshot_with_a_missing_column_fails_naming_it(runtime) -> None:
    day = _day(17)
    table = pa.Table.from_pylist([], arrow_schema()).drop_columns(["days_past_due"])
    batch_objects.put("exports/bad.parquet", parquet.to_bytes(table), "x")
    started, execution = _run("inloan", day, snapshot_key="exports/bad.parquet")
    assert execution["status"] == "FAILED"
    assert "days_past_due" in batch_runs.failure(execution)
    assert runs_table.get_run(started.run_id).status == "FAILED"


def test_manifest_is_what_the_map_reads(runtime, fresh_book) -> None:
    day = _day(16)
    seed_book(runtime.policy, 7, 8, day)
    accounts = len(list(snapshot_rows(DynamoAccountStore(), day)))
    started, execution = _run("inloan", day, shard_rows=3, dry_run=True)
    assert execution["status"] == "SUCCEEDED", batch_runs.failure(execution)
    manifest = json.loads(batch_objects.get(layout.manifest_key(started.run_id)))
    assert sum(m["rows"] for m in manifest) == accounts and all(m["rows"] <= 3 for m in manifest)
    assert len(manifest) == -(-accounts // 3)


def test_claim_is_refused_while_another_execution_holds_the_run(runtime) -> None:
    from datetime import UTC, datetime

    from lendguard.batch.errors import BatchRunInProgress
    from lendguard.store.batch_runs import RunRecord, claim_run, finish_run

    now = datetime.now(UTC)
    first = RunRecord(run_id="postloan-2001-01-01", job="postloan", run_date=date(2001, 1, 1), dry_run=False,
                      status="RUNNING", execution="exec-a", attempt=1, started_at=now)  # fmt: skip
    assert claim_run(first).attempt == 1
    assert claim_run(first).execution == "exec-a"  # a retry of the same execution keeps its claim
    with pytest.raises(BatchRunInProgress):
        claim_run(first.model_copy(update={"execution": "exec-b"}))
    finish_run(first.run_id, "exec-a", "FAILED", now, reason="test")
    with pytest.raises(Exception, match="ConditionalCheckFailed"):
        finish_run(first.run_id, "exec-b", "SUCCEEDED", now)  # only the holder closes it
    resumed = claim_run(first.model_copy(update={"execution": "exec-b"}))
    assert (resumed.attempt, resumed.execution) == (2, "exec-b")
    finish_run(first.run_id, "exec-b", "SUCCEEDED", now)
    done = claim_run(first.model_copy(update={"execution": "exec-c"}))
    assert done.status == "SUCCEEDED" and done.execution == "exec-b"
