"""Simulated vendors: documented distributions, and injected latency, 5xx and malformed payloads."""

import hashlib
import time

import pytest

from lendguard.core.vendor_responses import RESPONSE_MODELS, SERVICE_KINDS, SUBJECT_KEYS
from lendguard.decision.pipeline import MemoryArchive
from lendguard.decision.state import Subject
from lendguard.policy.schema import Vendor
from lendguard.vendors.base import ProviderRegistry, SimulatedProvider
from lendguard.vendors.caller import CallRequest, call_vendor
from lendguard.vendors.errors import VendorHTTPError, VendorMalformed
from lendguard.vendors.simulated import SIMULATORS, simulate

HASHES = [hashlib.sha256(f"subject-{i}".encode()).hexdigest() for i in range(4000)]
SUBJECT = Subject(id_number=HASHES[0], phone="p", device_id="d")


def vendor(service="identity_check", **faults) -> Vendor:
    return Vendor(id="v", service=service, cost=1.0, retries=0, timeout_ms=1000, faults=faults or None)


def test_every_service_has_a_model_a_simulator_a_kind_and_cache_keys():
    assert set(RESPONSE_MODELS) == set(SIMULATORS) == set(SERVICE_KINDS) == set(SUBJECT_KEYS)
    for service in RESPONSE_MODELS:
        assert isinstance(simulate(service, HASHES[1]), RESPONSE_MODELS[service])
        assert simulate(service, HASHES[1]) == simulate(service, HASHES[1])  # deterministic


@pytest.mark.parametrize(
    ("service", "share", "low", "high"),
    [
        ("identity_check", lambda r: not r.match, 0.01, 0.03),  # documented 2%
        ("fraud_blacklist", lambda r: r.hit, 0.02, 0.04),  # 3%
        ("bureau_report", lambda r: r.thin_file, 0.065, 0.095),  # 8%
        ("telco_check", lambda r: not r.three_element_match, 0.02, 0.04),  # 3%
        ("telco_check", lambda r: r.line_status != "active", 0.02, 0.04),  # 2% + 1%
        ("bank_card_check", lambda r: not r.match, 0.03, 0.05),  # 4%
        ("device_risk", lambda r: r.emulator, 0.02, 0.05),  # 0.01 + 0.05 r, mean 3.5%
    ],
)
def test_documented_distributions(service, share, low, high):
    observed = sum(bool(share(simulate(service, h))) for h in HASHES) / len(HASHES)
    assert low <= observed <= high


def test_injected_503_and_malformed_payloads():
    with pytest.raises(VendorHTTPError, match="HTTP 503"):
        SimulatedProvider(vendor(error_rate=1.0)).fetch(SUBJECT, {})
    provider = SimulatedProvider(vendor(malformed_rate=1.0, seed=1))
    for _ in range(6):  # both kinds: invalid JSON and JSON of the wrong shape
        with pytest.raises(VendorMalformed):
            provider.fetch(SUBJECT, {})


def test_fault_rates_are_respected_and_reproducible_with_a_seed():
    def outcomes(seed):
        provider = SimulatedProvider(vendor(error_rate=0.3, malformed_rate=0.2, seed=seed))
        out = []
        for _ in range(500):
            try:
                provider.fetch(SUBJECT, {})
                out.append("ok")
            except VendorHTTPError:
                out.append("5xx")
            except VendorMalformed:
                out.append("bad")
        return out

    first = outcomes(11)
    assert first == outcomes(11)
    assert 0.24 < first.count("5xx") / 500 < 0.36 and 0.15 < first.count("bad") / 500 < 0.25


def test_injected_latency_and_slow_calls():
    started = time.perf_counter()
    SimulatedProvider(vendor(latency_ms=120)).fetch(SUBJECT, {})
    assert 0.11 <= time.perf_counter() - started < 0.6
    started = time.perf_counter()
    SimulatedProvider(vendor(slow_rate=1.0, slow_ms=150)).fetch(SUBJECT, {})
    assert 0.14 <= time.perf_counter() - started < 0.7


def call(v: Vendor):
    req = CallRequest(case_id="C", application_id="A", subject=SUBJECT, application={})
    return call_vendor(v, "g", req, ProviderRegistry(sleep=lambda s: None), MemoryArchive()).call


def test_simulated_faults_go_through_the_same_retry_and_timeout_handling():
    slow = Vendor(id="v", service="fraud_score", cost=1, timeout_ms=50, retries=1, faults={"latency_ms": 300})
    started = time.perf_counter()
    result = call(slow)
    assert result.status == "error" and result.error_type == "timeout" and result.attempts == 2
    assert time.perf_counter() - started < 0.3
    result = call(Vendor(id="v", service="fraud_score", cost=1, retries=2, faults={"error_rate": 1.0}))
    assert result.status == "error" and result.error_type == "http_5xx" and result.attempts == 3
    result = call(Vendor(id="v", service="fraud_score", cost=1, retries=1, faults={"malformed_rate": 1.0}))
    assert result.status == "error" and result.error_type == "malformed" and result.attempts == 2
