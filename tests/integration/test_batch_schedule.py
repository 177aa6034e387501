"""The schedule's target, fired as EventBridge Scheduler would (moto never fires schedules)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

from lendguard import deployment
from lendguard.batch.dates import business_date
from lendguard.book.snapshot import snapshot_rows
from lendguard.offline import batch_runs
from lendguard.offline.local.book_seed import seed_book
from lendguard.store import batch_runs as runs_table
from lendguard.store.accounts import DynamoAccountStore
from lendguard.store.aws import client


def fire(job: str, scheduled: datetime) -> str:
    """StartExecution with the schedule's input, the context attribute substituted, no name
    (the scheduler's templated Step Functions target lets the service name it)."""
    text = json.dumps(deployment.BATCH_SCHEDULE_INPUT).replace(
        deployment.SCHEDULED_TIME_ATTRIBUTE, scheduled.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    arn = os.environ[deployment.BATCH_STATE_MACHINES[job].env_var]
    name = f"scheduler-{scheduled:%Y%m%d%H%M%S}-{job}"  # moto needs a unique name
    return client("stepfunctions").start_execution(stateMachineArn=arn, name=name, input=text)["executionArn"]


def test_scheduled_fire_time_becomes_the_shanghai_run_date_and_a_second_fire_changes_nothing(
    runtime,
) -> None:
    # 17:30 UTC is 01:30 the next day in Shanghai: the run is for that next day.
    scheduled = (datetime.now(UTC) - timedelta(days=20)).replace(hour=17, minute=30, second=0, microsecond=0)
    day = business_date(scheduled)
    assert day == scheduled.date() + timedelta(days=1)
    seed_book(runtime.policy, 12, 9, day)
    accounts = len(list(snapshot_rows(DynamoAccountStore(), day)))
    arn = fire("inloan", scheduled)
    started = batch_runs.Started("inloan", f"inloan-{day.isoformat()}", arn, arn.rsplit(":", 1)[1])
    assert batch_runs.wait(started, timeout_s=120)["status"] == "SUCCEEDED"
    record = runs_table.get_run(f"inloan-{day.isoformat()}")
    assert record.status == "SUCCEEDED" and record.rows == accounts
    audit = {a.account_id: len(a.audit) for a in DynamoAccountStore().accounts()}
    # The scheduler's retry delivers the same fire time again: the run is found done.
    again = fire("inloan", scheduled + timedelta(seconds=1))
    second = batch_runs.Started("inloan", record.run_id, again, again.rsplit(":", 1)[1])
    assert batch_runs.wait(second, timeout_s=120)["status"] == "SUCCEEDED"
    assert {a.account_id: len(a.audit) for a in DynamoAccountStore().accounts()} == audit
    assert runs_table.get_run(record.run_id).attempt == 1
