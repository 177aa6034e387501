"""The one interface every vendor adapter implements."""

from __future__ import annotations

from typing import Any, Protocol

from lendguard.policy.schema import Vendor
from lendguard.providers.responses import RESPONSE_MODELS, VendorResponse
from lendguard.providers.simulated import simulate
from lendguard.stages.state import Subject


class VendorError(RuntimeError):
    """A vendor call that failed after its retries (timeout, 5xx, malformed payload)."""


class Provider(Protocol):
    vendor: Vendor

    def fetch(self, subject: Subject, application: dict[str, Any]) -> tuple[VendorResponse, bytes]:
        """Ask the vendor about the subject; return the typed response and the raw payload."""
        ...


class SimulatedProvider:
    """A deterministic fake vendor answering from the hashed ID number (see ``simulated``)."""

    def __init__(self, vendor: Vendor):
        self.vendor = vendor
        self._model = RESPONSE_MODELS[vendor.service]

    def fetch(self, subject: Subject, application: dict[str, Any]) -> tuple[VendorResponse, bytes]:
        response = simulate(self.vendor.service, subject.id_number)
        raw = response.model_dump_json().encode()
        # Parse the raw bytes as a real adapter must, so the same validation path is exercised.
        return self._model.model_validate_json(raw), raw


class ProviderRegistry:
    """Builds and caches one adapter per vendor of a policy."""

    def __init__(self) -> None:
        self._providers: dict[tuple[str, str, str], Provider] = {}

    def get(self, vendor: Vendor) -> Provider:
        key = (vendor.id, vendor.service, vendor.adapter)
        provider = self._providers.get(key)
        if provider is None:
            if vendor.adapter == "simulated":
                provider = SimulatedProvider(vendor)
            else:
                raise VendorError(f"vendor {vendor.id}: adapter '{vendor.adapter}' is not configured here")
            self._providers[key] = provider
        return provider
