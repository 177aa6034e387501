"""Start the backtest machine and follow it shard by shard (``lendguard backtest --sharded``).

Progress, waiting and the failure's cause are the batch runs' own (:mod:`lendguard.offline.batch_runs`):
the backtest's objects have the same layout (manifest, done markers under ``batch/<run id>/``).
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from typing import Any

from lendguard import deployment
from lendguard.batch import layout
from lendguard.offline.backtest.sharded import JOB, BacktestStart, report_key
from lendguard.offline.batch_runs import Started
from lendguard.store import batch_objects
from lendguard.store.aws import client


def execution_name(start: BacktestStart, now: datetime | None = None) -> str:
    """``backtest-<UTC time>-<digest of the start>``: the run id, unique per start, readable in a list."""
    now = now or datetime.now(UTC)
    digest = hashlib.sha256(start.model_dump_json().encode()).hexdigest()[:8]
    return f"{JOB}-{now.strftime('%Y%m%dT%H%M%S%f')}-{digest}"


def start_backtest(start: BacktestStart, state_machine_arn: str | None = None) -> Started:
    """Start the backtest machine with ``start``; the run's id is its execution name."""
    arn = state_machine_arn or os.environ[deployment.BACKTEST_STATE_MACHINE.env_var]
    name = execution_name(start)
    resp = client("stepfunctions").start_execution(
        stateMachineArn=arn, name=name, input=start.model_dump_json(exclude_none=True)
    )
    return Started(JOB, name, resp["executionArn"], name)


def read_report(run_id: str) -> dict[str, Any] | None:
    """The run's ``report.json`` (a :class:`~lendguard.offline.backtest.report.BacktestReport`)."""
    body = batch_objects.get(report_key(run_id))
    return json.loads(body) if body is not None else None


def read_summary(run_id: str) -> dict[str, Any] | None:
    body = batch_objects.get(layout.summary_key(run_id))
    return json.loads(body) if body is not None else None
