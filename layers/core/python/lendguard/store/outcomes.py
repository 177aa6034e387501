"""Loan events in DynamoDB (``LoanEventsTable``): one item per event, keyed (case_id, event_id).

Item attributes: ``case_id``, ``event_id`` (keys), ``loan_id``, ``type``, ``date`` and ``body``
(the event as JSON: what idempotency compares and what reads return), ``recorded_at``.
A case's events are one Query on its partition; nothing derived (dpd, balances) is stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from lendguard.core.errors import NotFound
from lendguard.outcomes.events import LoanEvent
from lendguard.outcomes.ingest import CaseFacts, WriteResult
from lendguard.settings import settings
from lendguard.store import cases
from lendguard.store.aws import client


def events_table() -> str:
    return settings.loan_events_table


def _item(event: LoanEvent, recorded_at: datetime) -> dict[str, Any]:
    return {
        "case_id": {"S": event.case_id},
        "event_id": {"S": event.event_id},
        "loan_id": {"S": event.loan_id},
        "type": {"S": event.type},
        "date": {"S": event.date.isoformat()},
        "body": {"S": json.dumps(event.content(), sort_keys=True)},
        "recorded_at": {"S": recorded_at.isoformat()},
    }


def _event(item: dict[str, Any]) -> LoanEvent:
    return LoanEvent.model_validate(json.loads(item["body"]["S"]))


class DynamoEventStore:
    """The :class:`~lendguard.outcomes.ingest.EventStore` of a deployment."""

    def case_facts(self, case_id: str) -> CaseFacts | None:
        try:
            case = cases.get_case(case_id)
        except NotFound:
            return None
        decided = (case.decided_at or case.created_at).astimezone(UTC)
        return CaseFacts(
            decision=case.decision,
            # The earliest calendar date anywhere at that moment (UTC-12): draws carry the
            # lender's local dates.
            decided_on=(decided - timedelta(hours=12)).date(),
            credit_limit=Decimal(str(case.offer.credit_limit)) if case.offer else None,
        )

    def events_of(self, case_id: str) -> list[LoanEvent]:
        return events_of(case_id)

    def put_event(self, event: LoanEvent) -> WriteResult:
        return put_event(event)


def put_event(event: LoanEvent, now: datetime | None = None) -> WriteResult:
    """Write an event once: ``duplicate`` if the same event is there, ``conflict`` if another
    event holds its id (a conditional put, so two writers cannot both record it)."""
    try:
        client("dynamodb").put_item(
            TableName=events_table(),
            Item=_item(event, now or datetime.now(UTC)),
            ConditionExpression="attribute_not_exists(event_id)",
        )
        return "recorded"
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
    item = client("dynamodb").get_item(
        TableName=events_table(),
        Key={"case_id": {"S": event.case_id}, "event_id": {"S": event.event_id}},
        ConsistentRead=True,
    )["Item"]
    return "duplicate" if _event(item).content() == event.content() else "conflict"


def events_of(case_id: str) -> list[LoanEvent]:
    """Every event of a case (one Query, paginated)."""
    out: list[LoanEvent] = []
    paginator = client("dynamodb").get_paginator("query")
    for page in paginator.paginate(
        TableName=events_table(),
        KeyConditionExpression="case_id = :c",
        ExpressionAttributeValues={":c": {"S": case_id}},
        ConsistentRead=True,
    ):
        out.extend(_event(item) for item in page["Items"])
    return out


def events_of_cases(case_ids: Iterable[str]) -> dict[str, list[LoanEvent]]:
    """Events per case for several cases (one Query each)."""
    return {case_id: events_of(case_id) for case_id in case_ids}


def put_many(events: Iterable[LoanEvent], now: datetime | None = None) -> int:
    """Write events in bulk, unconditionally (seeding the local book: ``BatchWriteItem``)."""
    stamp = now or datetime.now(UTC)
    requests = [{"PutRequest": {"Item": _item(e, stamp)}} for e in events]
    table = events_table()
    for start in range(0, len(requests), 25):
        pending: dict[str, Any] = {table: requests[start : start + 25]}
        while pending:
            pending = client("dynamodb").batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
    return len(requests)
