"""Case records in DynamoDB: indexed attributes plus the whole record as JSON."""

from __future__ import annotations

import json
from typing import Any

from lendguard.cases import CaseRecord
from lendguard.errors import NotFound
from lendguard.store.aws import cases_table, client


def put_case(case: CaseRecord) -> None:
    """Write (or overwrite) a case record."""
    item: dict[str, Any] = {
        "case_id": {"S": case.case_id},
        "application_id": {"S": case.application_id},
        "status": {"S": case.status},
        "created_at": {"S": case.created_at.isoformat()},
        "body": {"S": case.model_dump_json()},
    }
    if case.decision:
        item["decision"] = {"S": case.decision}
    client("dynamodb").put_item(TableName=cases_table(), Item=item)


def get_case(case_id: str) -> CaseRecord:
    """A case by id, or :class:`NotFound`."""
    item = client("dynamodb").get_item(TableName=cases_table(), Key={"case_id": {"S": case_id}}).get("Item")
    if not item:
        raise NotFound(f"case {case_id} not found")
    return CaseRecord.model_validate(json.loads(item["body"]["S"]))


def scan_cases(limit: int = 1000) -> list[CaseRecord]:
    """Every case up to ``limit`` (the local runtime and reports; a deployment queries the GSIs)."""
    out: list[CaseRecord] = []
    for page in client("dynamodb").get_paginator("scan").paginate(TableName=cases_table()):
        out.extend(CaseRecord.model_validate(json.loads(i["body"]["S"])) for i in page["Items"])
        if len(out) >= limit:
            break
    return out[:limit]
