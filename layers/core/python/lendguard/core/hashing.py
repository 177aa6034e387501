"""Keyed hashing of personal identifiers (HMAC-SHA256 with a deployment secret).

Lists, caches and case records hold only these hashes; with the secret kept out of the data
stores, a leaked table does not reveal who is on it.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

# Fixed secret for the local runtime and tests only; a deployment reads its own from SSM.
LOCAL_SECRET = "lendguard-local-development-secret"


@lru_cache(maxsize=4)
def _keyed(secret: str) -> hmac.HMAC:
    # The HMAC with its key already absorbed (inner and outer pads hashed): each identifier then
    # costs a copy and its own bytes. A process holds one secret (a few in tests).
    return hmac.new(secret.encode(), digestmod=hashlib.sha256)


def keyed_hash(key_type: str, normalized_value: str, secret: str) -> str:
    """Hex HMAC-SHA256 of ``KEY_TYPE:value``; the key type keeps equal values of different kinds apart."""
    mac = _keyed(secret).copy()
    mac.update(f"{key_type.upper()}:{normalized_value}".encode())
    return mac.hexdigest()


def mask(value: str, keep_start: int = 3, keep_end: int = 4) -> str:
    """A display form that cannot be reversed: ``138****8000``."""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]
