"""Vendor credentials from Secrets Manager, cached for a few minutes per container.

The HTTP adapter puts the value in its auth header. Values are never logged or put in error
messages; errors name the secret id only. The cache is short so a rotated credential is picked
up within :data:`CACHE_TTL_S` without a redeploy, while a busy container does not call Secrets
Manager on every vendor request.
"""

from __future__ import annotations

import json
import threading
import time

from botocore.exceptions import BotoCoreError, ClientError

from lendguard.store.aws import client

CACHE_TTL_S = 300.0

_lock = threading.Lock()
_cache: dict[tuple[str, str | None], tuple[float, str]] = {}


class VendorSecretError(RuntimeError):
    """A vendor secret that cannot be read or has no usable value (the message names the id only)."""


def get_vendor_secret(secret_id: str, field: str | None = None) -> str:
    """The secret's string, or one field of it when the secret is a JSON object."""
    key = (secret_id, field)
    now = time.monotonic()
    with _lock:
        found = _cache.get(key)
    if found is not None and now - found[0] < CACHE_TTL_S:
        return found[1]
    value = _read(secret_id, field)
    with _lock:
        _cache[key] = (now, value)
    return value


def _read(secret_id: str, field: str | None) -> str:
    try:
        answer = client("secretsmanager").get_secret_value(SecretId=secret_id)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise VendorSecretError(f"secret {secret_id!r}: {code}") from None
    except BotoCoreError as exc:
        raise VendorSecretError(f"secret {secret_id!r}: {type(exc).__name__}") from None
    text = answer.get("SecretString")
    if not isinstance(text, str) or not text:
        raise VendorSecretError(f"secret {secret_id!r} has no string value")
    if field is None:
        return text
    try:
        data = json.loads(text)
    except ValueError:
        raise VendorSecretError(
            f"secret {secret_id!r} is not a JSON object, so it has no field {field!r}"
        ) from None
    value = data.get(field) if isinstance(data, dict) else None
    if not isinstance(value, str) or not value:
        raise VendorSecretError(f"secret {secret_id!r} has no string field {field!r}")
    return value


def clear_cache() -> None:
    """Forget cached secrets (tests, and the local runtime when it starts a fresh moto)."""
    with _lock:
        _cache.clear()
