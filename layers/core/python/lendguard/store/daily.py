"""Per-day aggregates in DynamoDB (``DailyTable``): THE mechanism for per-day counters and sets.

Rule statistics use it now; velocity checks and monitoring are meant to reuse it. The hot path
only ever writes single items with atomic ``ADD`` (never a read-modify-write, never a scan), and
a range of days is read with one Query per day.

Keys: ``pk = <namespace>#<key>#<day>`` (day ``YYYY-MM-DD``) and a sort key ``sk``:

- counters: ``c<shard>.<part>``. Every counter of one call lives in the item(s) of one shard,
  picked by a stable hash of ``shard_by`` (e.g. the case id) so that no single item takes every
  write of a busy day; ``part`` splits a call's counters over several items when they would not
  fit one update expression. Reads add the numbers of every item of the day.
- sets: ``s`` holding a string set ``members`` (``ADD`` of members is atomic too).

Items may carry ``expires_at`` (epoch seconds) for DynamoDB TTL; reads ignore expired items,
since TTL deletion is lazy (and moto never deletes).

``once_key`` makes an increment happen at most once: a marker item (``pk = once#<namespace>#<key>``)
is put first with ``attribute_not_exists``, and only the writer that created it adds, so a
retried writer (a Lambda retried after it had written) does not count twice. A writer that dies
between the marker and the counters loses that one count: statistics may undercount by the rare
crash, never double count. (Not a transaction: moto copies the whole table for each one, which
made every local decision slower as the table grew: 130 ms growing to 280 ms a case.)
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from lendguard.settings import settings
from lendguard.store.aws import client

MAX_DAYS = 400
DEFAULT_SHARDS = 8
ONCE_MARKER_TTL_SECONDS = 3 * 86_400
# Counters per UpdateItem. DynamoDB allows a 4 KB expression; moto's parser recurses once per
# clause and deep-copies the tree, which hit RecursionError at 150 clauses inside a deep test stack.
_MAX_COUNTERS_PER_ITEM = 40


def daily_table() -> str:
    return settings.daily_table


def day_key(namespace: str, key: str, day: date) -> str:
    for name, value in (("namespace", namespace), ("key", key)):
        if not value or "#" in value:
            raise ValueError(f"{name} must be non-empty and contain no '#': {value!r}")
    return f"{namespace}#{key}#{day.isoformat()}"


def shard_of(value: str, shards: int) -> int:
    """A stable shard number for ``value`` (the same in every process, unlike ``hash``)."""
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=4).digest(), "big") % shards


def _expiry(day: date, ttl_days: int | None) -> int | None:
    if ttl_days is None:
        return None
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return int(end.timestamp()) + ttl_days * 86_400


def _update(pk: str, sk: str, counts: Mapping[str, int], expires_at: int | None) -> dict[str, Any]:
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    clauses: list[str] = []
    value_of: dict[int, str] = {}
    for i, (name, amount) in enumerate(counts.items()):
        names[f"#n{i}"] = name
        if amount not in value_of:
            value_of[amount] = f":v{len(value_of)}"
            values[value_of[amount]] = {"N": str(amount)}
        clauses.append(f"#n{i} {value_of[amount]}")
    expression = "ADD " + ", ".join(clauses)
    if expires_at is not None:
        names["#ttl"], values[":ttl"] = "expires_at", {"N": str(expires_at)}
        expression += " SET #ttl = :ttl"
    return {
        "TableName": daily_table(),
        "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
        "UpdateExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def increment(
    namespace: str,
    key: str,
    day: date,
    counts: Mapping[str, int],
    *,
    shard_by: str = "",
    shards: int = DEFAULT_SHARDS,
    ttl_days: int | None = None,
    once_key: str | None = None,
) -> bool:
    """Add ``counts`` to the day's counters of (namespace, key); False if ``once_key`` was seen.

    Counter names are free text (attribute names); zero counts are left out.
    """
    nonzero = [(n, int(v)) for n, v in counts.items() if int(v) != 0]
    if not nonzero:
        return True
    if any(n in ("pk", "sk", "expires_at") for n, _ in nonzero):
        raise ValueError("counter names pk, sk and expires_at are reserved")
    pk, shard = day_key(namespace, key, day), shard_of(shard_by, shards) if shards > 1 else 0
    expires_at = _expiry(day, ttl_days)
    parts = [
        dict(nonzero[i : i + _MAX_COUNTERS_PER_ITEM]) for i in range(0, len(nonzero), _MAX_COUNTERS_PER_ITEM)
    ]
    updates = [_update(pk, f"c{shard}.{i}", part, expires_at) for i, part in enumerate(parts)]
    ddb = client("dynamodb")
    if once_key is None:
        for update in updates:
            ddb.update_item(**update)
        return True
    try:
        ddb.put_item(
            TableName=daily_table(),
            Item={
                "pk": {"S": f"once#{namespace}#{once_key}"},
                "sk": {"S": "once"},
                "expires_at": {"N": str(int(time.time()) + ONCE_MARKER_TTL_SECONDS)},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    for update in updates:
        ddb.update_item(**update)
    return True


def add_to_set(
    namespace: str, key: str, day: date, members: Iterable[str], *, ttl_days: int | None = None
) -> None:
    """Add members to the day's set of (namespace, key), e.g. device hashes seen per phone hash."""
    wanted = sorted({str(m) for m in members if str(m)})
    if not wanted:
        return
    names = {"#m": "members"}
    values: dict[str, Any] = {":m": {"SS": wanted}}
    expression = "ADD #m :m"
    expires_at = _expiry(day, ttl_days)
    if expires_at is not None:
        names["#ttl"], values[":ttl"] = "expires_at", {"N": str(expires_at)}
        expression += " SET #ttl = :ttl"
    client("dynamodb").update_item(
        TableName=daily_table(), Key={"pk": {"S": day_key(namespace, key, day)}, "sk": {"S": "s"}},
        UpdateExpression=expression, ExpressionAttributeNames=names, ExpressionAttributeValues=values,
    )  # fmt: skip


def days(first: date, last: date) -> list[date]:
    """Each day from ``first`` to ``last``; ValueError past :data:`MAX_DAYS` or when reversed."""
    if last < first:
        raise ValueError("the last day is before the first")
    count = (last - first).days + 1
    if count > MAX_DAYS:
        raise ValueError(f"at most {MAX_DAYS} days at a time")
    return [first + timedelta(days=i) for i in range(count)]


def _day_items(namespace: str, key: str, day: date) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    now = int(time.time())
    for page in client("dynamodb").get_paginator("query").paginate(
        TableName=daily_table(), KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": day_key(namespace, key, day)}},
    ):  # fmt: skip
        items.extend(i for i in page["Items"] if "expires_at" not in i or int(i["expires_at"]["N"]) > now)
    return items


def read_counters(namespace: str, key: str, first: date, last: date) -> dict[date, dict[str, int]]:
    """The counters of each day in the range that has any (shards and parts added up)."""
    out: dict[date, dict[str, int]] = {}
    for day in days(first, last):
        totals: dict[str, int] = {}
        for item in _day_items(namespace, key, day):
            if not item["sk"]["S"].startswith("c"):
                continue
            for name, value in item.items():
                if name not in ("pk", "sk", "expires_at") and "N" in value:
                    totals[name] = totals.get(name, 0) + int(value["N"])
        if totals:
            out[day] = totals
    return out


def read_set(namespace: str, key: str, first: date, last: date) -> set[str]:
    """The union of the day sets of (namespace, key) over the range."""
    members: set[str] = set()
    for day in days(first, last):
        for item in _day_items(namespace, key, day):
            if item["sk"]["S"] == "s":
                members.update(item.get("members", {}).get("SS", []))
    return members
