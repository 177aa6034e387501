"""Objects of batch runs in the data bucket: snapshot shards, manifests, results, summaries."""

from __future__ import annotations

from collections.abc import Iterator

from botocore.exceptions import ClientError

from lendguard.settings import settings
from lendguard.store.aws import client


def bucket() -> str:
    return settings.data_bucket


def put(key: str, body: bytes, content_type: str) -> None:
    client("s3").put_object(
        Bucket=bucket(), Key=key, Body=body, ContentType=content_type, ServerSideEncryption="AES256"
    )


def get(key: str) -> bytes | None:
    """The object's bytes, or None when there is no such object."""
    try:
        return client("s3").get_object(Bucket=bucket(), Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise


def keys(prefix: str) -> Iterator[str]:
    """Every key under ``prefix``."""
    for page in client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket(), Prefix=prefix):
        for obj in page.get("Contents", []):
            yield obj["Key"]


def delete_prefix(prefix: str) -> None:
    """Remove every object under ``prefix`` (a resumed run re-exports its snapshot)."""
    s3 = client("s3")
    batch: list[dict[str, str]] = []
    for key in keys(prefix):
        batch.append({"Key": key})
        if len(batch) == 1000:
            s3.delete_objects(Bucket=bucket(), Delete={"Objects": batch})
            batch = []
    if batch:
        s3.delete_objects(Bucket=bucket(), Delete={"Objects": batch})
