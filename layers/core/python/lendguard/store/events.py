"""Book events to EventBridge (``PutEvents`` on the bus ``LENDGUARD_EVENT_BUS`` names).

Source ``lendguard.book`` (:data:`lendguard.deployment.BOOK_EVENT_SOURCE`); detail types
``LimitChanged``, ``AccountFrozen``, ``AccountUnfrozen``, ``ReloanOffered``. Each detail
carries the apply key, which the loan app uses to drop a repeat (delivery is at least once).
Entries go ten to a call (the API's limit); a call with failed entries retries those once, then
raises.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from lendguard import deployment
from lendguard.book.publisher import EventPublisher
from lendguard.settings import settings
from lendguard.store.aws import client

MAX_ENTRIES = 10
__all__ = ["EventBridgePublisher", "EventPublisher", "RecordingPublisher"]


class EventBridgePublisher:
    """The deployment's bus (or ``bus_name``)."""

    def __init__(self, bus_name: str | None = None) -> None:
        self._bus = bus_name

    def publish(self, events: Sequence[tuple[str, dict[str, Any]]]) -> int:
        bus = self._bus or settings.event_bus
        entries = [
            {"Source": deployment.BOOK_EVENT_SOURCE, "DetailType": kind, "Detail": json.dumps(detail, ensure_ascii=False),
             "EventBusName": bus}
            for kind, detail in events
        ]  # fmt: skip
        for start in range(0, len(entries), MAX_ENTRIES):
            batch = entries[start : start + MAX_ENTRIES]
            for attempt in range(2):
                answer = client("events").put_events(Entries=batch)
                if not answer.get("FailedEntryCount"):
                    break
                batch = [e for e, r in zip(batch, answer["Entries"], strict=True) if r.get("ErrorCode")]
                if attempt:
                    raise RuntimeError(f"EventBridge refused {len(batch)} book events")
        return len(entries)


class RecordingPublisher:
    """Keeps what would be published (tests, dry runs, offline runs)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def publish(self, events: Sequence[tuple[str, dict[str, Any]]]) -> int:
        self.sent.extend(events)
        return len(events)
