"""Our own data in DynamoDB: velocity and case history on the per-day mechanism
(:mod:`lendguard.store.daily`), loan outcomes, and the customer feature table.

Everything is read by key, never with a Scan:

- velocity: ``vel#<key>:<hash>#<day>`` holds an unsharded counter item (``c0.0``, counter
  ``apps``) and, for a device or an IP, the day's set of hashed ID numbers (``vel-ids#...``,
  item ``s``). One BatchGetItem per 100 day-items reads a 30-day window.
- case history: ``hist#<id hash>#<first day of the month>`` a set of cases
  (``lendguard.internal.history.PastCase``): a month per item, so a year is 13 keys.
- loans: the loan events of the customer's earlier cases (one Query per case,
  :mod:`lendguard.store.outcomes`), to be fed by the loan book once it exists.
- features: one item per hashed ID number in ``CustomerFeaturesTable`` (``customer``,
  ``computed_at``, ``features`` as JSON, ``expires_at``) and the job's run marker
  (``customer = run#latest``), both read in one BatchGetItem.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from lendguard.core.facts import SHARED_KEYS
from lendguard.internal.features import FeatureRead, FeatureRow
from lendguard.internal.history import PastCase
from lendguard.internal.velocity import TTL_DAYS, local_day
from lendguard.outcomes.events import LoanEvent
from lendguard.settings import settings
from lendguard.store import daily
from lendguard.store.aws import client

VELOCITY = "vel"
VELOCITY_IDS = "vel-ids"
HISTORY = "hist"
COUNTER = "apps"
COUNTER_ITEM = "c0.0"  # daily.increment with shards=1 writes the one item c<shard 0>.<part 0>
SET_ITEM = "s"
RUN_MARKER = "run#latest"
# Case history items outlive the longest history a policy may ask for (InternalDataSettings: 400
# days), counted from the first day of their month.
HISTORY_TTL_DAYS = 400 + 32
FEATURE_ROW_TTL_DAYS = 7
_BATCH = 100  # BatchGetItem's limit


def _key(kind: str, value: str) -> str:
    return f"{kind}:{value}"


def count_opening(keys: Mapping[str, str], id_number: str, case_id: str, day: date) -> bool:
    """Count a case as it opens: one application per identifier, its ID number in the day's set
    of each device / IP. At most once per case (a marker put first); False if already counted."""
    items = list(keys.items())
    if not items:
        return True
    first, *rest = items
    if not daily.increment(
        VELOCITY, _key(*first), day, {COUNTER: 1}, shards=1, ttl_days=TTL_DAYS, once_key=case_id
    ):
        return False
    for kind, value in rest:
        daily.increment(VELOCITY, _key(kind, value), day, {COUNTER: 1}, shards=1, ttl_days=TTL_DAYS)
    for kind, value in items:
        if kind in SHARED_KEYS:
            daily.add_to_set(VELOCITY_IDS, _key(kind, value), day, [id_number], ttl_days=TTL_DAYS)
    return True


def month_of(day: date) -> date:
    """The day a case history item is keyed by: the first of its month."""
    return day.replace(day=1)


def add_case(id_number: str, day: date, case: PastCase) -> None:
    """Add a decided case to its ID number's history (a set member: a retry adds nothing)."""
    daily.add_to_set(HISTORY, id_number, month_of(day), [case.member()], ttl_days=HISTORY_TTL_DAYS)


def _batch_get(table: str, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every item found under ``keys`` (BatchGetItem pages of 100, unprocessed keys retried)."""
    ddb = client("dynamodb")
    found: list[dict[str, Any]] = []
    for i in range(0, len(keys), _BATCH):
        request: dict[str, Any] = {table: {"Keys": keys[i : i + _BATCH]}}
        for attempt in range(8):
            answer = ddb.batch_get_item(RequestItems=request)
            found.extend(answer.get("Responses", {}).get(table, []))
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(min(0.05 * 2**attempt, 1.0))
        else:
            raise RuntimeError("DynamoDB left keys unprocessed after retries")
    return found


def _live(item: dict[str, Any], now: float) -> bool:
    return "expires_at" not in item or int(item["expires_at"]["N"]) > now


def velocity(
    keys: Mapping[str, str], days: list[date]
) -> tuple[dict[str, dict[date, int]], dict[str, dict[date, set[str]]]]:
    """Applications per day of each identifier, and ID numbers per day of each device / IP."""
    wanted: dict[tuple[str, str], tuple[str, str, date]] = {}
    for kind, value in keys.items():
        for d in days:
            wanted[(daily.day_key(VELOCITY, _key(kind, value), d), COUNTER_ITEM)] = ("count", kind, d)
            if kind in SHARED_KEYS:
                wanted[(daily.day_key(VELOCITY_IDS, _key(kind, value), d), SET_ITEM)] = ("ids", kind, d)
    items = _batch_get(daily.daily_table(), [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in wanted])
    counts: dict[str, dict[date, int]] = {kind: {} for kind in keys}
    ids: dict[str, dict[date, set[str]]] = {kind: {} for kind in keys if kind in SHARED_KEYS}
    now = time.time()
    for item in items:
        if not _live(item, now):
            continue
        what, kind, d = wanted[(item["pk"]["S"], item["sk"]["S"])]
        if what == "count":
            counts[kind][d] = int(item.get(COUNTER, {}).get("N", "0"))
        else:
            ids[kind][d] = set(item.get("members", {}).get("SS", []))
    return counts, ids


def past_cases(id_number: str, days: list[date]) -> list[PastCase]:
    """The ID number's recorded cases on those days (one key per month they span)."""
    wanted = set(days)
    months = sorted({month_of(d) for d in days})
    keys = [{"pk": {"S": daily.day_key(HISTORY, id_number, m)}, "sk": {"S": SET_ITEM}} for m in months]
    now = time.time()
    cases = [
        PastCase.from_member(member)
        for item in _batch_get(daily.daily_table(), keys)
        if _live(item, now)
        for member in item.get("members", {}).get("SS", [])
    ]
    return [c for c in cases if local_day(c.received_at) in wanted]


def loan_events(case_ids: list[str]) -> dict[str, list[LoanEvent]]:
    """The loan events of each case that has any (the reader the loan book will feed)."""
    from lendguard.store.outcomes import events_of_cases

    return {c: events for c, events in events_of_cases(case_ids).items() if events}


def features_table() -> str:
    return settings.customer_features_table


def put_feature_rows(rows: Iterable[FeatureRow]) -> int:
    """Write customer rows (BatchWriteItem, 25 a request); each expires a week after it was computed."""
    ddb = client("dynamodb")
    items = [
        {
            "PutRequest": {
                "Item": {
                    "customer": {"S": row.customer},
                    "computed_at": {"S": row.computed_at.isoformat()},
                    "features": {"S": json.dumps(row.values, sort_keys=True)},
                    "expires_at": {
                        "N": str(int(row.computed_at.timestamp()) + FEATURE_ROW_TTL_DAYS * 86_400)
                    },
                }
            }
        }
        for row in rows
    ]
    for i in range(0, len(items), 25):
        request: dict[str, Any] = {features_table(): items[i : i + 25]}
        for attempt in range(8):
            request = ddb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
            if not request:
                break
            time.sleep(min(0.05 * 2**attempt, 1.0))
        else:
            raise RuntimeError("DynamoDB left feature rows unprocessed after retries")
    return len(items)


def put_run_marker(computed_at: datetime, rows: int) -> None:
    """The whole run's time: online reads take a customer without a row as one with no history
    only when the job has run recently."""
    client("dynamodb").put_item(
        TableName=features_table(),
        Item={
            "customer": {"S": RUN_MARKER},
            "computed_at": {"S": computed_at.isoformat()},
            "rows": {"N": str(rows)},
        },
    )


def features(id_number: str) -> FeatureRead:
    """The customer's row and the job's run marker, in one request."""
    keys = [{"customer": {"S": id_number}}, {"customer": {"S": RUN_MARKER}}]
    read = FeatureRead()
    now = time.time()
    for item in _batch_get(features_table(), keys):
        computed_at = datetime.fromisoformat(item["computed_at"]["S"]).astimezone(UTC)
        if item["customer"]["S"] == RUN_MARKER:
            read.run_at = computed_at
        elif _live(item, now):
            values = json.loads(item["features"]["S"])
            read.row = FeatureRow(customer=id_number, computed_at=computed_at, values=values)
    return read


class DynamoOwnDataRecords:
    """:class:`lendguard.internal.source.OwnDataRecords` of a deployment."""

    def count_opening(self, keys: Mapping[str, str], id_number: str, case_id: str, day: date) -> None:
        count_opening(keys, id_number, case_id, day)

    def add_case(self, id_number: str, day: date, case: PastCase) -> None:
        add_case(id_number, day, case)

    def velocity(
        self, keys: Mapping[str, str], days: list[date]
    ) -> tuple[dict[str, dict[date, int]], dict[str, dict[date, set[str]]]]:
        return velocity(keys, days)

    def past_cases(self, id_number: str, days: list[date]) -> list[PastCase]:
        return past_cases(id_number, days)

    def loan_events(self, case_ids: list[str]) -> dict[str, list[LoanEvent]]:
        return loan_events(case_ids)

    def features(self, id_number: str) -> FeatureRead:
        return features(id_number)
