"""The one interface every vendor adapter implements, and the registry that holds them.

An adapter only knows how to ask its vendor: :meth:`Provider.fetch` returns the typed answer
and the raw payload, or raises a :class:`~lendguard.vendors.errors.VendorError`. Everything
around a call (cache, replay protection, circuit breaker, timeout, retries, billing, archive,
metrics) is the caller's (:mod:`lendguard.vendors.caller`), so every adapter gets it alike.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from pydantic import ValidationError

from lendguard.core.vendor_responses import RESPONSE_MODELS, VendorResponse
from lendguard.decision.state import Subject
from lendguard.policy.schema import Vendor
from lendguard.vendors.errors import (
    VendorConfigError,
    VendorError,
    VendorHTTPError,
    VendorMalformed,
    VendorTimeout,
)
from lendguard.vendors.metrics import NullVendorMetrics, VendorMetrics
from lendguard.vendors.resilience import CircuitBreaker
from lendguard.vendors.simulated import simulate, simulation_key

__all__ = ["Provider", "ProviderRegistry", "SimulatedProvider", "VendorError"]

SecretLookup = Callable[[str, str | None], str]


class Provider(Protocol):
    vendor: Vendor

    def fetch(self, subject: Subject, application: dict[str, Any]) -> tuple[VendorResponse, bytes]:
        """Ask the vendor about the subject; return the typed response and the raw payload."""
        ...


class SimulatedProvider:
    """A deterministic fake vendor answering from the hashed ID number, or for liveness and face
    answers the hashed liveness session (see ``simulated``).

    The answer is deterministic; the faults configured in ``vendor.faults`` (latency, 503s,
    malformed payloads, occasional slow calls) are drawn per call, from ``faults.seed`` when set.
    """

    # Bounded by the vendor's timeout on its own (see fetch): the caller runs it inline.
    self_timed = True

    def __init__(self, vendor: Vendor):
        self.vendor = vendor
        self._model = RESPONSE_MODELS[vendor.service]
        seed = vendor.faults.seed if vendor.faults else None
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    @property
    def may_wait(self) -> bool:
        """Injected faults sleep (latency, slow calls) or make the caller back off between retries."""
        return self.vendor.faults is not None

    def _draw(self) -> float:
        with self._lock:
            return self._rng.random()

    def fetch(self, subject: Subject, application: dict[str, Any]) -> tuple[VendorResponse, bytes]:
        """Answer as the simulated vendor would, after any injected latency or fault.

        The answer is built as the typed response (validated once, as it is made) and its raw
        payload is that response's JSON; only a payload the faults mangled is parsed back, to fail
        the way a real adapter's parsing would.
        """
        faults = self.vendor.faults
        response = simulate(self.vendor.service, simulation_key(self.vendor.service, subject))
        raw = response.model_dump_json().encode()
        if faults is None:
            return response, raw
        u = self._draw()
        delay_ms = faults.latency_ms
        slow_from = faults.error_rate + faults.malformed_rate
        if slow_from <= u < slow_from + faults.slow_rate:
            delay_ms += faults.slow_ms
        if delay_ms > self.vendor.timeout_ms:
            # The simulator knows its own latency, so it times out exactly as the caller's
            # guard would, without the thread hop a real network call needs.
            time.sleep(self.vendor.timeout_ms / 1000)
            raise VendorTimeout(f"vendor {self.vendor.id}: no answer within {self.vendor.timeout_ms} ms")
        if delay_ms:
            time.sleep(delay_ms / 1000)
        if u < faults.error_rate:
            raise VendorHTTPError(503, "simulated Service Unavailable")
        if u < slow_from:
            # Half the malformed answers are not JSON at all, half are JSON of the wrong shape.
            raw = b'{"truncated": tru' if self._draw() < 0.5 else b'{"unexpected": "shape"}'
            try:
                return self._model.model_validate_json(raw), raw
            except ValidationError as exc:
                raise VendorMalformed(
                    f"answer does not fit {self._model.__name__}: {exc.error_count()} errors"
                ) from None
        return response, raw


class ProviderRegistry:
    """Builds and keeps one adapter and one circuit breaker per vendor, for the container's life.

    It also carries what every call needs from its surroundings: the secret reader of HTTP
    vendors, the metrics sink, and the clocks, sleep and random source (replaced in tests).
    """

    def __init__(
        self,
        *,
        secrets: SecretLookup | None = None,
        metrics: VendorMetrics | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.secrets = secrets
        self.metrics: VendorMetrics = metrics or NullVendorMetrics()
        self.clock = clock
        self.monotonic = monotonic
        self.sleep = sleep
        self.rng = rng or random.Random()
        self._lock = threading.Lock()
        self._providers: dict[str, Provider] = {}
        self._by_object: dict[int, tuple[Vendor, Provider]] = {}
        self._overrides: dict[str, Provider] = {}
        self._breakers: dict[str, tuple[tuple[int, float], CircuitBreaker]] = {}

    def reset(self) -> None:
        """Forget adapters and breaker states (a fresh local stack, or between tests)."""
        with self._lock:
            self._providers.clear()
            self._by_object.clear()
            self._breakers.clear()

    def register(self, vendor_id: str, provider: Provider) -> None:
        """Use ``provider`` for every vendor with this id (tests, custom adapters)."""
        with self._lock:
            self._overrides[vendor_id] = provider

    def unregister(self, vendor_id: str) -> None:
        """Go back to the configured adapter for this vendor id."""
        with self._lock:
            self._overrides.pop(vendor_id, None)

    def get(self, vendor: Vendor) -> Provider:
        """The adapter for ``vendor`` (built on first use, rebuilt when its configuration changes)."""
        override = self._overrides.get(vendor.id)
        if override is not None:
            return override
        # The same Vendor object (a cached policy version) maps to the same adapter: no need to
        # serialise its configuration on every call of every case.
        seen = self._by_object.get(id(vendor))
        if seen is not None and seen[0] is vendor:
            return seen[1]
        # A new policy version may change a vendor's URL or faults under the same id.
        key = vendor.model_dump_json()
        with self._lock:
            provider = self._providers.get(key)
            if provider is None:
                provider = self._build(vendor)
                self._providers[key] = provider
            self._by_object[id(vendor)] = (vendor, provider)
        return provider

    def _build(self, vendor: Vendor) -> Provider:
        if vendor.adapter == "simulated":
            return SimulatedProvider(vendor)
        if vendor.adapter == "http":
            from lendguard.vendors.http import HttpJsonProvider

            return HttpJsonProvider(vendor, self.secrets)
        raise VendorConfigError(f"vendor {vendor.id}: adapter '{vendor.adapter}' is not configured here")

    def breaker(self, vendor: Vendor) -> CircuitBreaker:
        """The vendor's breaker; kept across policy versions unless its thresholds change."""
        settings = (vendor.breaker.failure_threshold, vendor.breaker.cooldown_s)
        found = self._breakers.get(vendor.id)  # the common case reads without the lock
        if found is not None and found[0] == settings:
            return found[1]
        with self._lock:
            found = self._breakers.get(vendor.id)
            if found is None or found[0] != settings:
                found = (settings, CircuitBreaker(*settings, clock=self.monotonic))
                self._breakers[vendor.id] = found
            return found[1]
