"""The case archive in the data bucket, with client-side envelope encryption.

Each case is three objects, one per retention class, so S3 lifecycle rules expire each class
on its own schedule and erasure can remove one class and keep another:

- ``archive/header/{case_id}.json``: ids, versions, outcome, hashed keys (kept with the decision);
- ``archive/personal/{case_id}.json``: the application, sealed;
- ``archive/derived/{case_id}.json``: facts, model inputs, list hits, payload references, sealed.

Sealing: a fresh 256-bit data key per object from KMS ``GenerateDataKey`` on the customer-managed
archive key, AES-256-GCM with the case id and data class as associated data (and as the KMS
encryption context, so a wrapped key only unwraps for its own object). The object holds the
wrapped key, never the plaintext one: whoever reads the bucket without ``kms:Decrypt`` on the
key sees ciphertext. Writers need only ``kms:GenerateDataKey``; readers need ``kms:Decrypt``.
Objects are written with ``If-None-Match: *``: an archive record is written once.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel

from lendguard.cases.archive import ArchivedCase, ArchiveHeader, DataClass, DerivedPart, PersonalPart
from lendguard.core.errors import NotFound
from lendguard.settings import settings
from lendguard.store.aws import client

PREFIX = "archive/"
HEADER_PREFIX = f"{PREFIX}header/"
_ENVELOPE_VERSION = 1


def object_key(case_id: str, part: str) -> str:
    """``archive/<part>/<case_id>.json`` (part: header, personal, derived)."""
    return f"{PREFIX}{part}/{case_id}.json"


def _context(case_id: str, data_class: str) -> dict[str, str]:
    return {"lendguard:case_id": case_id, "lendguard:data_class": data_class}


def _aad(case_id: str, data_class: str) -> bytes:
    return json.dumps(_context(case_id, data_class), sort_keys=True).encode()


def seal(case_id: str, data_class: DataClass, body: BaseModel) -> bytes:
    """The envelope of one part: wrapped data key, nonce and AES-GCM ciphertext."""
    key = client("kms").generate_data_key(
        KeyId=settings.archive_key_id, KeySpec="AES_256", EncryptionContext=_context(case_id, data_class)
    )
    nonce = os.urandom(12)
    ciphertext = AESGCM(key["Plaintext"]).encrypt(
        nonce, body.model_dump_json().encode(), _aad(case_id, data_class)
    )
    envelope = {
        "v": _ENVELOPE_VERSION,
        "case_id": case_id,
        "data_class": data_class,
        "key_id": key["KeyId"],
        "wrapped_key": base64.b64encode(key["CiphertextBlob"]).decode(),
        "nonce": base64.b64encode(nonce).decode(),
        "ciphertext": base64.b64encode(ciphertext).decode(),
    }
    return json.dumps(envelope).encode()


def unseal(case_id: str, data_class: DataClass, raw: bytes) -> dict[str, Any]:
    """The clear body of an envelope (needs ``kms:Decrypt`` on the archive key)."""
    envelope = json.loads(raw)
    if envelope.get("v") != _ENVELOPE_VERSION or envelope.get("case_id") != case_id:
        raise ValueError(
            f"archive object of case {case_id} ({data_class}) is not an envelope this code reads"
        )
    key = client("kms").decrypt(
        CiphertextBlob=base64.b64decode(envelope["wrapped_key"]),
        EncryptionContext=_context(case_id, data_class),
    )["Plaintext"]
    clear = AESGCM(key).decrypt(
        base64.b64decode(envelope["nonce"]),
        base64.b64decode(envelope["ciphertext"]),
        _aad(case_id, data_class),
    )
    data = json.loads(clear)
    if not isinstance(data, dict):
        raise ValueError(f"archive object of case {case_id} ({data_class}) is not a JSON object")
    return data


def _put_once(key: str, body: bytes) -> bool:
    try:
        client("s3").put_object(
            Bucket=settings.data_bucket, Key=key, Body=body, ContentType="application/json", IfNoneMatch="*"
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "ConditionalRequestConflict"):
            return False  # a retried finalize: the record was already written
        raise
    return True


def put_archive(record: ArchivedCase) -> str:
    """Write a case's archive record once (a retry keeps the first); return the header's s3:// ref."""
    case_id = record.header.case_id
    if record.personal is not None:
        _put_once(object_key(case_id, "personal"), seal(case_id, "personal", record.personal))
    if record.derived is not None:
        _put_once(object_key(case_id, "derived"), seal(case_id, "derived", record.derived))
    header_key = object_key(case_id, "header")
    _put_once(header_key, record.header.model_dump_json().encode())
    return f"s3://{settings.data_bucket}/{header_key}"


def _get(key: str) -> bytes | None:
    s3 = client("s3")
    try:
        return bytes(s3.get_object(Bucket=settings.data_bucket, Key=key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        return None


def get_header(case_id: str) -> ArchiveHeader:
    """A case's archive header (clear: no personal data), or :class:`NotFound`."""
    raw = _get(object_key(case_id, "header"))
    if raw is None:
        raise NotFound(f"case {case_id} has no archive record")
    return ArchiveHeader.model_validate_json(raw)


def get_archive(case_id: str, *, personal: bool = True, derived: bool = True) -> ArchivedCase:
    """A case's archive record, decrypted; a part erased or expired is None."""
    record = ArchivedCase(header=get_header(case_id))
    if personal and (raw := _get(object_key(case_id, "personal"))) is not None:
        record.personal = PersonalPart.model_validate(unseal(case_id, "personal", raw))
    if derived and (raw := _get(object_key(case_id, "derived"))) is not None:
        record.derived = DerivedPart.model_validate(unseal(case_id, "derived", raw))
    return record


def load_application(case_id: str) -> dict[str, Any]:
    """The application a case was decided on; :class:`NotFound` once erased or expired."""
    record = get_archive(case_id, derived=False)
    if record.personal is None:
        raise NotFound(f"the application of case {case_id} is no longer archived (expired or erased)")
    return record.personal.application


def erase_parts(case_id: str, parts: tuple[str, ...] = ("personal", "derived")) -> list[str]:
    """Delete the sealed parts of a case (the header, hashed keys and outcome only, stays).
    Returns the keys that existed."""
    s3 = client("s3")
    removed = []
    for part in parts:
        key = object_key(case_id, part)
        if _get(key) is not None:
            s3.delete_object(Bucket=settings.data_bucket, Key=key)
            removed.append(key)
    return removed


def iter_headers(received_from: datetime | None = None) -> list[ArchiveHeader]:
    """Every archive header (erasure looks a person's cases up by hashed key), or with
    ``received_from`` every header of a case received then or later, and some before.

    A case id begins with ``C`` and the UTC second its case was opened
    (``lendguard.cases.service.new_case_id``), never before the case was received (a re-decided
    case gets a new id and keeps its received time), so the headers of a window's cases all sort
    at or after ``C<received_from>``: the listing starts there instead of reading the whole
    archive, one GET a case, for a window of the last month.
    """
    s3 = client("s3")
    listing: dict[str, str] = {"Bucket": settings.data_bucket, "Prefix": HEADER_PREFIX}
    if received_from is not None:
        listing["StartAfter"] = f"{HEADER_PREFIX}C{received_from.astimezone(UTC):%Y%m%d%H%M%S}"
    out = []
    for page in s3.get_paginator("list_objects_v2").paginate(**listing):
        for obj in page.get("Contents", []):
            raw = _get(obj["Key"])
            if raw is not None:
                out.append(ArchiveHeader.model_validate_json(raw))
    return out
