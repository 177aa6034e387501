"""The provider registry (adapters and breakers per container) and per-vendor EMF metrics."""

import json

from lendguard.decision.state import VendorCall
from lendguard.policy.schema import Vendor
from lendguard.vendors.base import ProviderRegistry, SimulatedProvider
from lendguard.vendors.http import HttpJsonProvider
from lendguard.vendors.metrics import EmfVendorMetrics


def vendor(**overrides) -> Vendor:
    return Vendor.model_validate({"id": "v", "service": "identity_check", "cost": 0.3, **overrides})


HTTP = {"url": "https://idv.example.com/check", "response_map": {"match": "/m", "name_match": "/n"}}


def test_adapters_are_built_once_and_rebuilt_when_their_configuration_changes():
    registry = ProviderRegistry()
    first = registry.get(vendor())
    assert isinstance(first, SimulatedProvider) and registry.get(vendor()) is first
    slower = registry.get(vendor(faults={"latency_ms": 10}))
    assert slower is not first and slower.vendor.faults.latency_ms == 10
    assert isinstance(registry.get(vendor(adapter="http", http=HTTP)), HttpJsonProvider)


def test_breakers_are_per_vendor_and_survive_a_new_policy_version_unless_thresholds_change():
    registry = ProviderRegistry()
    breaker = registry.breaker(vendor())
    breaker.record_failure()
    assert registry.breaker(vendor(cost=0.5)) is breaker  # same vendor, other price: same state
    assert registry.breaker(vendor(id="w")) is not breaker
    changed = registry.breaker(vendor(breaker={"failure_threshold": 2}))
    assert changed is not breaker and changed.failure_threshold == 2
    registry.reset()
    assert registry.breaker(vendor(breaker={"failure_threshold": 2})) is not changed


def test_each_vendor_call_is_one_emf_record_with_the_vendor_dimension(capsys, monkeypatch):
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    metrics = EmfVendorMetrics(namespace="LendGuardTest")
    metrics.record(VendorCall(vendor="bureau", group="b", service="bureau_report", status="ok",
                              latency_ms=42.0, cost=3.0, billed=True, attempts=2))  # fmt: skip
    metrics.record(
        VendorCall(vendor="bureau", group="b", service="bureau_report", status="ok", cache_hit=True)
    )
    # Powertools writes each metric value as a list of samples.
    first, second = (
        {k: v[0] if isinstance(v, list) and k != "_aws" else v for k, v in json.loads(line).items()}
        for line in capsys.readouterr().out.splitlines()
    )
    directive = first["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "LendGuardTest" and "vendor" in directive["Dimensions"][0]
    assert first["vendor"] == "bureau"
    assert (first["VendorCalls"], first["VendorSpend"], first["VendorLatency"], first["VendorAttempts"]) == (
        1.0, 3.0, 42.0, 2.0,
    )  # fmt: skip
    assert first["VendorCacheHits"] == 0 and first["VendorErrors"] == 0
    assert second["VendorCacheHits"] == 1 and second["VendorCalls"] == 0 and "VendorLatency" not in second
