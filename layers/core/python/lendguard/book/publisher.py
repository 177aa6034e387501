"""Where the book's events go: the protocol :mod:`lendguard.store.events` implements (EventBridge)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class EventPublisher(Protocol):
    """Publishes book events: (detail type, detail) pairs; returns how many were sent."""

    def publish(self, events: Sequence[tuple[str, dict[str, Any]]]) -> int: ...
