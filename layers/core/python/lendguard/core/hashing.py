"""Keyed hashing of personal identifiers (HMAC-SHA256 with a deployment secret).

Lists, caches and case records hold only these hashes; with the secret kept out of the data
stores, a leaked table does not reveal who is on it.
"""

from __future__ import annotations

import hashlib
import hmac

# Fixed secret for the local runtime and tests only; a deployment reads its own from SSM.
LOCAL_SECRET = "lendguard-local-development-secret"


def keyed_hash(key_type: str, normalized_value: str, secret: str) -> str:
    """Hex HMAC-SHA256 of ``KEY_TYPE:value``; the key type keeps equal values of different kinds apart."""
    message = f"{key_type.upper()}:{normalized_value}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def mask(value: str, keep_start: int = 3, keep_end: int = 4) -> str:
    """A display form that cannot be reversed: ``138****8000``."""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]
