"""Batch run records in DynamoDB (``BatchRunsTable``): one item per run id (job, run date, mode).

Claiming a run is a conditional write, so two starts of the same date never both run it:
the first creates the item; a retry of the same execution finds its own claim; a start while
another execution holds it is refused (:class:`BatchRunInProgress`); a start after a failed
attempt takes the run over (attempt + 1) and resumes it; a start after success is told so.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from botocore.exceptions import ClientError

from lendguard.batch.errors import BatchRunInProgress
from lendguard.core.base_model import Model
from lendguard.settings import settings
from lendguard.store.aws import client

Status = Literal["RUNNING", "SUCCEEDED", "FAILED"]


class RunRecord(Model):
    """What the table keeps of a run."""

    run_id: str
    job: str
    run_date: date
    dry_run: bool
    status: Status
    execution: str
    attempt: int
    started_at: datetime
    finished_at: datetime | None = None
    shards: int | None = None
    rows: int | None = None
    reason: str | None = None
    summary_key: str | None = None


def _item(record: RunRecord) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for name, value in record.model_dump(mode="json").items():
        if value is None:
            continue
        if isinstance(value, bool):
            item[name] = {"BOOL": value}
        elif isinstance(value, int):
            item[name] = {"N": str(value)}
        else:
            item[name] = {"S": str(value)}
    return item


def _record(item: dict[str, Any]) -> RunRecord:
    values = {k: v.get("S", v.get("N", v.get("BOOL"))) for k, v in item.items()}
    return RunRecord.model_validate(values)


def _conditional_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def get_run(run_id: str) -> RunRecord | None:
    item = (
        client("dynamodb")
        .get_item(TableName=settings.batch_runs_table, Key={"run_id": {"S": run_id}}, ConsistentRead=True)
        .get("Item")
    )
    return _record(item) if item else None


def claim_run(record: RunRecord) -> RunRecord:
    """Claim ``record.run_id`` for ``record.execution``; the record the run goes on with.

    Its ``status`` is ``SUCCEEDED`` when the run is already done (nothing to do).
    """
    ddb, table = client("dynamodb"), settings.batch_runs_table
    try:
        ddb.put_item(TableName=table, Item=_item(record), ConditionExpression="attribute_not_exists(run_id)")
        return record
    except ClientError as exc:
        if not _conditional_failed(exc):
            raise
    existing = get_run(record.run_id)
    if existing is None:  # deleted between the two calls: claim again from scratch
        return claim_run(record)
    if existing.status == "SUCCEEDED" or existing.execution == record.execution:
        return existing
    if existing.status == "RUNNING":
        raise BatchRunInProgress(
            f"run {record.run_id} is held by execution {existing.execution} (attempt {existing.attempt})"
        )
    resumed = record.model_copy(update={"attempt": existing.attempt + 1})
    try:
        ddb.put_item(
            TableName=table,
            Item=_item(resumed),
            ConditionExpression="#s = :failed AND #e = :previous",
            ExpressionAttributeNames={"#s": "status", "#e": "execution"},
            ExpressionAttributeValues={":failed": {"S": "FAILED"}, ":previous": {"S": existing.execution}},
        )
    except ClientError as exc:
        if _conditional_failed(exc):
            raise BatchRunInProgress(f"run {record.run_id} was taken over by another execution") from None
        raise
    return resumed


def set_planned(run_id: str, execution: str, shards: int, rows: int) -> None:
    """Record how many shards the run expects (only while ``execution`` holds it)."""
    client("dynamodb").update_item(
        TableName=settings.batch_runs_table,
        Key={"run_id": {"S": run_id}},
        UpdateExpression="SET shards = :n, #r = :rows",
        ConditionExpression="#e = :execution",
        ExpressionAttributeNames={"#e": "execution", "#r": "rows"},
        ExpressionAttributeValues={
            ":n": {"N": str(shards)}, ":rows": {"N": str(rows)}, ":execution": {"S": execution},
        },
    )  # fmt: skip


def finish_run(
    run_id: str,
    execution: str,
    status: Status,
    finished_at: datetime,
    reason: str | None = None,
    summary_key: str | None = None,
) -> None:
    """Close the run as ``status`` (only while ``execution`` holds it)."""
    names = {"#s": "status", "#e": "execution"}
    values: dict[str, Any] = {
        ":status": {"S": status}, ":at": {"S": finished_at.isoformat()}, ":execution": {"S": execution},
    }  # fmt: skip
    update = "SET #s = :status, finished_at = :at"
    if reason is not None:
        update += ", reason = :reason"
        values[":reason"] = {"S": reason[:1000]}
    if summary_key is not None:
        update += ", summary_key = :summary"
        values[":summary"] = {"S": summary_key}
    client("dynamodb").update_item(
        TableName=settings.batch_runs_table,
        Key={"run_id": {"S": run_id}},
        UpdateExpression=update,
        ConditionExpression="#e = :execution",
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )
