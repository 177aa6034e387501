"""Start a batch machine on the local stack and follow it shard by shard (``lendguard batch``).

The same state machine the scheduler starts on AWS, started the way a person would: the
execution is named from (job, run date), with ``-rN`` when an earlier attempt holds the name.
Progress is read from the run's own objects (the manifest, then each shard's done marker).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from lendguard import deployment
from lendguard.batch import layout
from lendguard.batch.dates import execution_name, run_id
from lendguard.store import batch_objects
from lendguard.store.aws import client

MAX_ATTEMPTS = 50
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})


@dataclass(frozen=True)
class Started:
    job: str
    run_id: str
    execution_arn: str
    execution_name: str


@dataclass(frozen=True)
class Progress:
    shards: int | None  # None until the manifest is written
    done: int
    status: str


def start_run(
    job: str,
    run_date: date,
    dry_run: bool = False,
    *,
    snapshot_key: str | None = None,
    shard_rows: int | None = None,
    state_machine_arn: str | None = None,
) -> Started:
    """Start the job's machine for ``run_date``; the first execution name free for it."""
    spec = deployment.BATCH_STATE_MACHINES[job]
    arn = state_machine_arn or os.environ[spec.env_var]
    request: dict[str, Any] = {"run_date": run_date.isoformat(), "dry_run": dry_run}
    if snapshot_key:
        request["snapshot_key"] = snapshot_key
    if shard_rows:
        request["shard_rows"] = shard_rows
    sfn = client("stepfunctions")
    for attempt in range(1, MAX_ATTEMPTS + 1):
        name = execution_name(job, run_date, dry_run, attempt)
        try:
            resp = sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(request))
        except sfn.exceptions.ExecutionAlreadyExists:
            continue
        return Started(job, run_id(job, run_date, dry_run), resp["executionArn"], name)
    raise RuntimeError(f"{MAX_ATTEMPTS} executions of {run_id(job, run_date, dry_run)} already exist")


def progress(started: Started) -> Progress:
    """Shards planned and done so far, and the execution's status."""
    status = client("stepfunctions").describe_execution(executionArn=started.execution_arn)["status"]
    manifest = batch_objects.get(layout.manifest_key(started.run_id))
    shards = len(json.loads(manifest)) if manifest is not None else None
    done = sum(1 for _ in batch_objects.keys(layout.shard_done_prefix(started.run_id)))
    return Progress(shards=shards, done=done, status=status)


def wait(
    started: Started,
    on_progress: Callable[[Progress], None] | None = None,
    poll_s: float = 0.2,
    timeout_s: float = 3600.0,
) -> dict[str, Any]:
    """Poll until the execution ends; its ``describe_execution`` answer."""
    sfn = client("stepfunctions")
    deadline = time.monotonic() + timeout_s
    while True:
        current = progress(started)
        if on_progress:
            on_progress(current)
        if current.status in TERMINAL:
            return sfn.describe_execution(executionArn=started.execution_arn)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{started.execution_name} still {current.status} after {timeout_s:.0f}s")
        time.sleep(poll_s)


def failure(execution: dict[str, Any]) -> str:
    """Why an execution failed: its error and cause from the history's last failure event."""
    history = client("stepfunctions").get_execution_history(
        executionArn=execution["executionArn"], reverseOrder=True, maxResults=50
    )["events"]
    for event in history:
        for key, details in event.items():
            if key.endswith("FailedEventDetails") and isinstance(details, dict):
                cause = details.get("cause") or ""
                with contextlib.suppress(ValueError, AttributeError):
                    cause = json.loads(cause).get("errorMessage", cause)
                return f"{details.get('error', 'error')}: {cause}"
    return execution.get("status", "FAILED")


def read_summary(rid: str) -> dict[str, Any] | None:
    body = batch_objects.get(layout.summary_key(rid))
    return json.loads(body) if body is not None else None
