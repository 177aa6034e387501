"""The messages between the batch machine's states: start input, plan, shard item, summary."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field

from lendguard import deployment
from lendguard.core.base_model import Model

JOBS: tuple[str, ...] = tuple(deployment.BATCH_STATE_MACHINES)
DEFAULT_SHARD_ROWS = 50_000
# What a start may say. The scheduler sends ``scheduled_time`` (its <aws.scheduler.scheduled-time>);
# a person (``lendguard batch run``) sends ``run_date``.


class BatchStart(Model):
    """The execution's input, as the scheduler or ``lendguard batch run`` sends it."""

    model_config = ConfigDict(extra="forbid")

    run_date: date | None = None
    scheduled_time: datetime | None = None
    dry_run: bool = False
    shard_rows: Annotated[int, Field(ge=1, le=1_000_000)] = DEFAULT_SHARD_ROWS
    # A documented export already in the data bucket (a Parquet file of the snapshot columns)
    # instead of the planner's own export of the accounts table.
    snapshot_key: Annotated[str, Field(min_length=1, max_length=1024)] | None = None


class ShardItem(Model):
    """One line of the manifest: what one scoring function reads."""

    model_config = ConfigDict(extra="forbid")

    shard: Annotated[int, Field(ge=0)]
    key: str
    rows: Annotated[int, Field(ge=0)]


class RunPlan(Model):
    """The planner's answer, carried through the machine to every shard and the summary."""

    model_config = ConfigDict(extra="ignore")  # the machine adds map_error on a failed map

    run_id: str
    job: str
    run_date: date
    dry_run: bool
    execution: str
    attempt: int
    bucket: str
    manifest_key: str
    shards: int
    rows: int
    # The policy version the whole run scores with, pinned by the planner (the routing's champion
    # when the run was planned), so a routing change mid-run never splits a run between versions.
    policy_id: str
    policy_version: int
    skip: bool = False  # the run already succeeded: nothing to do


class ShardTask(Model):
    """One Distributed Map item as the shard function receives it (ItemSelector)."""

    model_config = ConfigDict(extra="forbid")

    plan: RunPlan
    shard: ShardItem


class ShardDone(Model):
    """Written by a shard after its results and their application (``done/shard-N.json``)."""

    shard: int
    rows: int
    results_key: str
    applied: dict[str, int] = Field(default_factory=dict)
    summary: dict[str, Any] = Field(default_factory=dict)
    attempts: int = 1


class RunSummary(Model):
    """The run's summary JSON (``batch/<run id>/summary.json``)."""

    run_id: str
    job: str
    run_date: date
    dry_run: bool
    status: str  # SUCCEEDED | FAILED
    execution: str
    attempt: int
    shards_expected: int
    shards_written: int
    missing_shards: list[int]
    failed_share_percent: float
    tolerated_failure_percent: float
    accounts: int
    policy: str  # "id@version" the run scored with
    counts: dict[str, Any]
    applied: dict[str, int]
    map_error: str | None = None
    finished_at: datetime
