"""Keyed hashing of personal identifiers (HMAC-SHA256 with a deployment secret).

Lists, caches and case records hold only these hashes; with the secret kept out of the data
stores, a leaked table does not reveal who is on it.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

# Fixed secret for the local runtime and tests only; a deployment reads its own from SSM.
LOCAL_SECRET = "lendguard-local-development-secret"


_BLOCK = 64  # SHA-256's block size: the HMAC key is padded (or first hashed) to it


@lru_cache(maxsize=4)
def _pads(secret: str) -> tuple[Any, Any]:
    # HMAC(k, m) = H(k ^ opad || H(k ^ ipad || m)) (RFC 2104), with both padded keys already
    # hashed: each identifier then costs two copies and its own bytes, about a quarter of an
    # ``hmac`` object's copy and digest. A process holds one secret (a few in tests).
    key = secret.encode()
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    return inner, outer


def keyed_hash(key_type: str, normalized_value: str, secret: str) -> str:
    """Hex HMAC-SHA256 of ``KEY_TYPE:value``; the key type keeps equal values of different kinds apart."""
    inner_pad, outer_pad = _pads(secret)
    inner = inner_pad.copy()
    inner.update(f"{key_type.upper()}:{normalized_value}".encode())
    outer = outer_pad.copy()
    outer.update(inner.digest())
    return outer.hexdigest()


def mask(value: str, keep_start: int = 3, keep_end: int = 4) -> str:
    """A display form that cannot be reversed: ``138****8000``."""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]
