"""One vendor call: cache, no double charge, retries, timeouts, breaker, billing, archive, metrics."""

import time

import pytest

from lendguard.decision.pipeline import MemoryArchive
from lendguard.decision.state import Subject
from lendguard.policy.schema import Vendor
from lendguard.vendors.base import ProviderRegistry
from lendguard.vendors.cache import REPLAY_WINDOW_DAYS, MemoryVendorCache
from lendguard.vendors.caller import CallRequest, call_vendor
from lendguard.vendors.errors import VendorConfigError, VendorHTTPError, VendorMalformed
from lendguard.vendors.metrics import VendorStats
from lendguard.vendors.simulated import simulate

SUBJECT = Subject(id_number="id-hash-1", phone="phone-hash-1", device_id="device-hash-1")
DAY = 86_400


def vendor(**overrides) -> Vendor:
    settings = {"id": "bureau", "service": "bureau_report", "cost": 3.0, "retries": 2, "timeout_ms": 1000,
                "cache_ttl_days": 7, "backoff_base_ms": 100, "backoff_max_ms": 400}  # fmt: skip
    return Vendor.model_validate({**settings, **overrides})


def request(application_id="APP-1", case_id="C-1", subject=SUBJECT) -> CallRequest:
    return CallRequest(case_id=case_id, application_id=application_id, subject=subject, application={})


class Script:
    """A provider answering from a script: each entry is an exception to raise or 'ok'."""

    def __init__(self, v: Vendor, *steps, delay_s: float = 0.0):
        self.vendor, self.steps, self.delay_s, self.calls = v, list(steps), delay_s, 0

    def fetch(self, subject, application):
        self.calls += 1
        step = self.steps.pop(0) if self.steps else "ok"
        if self.delay_s:
            time.sleep(self.delay_s)
        if isinstance(step, BaseException):
            raise step
        response = simulate(self.vendor.service, subject.id_number)
        return response, response.model_dump_json().encode()


class Env:
    """A registry with a fake wall clock, fake monotonic clock and recorded sleeps."""

    def __init__(self):
        self.now, self.mono, self.sleeps = 1_800_000_000.0, 100.0, []
        self.stats = VendorStats()
        self.registry = ProviderRegistry(
            metrics=self.stats, clock=lambda: self.now, monotonic=lambda: self.mono, sleep=self.sleeps.append
        )
        self.cache = MemoryVendorCache()
        self.archive = MemoryArchive(keep=True)

    def call(self, v: Vendor, provider=None, req=None, cache=True):
        if provider is not None:
            self.registry.register(v.id, provider)
        outcome = call_vendor(
            v, "g", req or request(), self.registry, self.archive, self.cache if cache else None
        )
        self.registry.metrics.record(outcome.call)
        return outcome


@pytest.fixture
def env():
    return Env()


def test_a_fresh_answer_is_billed_archived_and_remembered(env):
    v = vendor()
    provider = Script(v)
    out = env.call(v, provider)
    call = out.call
    assert call.status == "ok" and call.attempts == 1 and call.billed and call.cost == 3.0
    assert not call.cache_hit and not call.replayed
    assert call.payload_ref == "memory://C-1/bureau" and env.archive.payloads[call.payload_ref].startswith(
        b"{"
    )
    assert out.facts["bureau.thin_file"] in (True, False) and set(out.facts) >= {"bureau.max_overdue_days"}
    assert {k.split("#")[0] for k in env.cache.items} == {"DATA", "CHARGE"}


def test_a_cache_hit_costs_nothing_is_recorded_and_points_at_the_first_payload(env):
    v = vendor()
    provider = Script(v)
    first = env.call(v, provider, request("APP-1", "C-1")).call
    out = env.call(v, provider, request("APP-2", "C-2"))  # another application, same person
    hit = out.call
    assert provider.calls == 1
    assert hit.status == "ok" and hit.cache_hit and hit.cost == 0 and not hit.billed and hit.attempts == 0
    assert hit.payload_ref == first.payload_ref and hit.source_case_id == "C-1"
    assert out.facts == env.call(v, provider, request("APP-3", "C-3")).facts


def test_the_cache_is_keyed_by_the_identifiers_the_service_depends_on(env):
    score = vendor(id="fraud_score", service="fraud_score", cost=0.8)
    provider = Script(score)
    env.call(score, provider, request("APP-1"))
    other_device = SUBJECT.model_copy(update={"device_id": "device-hash-2"})
    assert not env.call(score, provider, request("APP-2", subject=other_device)).call.cache_hit
    assert provider.calls == 2


def test_an_expired_cache_entry_is_ignored_and_the_vendor_paid_again(env):
    v = vendor(cache_ttl_days=1)
    provider = Script(v)
    env.call(v, provider, request("APP-1"))
    env.now += DAY - 1
    assert env.call(v, provider, request("APP-2")).call.cache_hit
    env.now += 2
    call = env.call(v, provider, request("APP-3")).call
    assert not call.cache_hit and call.cost == 3.0 and provider.calls == 2


def test_without_a_ttl_nothing_is_cached(env):
    v = vendor(cache_ttl_days=0)
    provider = Script(v)
    env.call(v, provider, request("APP-1"))
    assert not env.call(v, provider, request("APP-2")).call.cache_hit
    assert provider.calls == 2 and not any(k.startswith("DATA") for k in env.cache.items)


def test_a_replayed_application_reuses_its_first_answer_and_is_not_charged_again(env):
    v = vendor(cache_ttl_days=0)  # replay protection does not depend on the data cache
    provider = Script(v)
    first = env.call(v, provider, request("APP-1", "C-1"))
    replay = env.call(v, provider, request("APP-1", "C-2"))
    assert provider.calls == 1
    call = replay.call
    assert call.replayed and call.cost == 0 and not call.billed and call.attempts == 0
    assert call.source_case_id == "C-1" and call.payload_ref == first.call.payload_ref
    assert "not charged again" in call.detail and replay.facts == first.facts
    env.now += REPLAY_WINDOW_DAYS * DAY + 1
    assert not env.call(v, provider, request("APP-1", "C-3")).call.replayed


def test_a_replay_after_a_cache_hit_gets_the_same_answer(env):
    v = vendor()
    provider = Script(v)
    env.call(v, provider, request("APP-1", "C-1"))
    env.call(v, provider, request("APP-2", "C-2"))  # cache hit, remembered for APP-2
    env.now += 8 * DAY  # the data cache has expired, the charge record has not
    call = env.call(v, provider, request("APP-2", "C-3")).call
    assert call.replayed and provider.calls == 1


def test_per_hit_pricing_bills_only_hits(env):
    v = vendor(id="fraud_blacklist", service="fraud_blacklist", pricing="per_hit", cost=1.5)
    call = env.call(v, Script(v)).call
    hit = simulate("fraud_blacklist", SUBJECT.id_number).hit
    assert call.billed is hit and call.cost == (1.5 if hit else 0.0)


def test_5xx_is_retried_with_jittered_backoff_and_paid_once(env):
    v = vendor()
    provider = Script(v, VendorHTTPError(503), VendorHTTPError(502), "ok")
    call = env.call(v, provider).call
    assert call.status == "ok" and call.attempts == 3 and call.cost == 3.0 and provider.calls == 3
    assert len(env.sleeps) == 2 and 0 <= env.sleeps[0] <= 0.1 and 0 <= env.sleeps[1] <= 0.2


def test_5xx_every_time_is_reported_after_the_retries_and_the_facts_are_missing(env):
    v = vendor()
    out = env.call(v, Script(v, *[VendorHTTPError(500)] * 3))
    call = out.call
    assert call.status == "error" and call.error_type == "http_5xx" and call.attempts == 3
    assert call.detail.startswith("http_5xx after 3 attempts: HTTP 500") and call.cost == 0
    assert out.facts is None and not env.cache.items


def test_a_malformed_payload_is_retried_then_reported(env):
    v = vendor(retries=1)
    call = env.call(v, Script(v, VendorMalformed("not JSON"), VendorMalformed("not JSON"))).call
    assert call.status == "error" and call.error_type == "malformed" and call.attempts == 2


def test_a_4xx_or_configuration_fault_is_not_retried(env):
    v = vendor()
    call = env.call(v, Script(v, VendorHTTPError(401, "bad key"))).call
    assert call.status == "error" and call.error_type == "http_4xx" and call.attempts == 1
    call = env.call(v, Script(v, VendorConfigError("no secret")), request("APP-2")).call
    assert call.error_type == "config" and call.attempts == 1


def test_an_unexpected_exception_is_a_retryable_fault(env):
    v = vendor(retries=1)
    call = env.call(v, Script(v, KeyError("boom"), "ok")).call
    assert call.status == "ok" and call.attempts == 2


def test_timeouts_are_enforced_on_every_attempt():
    env = Env()
    v = vendor(timeout_ms=50, retries=1)
    started = time.perf_counter()
    call = env.call(v, Script(v, delay_s=0.4)).call
    elapsed = time.perf_counter() - started
    assert call.status == "error" and call.error_type == "timeout" and call.attempts == 2
    assert "no answer within 50 ms" in call.detail
    assert elapsed < 0.35  # two 50 ms attempts, not two 400 ms ones


def test_the_breaker_opens_after_consecutive_failures_and_skips_with_a_reason(env):
    v = vendor(retries=0, breaker={"failure_threshold": 2, "cooldown_s": 30})
    provider = Script(v, VendorHTTPError(503), VendorHTTPError(503))
    env.call(v, provider, request("APP-1"))
    env.call(v, provider, request("APP-2"))
    out = env.call(v, provider, request("APP-3"))
    assert provider.calls == 2
    assert out.call.status == "skipped" and out.call.error_type == "circuit_open" and out.facts is None
    assert out.call.detail == "circuit open after 2 consecutive failures; retry in 30.0 s"
    env.mono += 30  # cool-down over: one trial goes through and closes the breaker
    assert env.call(v, provider, request("APP-4")).call.status == "ok"
    assert env.registry.breaker(v).state == "closed"


def test_retries_stop_when_the_breaker_opens_mid_call(env):
    v = vendor(retries=5, timeout_ms=1000, breaker={"failure_threshold": 2})
    call = env.call(v, Script(v, *[VendorHTTPError(503)] * 6)).call
    assert call.attempts == 2 and "breaker opened: no further retries" in call.detail


def test_cached_answers_are_served_while_the_breaker_is_open(env):
    v = vendor(retries=0, breaker={"failure_threshold": 1})
    provider = Script(v, "ok", VendorHTTPError(503))
    env.call(v, provider, request("APP-1", subject=SUBJECT))
    other = SUBJECT.model_copy(update={"id_number": "id-hash-2"})
    env.call(v, provider, request("APP-2", subject=other))  # fails: breaker opens
    assert env.registry.breaker(v).state == "open"
    assert env.call(v, provider, request("APP-3", subject=SUBJECT)).call.cache_hit


class BrokenArchive:
    def put(self, case_id, vendor_id, payload):
        raise OSError("S3 is down")


class BrokenCache(MemoryVendorCache):
    def get_charge(self, *args):
        raise OSError("DynamoDB is down")

    get_response = get_charge


def test_a_lost_archive_or_cache_never_loses_the_answer(env):
    v = vendor()
    env.registry.register(v.id, Script(v))
    out = call_vendor(v, "g", request(), env.registry, BrokenArchive(), BrokenCache())
    call = out.call
    assert call.status == "ok" and call.payload_ref is None and out.facts
    assert "raw payload not archived: OSError" in call.detail
    assert "cache unreadable: OSError" in call.detail


def test_a_stored_answer_that_no_longer_fits_the_model_is_ignored(env):
    v = vendor()
    provider = Script(v)
    env.call(v, provider, request("APP-1"))
    for key, (entry, expires) in list(env.cache.items.items()):
        env.cache.items[key] = (entry.model_copy(update={"response": {"thin_file": "maybe"}}), expires)
    assert env.call(v, provider, request("APP-1", "C-9")).call.attempts == 1 and provider.calls == 2


def test_metrics_per_vendor(env):
    v = vendor(retries=0, breaker={"failure_threshold": 1})
    provider = Script(v, "ok", VendorHTTPError(500))
    env.call(v, provider, request("APP-1"))
    env.call(v, provider, request("APP-2"))  # cache hit
    env.call(v, provider, request("APP-1", "C-2"))  # replay
    other = SUBJECT.model_copy(update={"id_number": "id-hash-2"})
    env.call(v, provider, request("APP-3", subject=other))  # 500: error, breaker opens
    env.call(v, provider, request("APP-4", subject=other))  # skipped
    totals = env.stats.totals["bureau"]
    assert totals["VendorCalls"] == 2 and totals["VendorCacheHits"] == 1 and totals["VendorReplays"] == 1
    assert totals["VendorErrors"] == 1 and totals["VendorSkipped"] == 1 and totals["VendorBreakerOpen"] == 1
    assert totals["VendorSpend"] == 3.0 and len(env.stats.latencies_ms["bureau"]) == 1
