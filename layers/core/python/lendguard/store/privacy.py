"""AWS data access for erasure and audited reads: vendor payloads, cache items, audit records.

Audit records go to ``audit/privacy/<kind>/`` in the data bucket; they hold hashed keys, case
ids, who, when and why, never a clear identifier. No lifecycle rule covers ``audit/``: they are
kept as long as the bucket.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from lendguard.settings import settings
from lendguard.store.aws import client

AUDIT_PREFIX = "audit/privacy/"


def delete_vendor_payloads(case_id: str) -> int:
    """Delete the raw vendor payloads of a case (``raw/<case_id>/``); return how many there were."""
    s3 = client("s3")
    keys = [
        obj["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=settings.data_bucket, Prefix=f"raw/{case_id}/"
        )
        for obj in page.get("Contents", [])
    ]
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        s3.delete_objects(
            Bucket=settings.data_bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True}
        )
    return len(keys)


def delete_cache_items(case_ids: Iterable[str]) -> int:
    """Delete the data-cache and charge records any of ``case_ids`` produced; return how many."""
    ids = sorted(set(case_ids))
    ddb, removed = client("dynamodb"), 0
    for start in range(0, len(ids), 50):
        chunk = ids[start : start + 50]
        values = {f":c{i}": {"S": c} for i, c in enumerate(chunk)}
        pages = ddb.get_paginator("scan").paginate(
            TableName=settings.cache_table,
            FilterExpression=f"case_id IN ({', '.join(values)})",
            ExpressionAttributeValues=values,
            ProjectionExpression="pk",
        )
        for page in pages:
            for item in page["Items"]:
                ddb.delete_item(TableName=settings.cache_table, Key={"pk": item["pk"]})
                removed += 1
    return removed


def put_audit(kind: str, record_id: str, record: dict[str, Any]) -> str:
    """Write one audit record (never overwritten); return its key."""
    key = f"{AUDIT_PREFIX}{kind}/{record_id}.json"
    client("s3").put_object(
        Bucket=settings.data_bucket, Key=key, Body=json.dumps(record, default=str).encode(),
        ContentType="application/json", IfNoneMatch="*",
    )  # fmt: skip
    return key


def list_audit(kind: str) -> list[dict[str, Any]]:
    """Every audit record of ``kind`` (erasure, reveal), oldest key first."""
    s3 = client("s3")
    out = []
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=settings.data_bucket, Prefix=f"{AUDIT_PREFIX}{kind}/"
    ):
        for obj in page.get("Contents", []):
            out.append(json.loads(s3.get_object(Bucket=settings.data_bucket, Key=obj["Key"])["Body"].read()))
    return out
