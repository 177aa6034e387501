"""Case records in DynamoDB: indexed attributes plus the whole record as JSON.

Item attributes:

- ``case_id`` (key), ``application_id``, ``status``, ``created_at``, ``decision``: what the
  GSIs ``by_status`` (status, created_at) and ``by_application`` (application_id, created_at)
  and the list filters read. ``created_at`` is written in one canonical UTC form
  (``2026-11-22T02:00:00.000000+00:00``) so that string order is time order.
- ``body``: the :class:`~lendguard.cases.record.CaseRecord` as JSON.
- ``version``: incremented by every conditional write (optimistic concurrency).
- ``review_task_id`` / ``review_task_token``: the open review task. The token is what
  SendTaskSuccess needs; it is kept out of ``body`` so reading a case never exposes it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from lendguard.cases.record import CaseRecord
from lendguard.core.errors import Conflict, FieldError, InvalidInput, NotFound
from lendguard.settings import settings
from lendguard.store.aws import client

BY_STATUS, BY_APPLICATION = "by_status", "by_application"
MAX_PAGE = 100
# Query pages read per partition for one list page: a selective filter (decision=) may leave
# a page short of `limit`; its next_token goes on from where reading stopped.
_MAX_READS_PER_PARTITION = 10
_TOKEN_VERSION = 1


class VersionConflict(Conflict):
    """A conditional write lost to another writer (the case changed since it was read)."""


@dataclass(frozen=True)
class StoredCase:
    """A case as read, with what conditional writes need."""

    case: CaseRecord
    task_token: str | None = None
    task_id: str | None = None


def index_time(value: datetime) -> str:
    """The canonical sort-key form of a time: UTC, microseconds, fixed width."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _item(case: CaseRecord, task: tuple[str, str] | None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "case_id": {"S": case.case_id},
        "application_id": {"S": case.application_id},
        "status": {"S": case.status},
        "created_at": {"S": index_time(case.created_at)},
        "version": {"N": str(case.version)},
        "body": {"S": case.model_dump_json()},
    }
    if case.decision:
        item["decision"] = {"S": case.decision}
    if case.retain_until is not None:
        item["expires_at"] = {"N": str(int(case.retain_until.timestamp()))}
    if case.product:
        item["product"] = {"S": case.product}
    if task is not None:
        item["review_task_id"], item["review_task_token"] = {"S": task[0]}, {"S": task[1]}
    return item


def put_case(case: CaseRecord, *, first_write: bool = False) -> bool:
    """Write (or overwrite) a case record: the decision flow's own writes (finalize, failure).

    ``first_write``: only if the case is new or still at version 1. A retried finalize then
    rewrites its own record, but never one its review workflow has moved on (an open review
    task and its token would be lost). Returns whether the record was written.
    """
    kwargs: dict[str, Any] = {}
    if first_write:
        kwargs = {
            "ConditionExpression": "attribute_not_exists(case_id) OR version = :first",
            "ExpressionAttributeValues": {":first": {"N": "1"}},
        }
    try:
        client("dynamodb").put_item(TableName=settings.cases_table, Item=_item(case, None), **kwargs)
    except ClientError as exc:
        if first_write and exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True


def read_case(case_id: str, *, consistent: bool = True) -> StoredCase:
    """A case with its open review task, or :class:`NotFound`."""
    item = (
        client("dynamodb")
        .get_item(TableName=settings.cases_table, Key={"case_id": {"S": case_id}}, ConsistentRead=consistent)
        .get("Item")
    )
    if not item:
        raise NotFound(f"case {case_id} not found")
    case = CaseRecord.model_validate(json.loads(item["body"]["S"]))
    if "version" in item:
        case.version = int(item["version"]["N"])
    return StoredCase(
        case=case,
        task_token=item.get("review_task_token", {}).get("S"),
        task_id=item.get("review_task_id", {}).get("S"),
    )


def get_case(case_id: str) -> CaseRecord:
    """A case by id, or :class:`NotFound`."""
    return read_case(case_id).case


def save_case(
    case: CaseRecord,
    *,
    expected_version: int,
    task: tuple[str, str] | None = None,
    expected_task_id: str | None = None,
) -> CaseRecord:
    """Replace a case read at ``expected_version``; :class:`VersionConflict` if it changed since.

    ``task`` (task id, token) is the open review task to keep beside the record (None closes
    it). ``expected_task_id`` also requires that exact task to be the open one: the check that
    lets only one answer through per task, however many reviewers press the button at once.
    """
    case.version = expected_version + 1
    condition = "version = :v"
    values: dict[str, Any] = {":v": {"N": str(expected_version)}}
    if expected_task_id is not None:
        condition += " AND review_task_id = :t"
        values[":t"] = {"S": expected_task_id}
    try:
        client("dynamodb").put_item(
            TableName=settings.cases_table,
            Item=_item(case, task),
            ConditionExpression=condition,
            ExpressionAttributeValues=values,
        )
    except ClientError as exc:
        case.version = expected_version
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            raise VersionConflict(f"case {case.case_id} changed meanwhile") from None
        raise
    return case


def update_case(
    case_id: str,
    change: Callable[[StoredCase], tuple[CaseRecord, tuple[str, str] | None]],
    attempts: int = 5,
) -> CaseRecord:
    """Read, change and conditionally write a case, retrying when another writer got there first.

    ``change`` returns the new record and the review task to keep (or None); it may run more
    than once, so it must only depend on what it is given.
    """
    for attempt in range(attempts):
        stored = read_case(case_id)
        case, task = change(stored)
        try:
            return save_case(case, expected_version=stored.case.version, task=task)
        except VersionConflict:
            if attempt == attempts - 1:
                raise
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")


def claim_link(case_id: str, field: str, value: str, *, require_status: str) -> None:
    """Set ``field`` on a case once: only if it has ``require_status`` and the field is unset."""

    def change(stored: StoredCase) -> tuple[CaseRecord, tuple[str, str] | None]:
        case = stored.case
        if case.status != require_status:
            raise Conflict(f"case {case_id} is {case.status}; only a {require_status} case can be re-decided")
        if getattr(case, field):
            raise Conflict(f"case {case_id} was already re-decided as {getattr(case, field)}")
        setattr(case, field, value)
        return case, current_task(stored)

    update_case(case_id, change)


def current_task(stored: StoredCase) -> tuple[str, str] | None:
    """The open review task (id, token) as read, to keep it through a write that does not close it."""
    return (stored.task_id, stored.task_token) if stored.task_id and stored.task_token else None


def scan_cases(limit: int = 1000) -> list[CaseRecord]:
    """Every case up to ``limit`` (the local runtime and reports; the API queries the GSIs)."""
    out: list[CaseRecord] = []
    for page in client("dynamodb").get_paginator("scan").paginate(TableName=settings.cases_table):
        out.extend(CaseRecord.model_validate(json.loads(i["body"]["S"])) for i in page["Items"])
        if len(out) >= limit:
            break
    return out[:limit]


# ---- listing: GSI queries merged newest first, with an opaque continuation token ------------


@dataclass(frozen=True)
class CaseQuery:
    """``GET /v1/cases`` filters, already validated."""

    statuses: Sequence[str]
    decision: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    application_id: str | None = None
    product: str | None = None
    oldest_first: bool = False  # the review queue: who has waited longest comes first

    def fingerprint(self) -> str:
        """Ties a next_token to the filters it was made for."""
        parts = [
            ",".join(self.statuses), self.decision or "", self.application_id or "",
            index_time(self.created_from) if self.created_from else "",
            index_time(self.created_to) if self.created_to else "",
            self.product or "", "asc" if self.oldest_first else "",
        ]  # fmt: skip
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]

    def partitions(self) -> list[tuple[str, str, str]]:
        """(index, partition attribute, value) for each partition the query reads."""
        if self.application_id is not None:
            return [(BY_APPLICATION, "application_id", self.application_id)]
        return [(BY_STATUS, "status", s) for s in self.statuses]


def encode_token(query: CaseQuery, cursors: dict[str, dict[str, str] | None]) -> str:
    raw = json.dumps({"v": _TOKEN_VERSION, "q": query.fingerprint(), "c": cursors}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(query: CaseQuery, token: str) -> dict[str, dict[str, str] | None]:
    """The per-partition positions in ``token``; :class:`InvalidInput` naming next_token if bad."""

    def bad(message: str) -> InvalidInput:
        return InvalidInput("invalid query", [FieldError(field="next_token", message=message)])

    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, TypeError):
        raise bad("not a token this API issued") from None
    if not isinstance(data, dict) or data.get("v") != _TOKEN_VERSION or not isinstance(data.get("c"), dict):
        raise bad("not a token this API issued")
    if data.get("q") != query.fingerprint():
        raise bad(
            "was issued for other filters: repeat the same status, decision, product, from, to, "
            "application_id and order"
        )
    cursors = data["c"]
    wanted = {value for _, _, value in query.partitions()}
    for key, cursor in cursors.items():
        if key not in wanted or not (
            cursor is None or (isinstance(cursor, dict) and all(isinstance(v, str) for v in cursor.values()))
        ):
            raise bad("not a token this API issued")
    return cursors


def _sort_key(item: dict[str, Any]) -> tuple[str, str]:
    return item["created_at"]["S"], item["case_id"]["S"]


def query_cases(
    query: CaseQuery, limit: int, token: str | None = None
) -> tuple[list[CaseRecord], str | None]:
    """One page of cases, newest (or oldest) first, and the token of the next page (None at the end).

    Each partition (a status, or the application) is a Query on its GSI; the pages are merged
    by creation time. The token keeps, per partition, the key of the last case returned from
    it, so no case is skipped or repeated whichever partition it sits in.
    """
    cursors = decode_token(query, token) if token else {}
    found: dict[str, list[dict[str, Any]]] = {}
    read_to: dict[str, dict[str, Any] | None] = {}
    frontier: tuple[str, str] | None = None  # the newest position some partition has not read past
    for index, attribute, value in query.partitions():
        if value in cursors and cursors[value] is None:
            continue  # exhausted on an earlier page
        items, last = _read_partition(query, index, attribute, value, cursors.get(value), limit)
        found[value], read_to[value] = items, last
        if last is not None and len(items) < limit:
            # Stopped by the read budget: this partition's unread cases may be newer than others'.
            position = (last["created_at"]["S"], last["case_id"]["S"])
            if frontier is None:
                frontier = position
            else:
                frontier = min(frontier, position) if query.oldest_first else max(frontier, position)
    merged = sorted(
        ((value, item) for value, items in found.items() for item in items),
        key=lambda c: _sort_key(c[1]),
        reverse=not query.oldest_first,
    )
    if frontier is not None:
        edge = frontier
        if query.oldest_first:
            merged = [c for c in merged if _sort_key(c[1]) <= edge]
        else:
            merged = [c for c in merged if _sort_key(c[1]) >= edge]
    page_items = merged[:limit]
    next_cursors: dict[str, dict[str, str] | None] = dict(cursors)
    for _, attribute, value in query.partitions():
        if value not in found:
            continue
        used = [item for v, item in page_items if v == value]
        if len(used) == len(found[value]):
            # Everything matched so far was returned; what was read past it did not match.
            last = read_to[value]
            next_cursors[value] = None if last is None else {k: v["S"] for k, v in last.items()}
        elif used:
            next_cursors[value] = _key_of(used[-1], attribute)
    done = all(next_cursors.get(v, "open") is None for _, _, v in query.partitions())
    records = [CaseRecord.model_validate(json.loads(item["body"]["S"])) for _, item in page_items]
    return records, None if done else encode_token(query, next_cursors)


def _read_partition(
    query: CaseQuery, index: str, attribute: str, value: str, start: dict[str, str] | None, limit: int
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Up to ``limit`` matching items of one partition after ``start``, in the query's order, and
    where reading stopped (None: the partition is exhausted)."""
    names = {"#p": attribute}
    values: dict[str, Any] = {":p": {"S": value}}
    condition = "#p = :p"
    if query.created_from or query.created_to:
        names["#c"] = "created_at"
        low = index_time(query.created_from) if query.created_from else ""
        high = index_time(query.created_to) if query.created_to else "\uffff"
        condition += " AND #c BETWEEN :lo AND :hi"
        values |= {":lo": {"S": low}, ":hi": {"S": high}}
    filters = []
    if query.decision:
        filters.append("#d = :d")
        names["#d"], values[":d"] = "decision", {"S": query.decision}
    if query.product:
        filters.append("#pr = :pr")
        names["#pr"], values[":pr"] = "product", {"S": query.product}
    if index == BY_APPLICATION:
        keys = [f":s{i}" for i in range(len(query.statuses))]
        filters.append(f"#s IN ({', '.join(keys)})")
        names["#s"] = "status"
        values |= {k: {"S": s} for k, s in zip(keys, query.statuses, strict=True)}
    kwargs: dict[str, Any] = {
        "TableName": settings.cases_table, "IndexName": index, "KeyConditionExpression": condition,
        "ExpressionAttributeNames": names, "ExpressionAttributeValues": values,
        "ScanIndexForward": query.oldest_first, "Limit": limit,
    }  # fmt: skip
    if filters:
        kwargs["FilterExpression"] = " AND ".join(filters)
    items: list[dict[str, Any]] = []
    last: dict[str, Any] | None = None
    for _ in range(_MAX_READS_PER_PARTITION):
        if start:
            kwargs["ExclusiveStartKey"] = {k: {"S": v} for k, v in start.items()}
        page = client("dynamodb").query(**kwargs)
        items.extend(page["Items"])
        last = page.get("LastEvaluatedKey")
        if not last or len(items) >= limit:
            break
        start = {k: v["S"] for k, v in last.items()}
    return items, last


def _key_of(item: dict[str, Any], attribute: str) -> dict[str, str]:
    """An ExclusiveStartKey for a GSI: its own keys plus the table's."""
    return {
        "case_id": item["case_id"]["S"],
        attribute: item[attribute]["S"],
        "created_at": item["created_at"]["S"],
    }
