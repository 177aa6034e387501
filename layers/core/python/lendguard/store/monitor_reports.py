"""The daily monitor's JSON reports in the data bucket."""

from __future__ import annotations

from datetime import date

from lendguard.settings import settings
from lendguard.store.aws import client


def report_key(first: date, last: date) -> str:
    """``monitoring/<first>[_<last>].json``: one object per day or range, rewritten on a rerun."""
    name = first.isoformat() if first == last else f"{first.isoformat()}_{last.isoformat()}"
    return f"monitoring/{name}.json"


def put_report(first: date, last: date, body: bytes) -> str:
    """Write a report; its ``s3://`` address."""
    key = report_key(first, last)
    client("s3").put_object(
        Bucket=settings.data_bucket,
        Key=key,
        Body=body,
        ContentType="application/json",
        ServerSideEncryption="AES256",
    )
    return f"s3://{settings.data_bucket}/{key}"
