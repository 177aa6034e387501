"""The in-loan / post-loan machines on moto, end to end, with a fake loan-book job (tests/fakes)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from fakes.book import install

from lendguard.batch import layout
from lendguard.batch.dates import today
from lendguard.offline import batch_runs
from lendguard.store import batch_objects
from lendguard.store import batch_runs as runs_table


@pytest.fixture
def book(monkeypatch):
    return install(monkeypatch)


def _day(offset: int) -> date:
    return today() - timedelta(days=offset)


def _run(job: str, day: date, **kw):
    started = batch_runs.start_run(job, day, **kw)
    return started, batch_runs.wait(started, timeout_s=120)


def test_inloan_run_scores_every_shard_applies_once_and_summarises(runtime, book) -> None:
    day = _day(10)
    book.add_accounts(250, day)
    started, execution = _run("inloan", day, shard_rows=60)
    assert execution["status"] == "SUCCEEDED", batch_runs.failure(execution)
    summary = batch_runs.read_summary(started.run_id)
    assert summary["shards_expected"] == summary["shards_written"] == 5
    assert summary["accounts"] == 250 and summary["status"] == "SUCCEEDED"
    assert sum(summary["counts"]["by_action"].values()) == 250
    applied = len(book.applied)
    assert applied == summary["applied"]["applied"] > 0
    record = runs_table.get_run(started.run_id)
    assert record.status == "SUCCEEDED" and record.shards == 5
    # The same day again: the planner finds it done; nothing is scored or applied again.
    calls = book.apply_calls
    again, second = _run("inloan", day, shard_rows=60)
    assert second["status"] == "SUCCEEDED"
    assert again.execution_name == f"{started.execution_name}-r2"
    assert book.apply_calls == calls and len(book.applied) == applied


def test_dry_run_writes_actions_without_applying(runtime, book) -> None:
    day = _day(11)
    book.add_accounts(30, day)
    started, execution = _run("postloan", day, dry_run=True)
    assert execution["status"] == "SUCCEEDED", batch_runs.failure(execution)
    assert started.run_id.endswith("-dry-run")
    assert book.applied == {}
    results = list(batch_objects.keys(layout.run_prefix(started.run_id) + "results/"))
    assert len(results) == 1


def test_failed_shards_above_the_tolerated_share_fail_the_run_and_a_rerun_resumes(runtime, book) -> None:
    day = _day(12)
    book.add_accounts(100, day)
    book.failing_accounts = {"A0000015"}  # shard 1 of 10
    started, execution = _run("inloan", day, shard_rows=10)
    assert execution["status"] == "FAILED"
    assert "BatchRunFailed" in batch_runs.failure(execution)
    summary = batch_runs.read_summary(started.run_id)
    assert summary["status"] == "FAILED" and summary["missing_shards"] == [1]
    assert runs_table.get_run(started.run_id).status == "FAILED"
    # Fixed: the next start resumes the run (attempt 2) and applies each action once.
    book.failing_accounts = set()
    again, second = _run("inloan", day, shard_rows=10)
    assert second["status"] == "SUCCEEDED", batch_runs.failure(second)
    assert runs_table.get_run(again.run_id).attempt == 2
    expected = sum(1 for a in book.accounts if a["days_past_due"] >= 5 or a["utilisation"] > 0.8)
    assert len(book.applied) == expected


def test_empty_book_succeeds_with_zero_shards(runtime, book) -> None:
    started, execution = _run("postloan", _day(13))
    assert execution["status"] == "SUCCEEDED", batch_runs.failure(execution)
    assert batch_runs.read_summary(started.run_id)["shards_expected"] == 0


def test_missing_documented_snapshot_fails_clearly(runtime, book) -> None:
    started, execution = _run("inloan", _day(14), snapshot_key="exports/none.parquet")
    assert execution["status"] == "FAILED"
    assert "SnapshotMissing" in batch_runs.failure(execution)
    assert runs_table.get_run(started.run_id).status == "FAILED"


def test_late_documented_snapshot_fails_clearly(runtime, book) -> None:
    import pyarrow as pa
    from fakes.book import ARROW, SNAPSHOT_COLUMNS

    from lendguard.batch import parquet

    day = _day(15)
    book.add_accounts(5, day - timedelta(days=1))
    schema = pa.schema([(n, ARROW[k]) for n, k in SNAPSHOT_COLUMNS.items()])
    batch_objects.put(
        "exports/old.parquet", parquet.to_bytes(pa.Table.from_pylist(book.accounts, schema)), "x"
    )
    _, execution = _run("inloan", day, snapshot_key="exports/old.parquet")
    assert execution["status"] == "FAILED"
    assert "SnapshotLate" in batch_runs.failure(execution)


def test_manifest_is_what_the_map_reads(runtime, book) -> None:
    day = _day(16)
    book.add_accounts(7, day)
    started, execution = _run("inloan", day, shard_rows=3)
    assert execution["status"] == "SUCCEEDED", batch_runs.failure(execution)
    manifest = json.loads(batch_objects.get(layout.manifest_key(started.run_id)))
    assert [m["rows"] for m in manifest] == [3, 3, 1]


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
