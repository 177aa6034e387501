"""Raw vendor payloads, archived to the data bucket and referenced from the trace."""

from __future__ import annotations

from lendguard.settings import settings
from lendguard.store.aws import client


class S3PayloadArchive:
    def put(self, case_id: str, vendor_id: str, payload: bytes) -> str:
        key = f"raw/{case_id}/{vendor_id}.json"
        client("s3").put_object(
            Bucket=settings.data_bucket,
            Key=key,
            Body=payload,
            ContentType="application/json",
            # No per-object setting: the bucket's default applies (its customer-managed key in
            # staging and prod, SSE-S3 in dev), so the config decides, not this call.
        )
        return f"s3://{settings.data_bucket}/{key}"


def get_payload(ref: str) -> bytes | None:
    """The raw payload behind an ``s3://bucket/key`` reference, or None when it is gone."""
    if not ref.startswith("s3://"):
        return None
    bucket, _, key = ref[len("s3://") :].partition("/")
    s3 = client("s3")
    try:
        return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        return None
