"""The schedule's target, fired as EventBridge Scheduler would (moto never fires schedules): the
starter function, invoked with the schedule's input, its context attribute substituted."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

from lendguard import deployment
from lendguard.batch.dates import business_date
from lendguard.book.snapshot import snapshot_rows
from lendguard.offline import batch_runs
from lendguard.offline.local.book_seed import seed_book
from lendguard.offline.local.runtime import PREFIX
from lendguard.store import batch_runs as runs_table
from lendguard.store.accounts import DynamoAccountStore
from lendguard.store.aws import client


def fire(job: str, scheduled: datetime) -> dict:
    """Invoke the schedule's target (the starter) with the schedule's input, as the scheduler does."""
    text = json.dumps(deployment.batch_schedule_input(job)).replace(
        deployment.SCHEDULED_TIME_ATTRIBUTE, scheduled.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    name = f"{PREFIX}-{deployment.BATCH_STARTER_FUNCTION.name}"
    resp = client("lambda").invoke(FunctionName=name, Payload=text.encode())
    body = json.loads(resp["Payload"].read())
    assert "FunctionError" not in resp, body
    return body


def test_scheduled_fire_time_becomes_the_shanghai_run_date_and_a_second_fire_changes_nothing(
    runtime,
) -> None:
    # 17:30 UTC is 01:30 the next day in Shanghai: the run is for that next day.
    scheduled = (datetime.now(UTC) - timedelta(days=20)).replace(hour=17, minute=30, second=0, microsecond=0)
    day = business_date(scheduled)
    assert day == scheduled.date() + timedelta(days=1)
    seed_book(runtime.policy, 12, 9, day)
    accounts = len(list(snapshot_rows(DynamoAccountStore(), day)))
    first = fire("inloan", scheduled)
    # The execution is named from (job, run date), not by the service.
    assert first["started"] and first["execution_name"] == f"inloan-{day.isoformat()}"
    assert first["execution_arn"].endswith(f":inloan-{day.isoformat()}")
    started = batch_runs.Started(
        "inloan", f"inloan-{day.isoformat()}", first["execution_arn"], first["execution_name"]
    )
    assert batch_runs.wait(started, timeout_s=120)["status"] == "SUCCEEDED"
    record = runs_table.get_run(f"inloan-{day.isoformat()}")
    assert record.status == "SUCCEEDED" and record.rows == accounts
    assert record.execution == f"inloan-{day.isoformat()}"
    audit = {a.account_id: len(a.audit) for a in DynamoAccountStore().accounts()}
    # The scheduler's retry delivers the same fire time again, or a later one of the same day:
    # that execution exists and succeeded, so nothing is started.
    for again in (scheduled, scheduled + timedelta(minutes=5)):
        repeated = fire("inloan", again)
        assert not repeated["started"] and repeated["execution_arn"] == first["execution_arn"]
    assert len(_executions("inloan")) == 1
    assert {a.account_id: len(a.audit) for a in DynamoAccountStore().accounts()} == audit
    assert runs_table.get_run(record.run_id).attempt == 1


def _executions(job: str) -> list[dict]:
    arn = os.environ[deployment.BATCH_STATE_MACHINES[job].env_var]
    return client("stepfunctions").list_executions(stateMachineArn=arn)["executions"]


def test_a_fire_after_a_failed_execution_starts_the_next_name_which_resumes_the_run(runtime) -> None:
    scheduled = (datetime.now(UTC) - timedelta(days=30)).replace(hour=18, minute=0, second=0, microsecond=0)
    day = business_date(scheduled)
    name = f"postloan-{day.isoformat()}"
    arn = os.environ[deployment.BATCH_STATE_MACHINES["postloan"].env_var]
    # A failed execution of that name (a start naming a snapshot that is not there).
    failed = client("stepfunctions").start_execution(
        stateMachineArn=arn,
        name=name,
        input=json.dumps({"run_date": day.isoformat(), "snapshot_key": "exports/none.parquet"}),
    )["executionArn"]
    assert (
        batch_runs.wait(batch_runs.Started("postloan", name, failed, name), timeout_s=120)["status"]
        == "FAILED"
    )
    resumed = fire("postloan", scheduled)
    assert resumed["started"] and resumed["execution_name"] == f"{name}-r2"
    done = batch_runs.wait(
        batch_runs.Started("postloan", name, resumed["execution_arn"], f"{name}-r2"), timeout_s=120
    )
    assert done["status"] == "SUCCEEDED"
    assert runs_table.get_run(name).attempt == 2


def test_a_fire_naming_an_unknown_job_or_no_time_is_refused(runtime) -> None:
    name = f"{PREFIX}-{deployment.BATCH_STARTER_FUNCTION.name}"
    for payload in ({"job": "nightly", "scheduled_time": "2026-11-01T17:30:00Z"}, {"job": "inloan"}):
        resp = client("lambda").invoke(FunctionName=name, Payload=json.dumps(payload).encode())
        body = json.loads(resp["Payload"].read())
        assert resp.get("FunctionError") and body["errorType"] == "InvalidInput"
        field = "job" if "nightly" in json.dumps(payload) else "scheduled_time"
        assert field in body["errorMessage"]
