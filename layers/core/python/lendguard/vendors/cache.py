"""What the vendor caller needs from the data-cache table, and an in-memory version of it.

Two kinds of records share the table (``lendguard.store.cache`` is the DynamoDB one):

- **data cache**, keyed by vendor + the hashed identifiers the service depends on
  (:data:`~lendguard.core.vendor_responses.SUBJECT_KEYS`), kept ``cache_ttl_days``: another
  application by the same person reuses the answer at no cost;
- **charge record**, keyed by vendor + ``application_id``, kept :data:`REPLAY_WINDOW_DAYS`:
  a retried or replayed application gets the first answer back instead of paying again.

Both hold the typed response (not the raw payload, which stays in S3) and the reference to the
raw payload that produced it, so a reused answer still points at its evidence.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from lendguard.core.base_model import Model
from lendguard.core.vendor_responses import SUBJECT_KEYS
from lendguard.decision.state import Subject

# How long a charged answer stays reusable for the same application (replays, re-decisions of
# FAILED cases): longer than any retry or re-decision, short enough not to keep data forever.
REPLAY_WINDOW_DAYS = 30


class CachedResponse(Model):
    """A vendor answer kept for reuse."""

    response: dict[str, Any]
    payload_ref: str | None = None
    case_id: str
    fetched_at: float
    cost: float = 0.0
    billed: bool = False


class VendorCache(Protocol):
    """The data cache and the charge records; every read ignores expired records."""

    def get_response(self, vendor_id: str, subject_key: str, now: float) -> CachedResponse | None:
        """A live cached answer for the subject, or None."""
        ...

    def put_response(
        self, vendor_id: str, subject_key: str, entry: CachedResponse, expires_at: float
    ) -> None:
        """Cache an answer until ``expires_at`` (epoch seconds)."""
        ...

    def get_charge(self, vendor_id: str, application_id: str, now: float) -> CachedResponse | None:
        """The answer already obtained for this application, or None."""
        ...

    def put_charge(
        self, vendor_id: str, application_id: str, entry: CachedResponse, expires_at: float
    ) -> bool:
        """Record the answer for this application unless one exists; True when this one was stored."""
        ...

    def lookup(
        self, vendor_id: str, application_id: str, subject_key: str | None, now: float
    ) -> tuple[CachedResponse | None, CachedResponse | None]:
        """(charge record, cached answer) in one read; ``subject_key=None`` skips the cache."""
        ...


def subject_key(service: str, subject: Subject) -> str:
    """The cache key part for a subject: the keyed hashes the service's answer depends on."""
    return ":".join(getattr(subject, name) for name in SUBJECT_KEYS[service])


class MemoryVendorCache:
    """A :class:`VendorCache` in a dict (tests, benchmarks, backtests)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.items: dict[str, tuple[CachedResponse, float]] = {}

    def _get(self, key: str, now: float) -> CachedResponse | None:
        with self._lock:
            found = self.items.get(key)
        if found is None or found[1] <= now:
            return None
        return found[0]

    def get_response(self, vendor_id: str, subject_key: str, now: float) -> CachedResponse | None:
        return self._get(f"DATA#{vendor_id}#{subject_key}", now)

    def put_response(
        self, vendor_id: str, subject_key: str, entry: CachedResponse, expires_at: float
    ) -> None:
        with self._lock:
            self.items[f"DATA#{vendor_id}#{subject_key}"] = (entry, expires_at)

    def get_charge(self, vendor_id: str, application_id: str, now: float) -> CachedResponse | None:
        return self._get(f"CHARGE#{vendor_id}#{application_id}", now)

    def put_charge(
        self, vendor_id: str, application_id: str, entry: CachedResponse, expires_at: float
    ) -> bool:
        key = f"CHARGE#{vendor_id}#{application_id}"
        with self._lock:
            current = self.items.get(key)
            if current is not None and current[1] > entry.fetched_at:
                return False
            self.items[key] = (entry, expires_at)
            return True

    def lookup(
        self, vendor_id: str, application_id: str, subject_key: str | None, now: float
    ) -> tuple[CachedResponse | None, CachedResponse | None]:
        charge = self.get_charge(vendor_id, application_id, now)
        return charge, None if subject_key is None else self.get_response(vendor_id, subject_key, now)
