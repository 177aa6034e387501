"""Timeouts, retries with backoff and jitter, and the circuit breaker.

Circuit-breaker state is **per container**: each warm Lambda container (or local process)
keeps its own breakers in memory, in the :class:`~lendguard.vendors.base.ProviderRegistry`
that lives as long as the container. A shared breaker (in DynamoDB) would cost a read and a
conditional write on every vendor call, on the latency path, to save each container at most
``failure_threshold`` failed attempts before it learns the vendor is down on its own. A new
container starts closed.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Literal, TypeVar

from lendguard.vendors.errors import VendorTimeout

T = TypeVar("T")

# Attempts run on their own pool so a timed-out attempt (which Python cannot kill) keeps a
# worker busy only until the adapter's own socket timeout ends it, without blocking the group
# pool that fans vendors out. Sized for a few groups of concurrent vendors with retries.
_ATTEMPT_POOL = ThreadPoolExecutor(max_workers=32, thread_name_prefix="vendor-attempt")


def run_with_timeout(fn: Callable[[], T], timeout_s: float, what: str) -> T:
    """Run ``fn`` and return its result, or raise :class:`VendorTimeout` after ``timeout_s``."""
    future = _ATTEMPT_POOL.submit(fn)
    try:
        return future.result(timeout=timeout_s)
    except FutureTimeout:
        future.cancel()
        raise VendorTimeout(f"{what}: no answer within {timeout_s * 1000:.0f} ms") from None


def backoff_delay_s(retry: int, base_ms: int, cap_ms: int, rng: random.Random) -> float:
    """The wait before retry number ``retry`` (1, 2, ...): "full jitter", uniform in [0, min(cap, base·2^(retry-1))].

    Full jitter spreads the retries of many containers hitting one struggling vendor, instead
    of having them all come back at the same instants.
    """
    ceiling = min(cap_ms, base_ms * 2 ** (retry - 1))
    return rng.uniform(0, ceiling) / 1000


BreakerState = Literal["closed", "open", "half_open"]


@dataclass(frozen=True)
class BreakerDecision:
    allowed: bool
    reason: str = ""


_CLOSED = BreakerDecision(True)  # the answer of a closed breaker, the common case: made once


class CircuitBreaker:
    """Consecutive-failure breaker: closed → open after N failures → half-open after the cool-down.

    Half-open lets exactly one trial attempt through; its success closes the breaker, its
    failure opens it for another cool-down. Thread-safe (a group's vendors run concurrently).
    """

    def __init__(
        self, failure_threshold: int, cooldown_s: float, clock: Callable[[], float] = time.monotonic
    ):
        if failure_threshold < 1 or cooldown_s <= 0:
            raise ValueError("breaker needs failure_threshold >= 1 and cooldown_s > 0")
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state_locked()

    def _state_locked(self) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.cooldown_s:
            return "half_open"
        return "open"

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def allow(self) -> BreakerDecision:
        """Whether an attempt may go to the vendor now (a half-open breaker admits one trial)."""
        with self._lock:
            state = self._state_locked()
            if state == "closed":
                return _CLOSED
            if state == "half_open" and not self._trial_in_flight:
                self._trial_in_flight = True
                return BreakerDecision(True, "half-open trial")
            assert self._opened_at is not None
            remaining = max(0.0, self.cooldown_s - (self._clock() - self._opened_at))
            why = "a half-open trial is in flight" if state == "half_open" else f"retry in {remaining:.1f} s"
            return BreakerDecision(False, f"circuit open after {self._failures} consecutive failures; {why}")

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_in_flight = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            was_trial = self._trial_in_flight
            self._trial_in_flight = False
            if was_trial or self._failures >= self.failure_threshold:
                self._opened_at = self._clock()
