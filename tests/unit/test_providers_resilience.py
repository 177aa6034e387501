"""Circuit breaker states, full-jitter backoff bounds, and the attempt timeout."""

import random
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lendguard.vendors.errors import VendorTimeout
from lendguard.vendors.resilience import CircuitBreaker, backoff_delay_s, run_with_timeout


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_breaker_opens_after_n_consecutive_failures_and_a_success_resets_the_count():
    clock = Clock()
    breaker = CircuitBreaker(3, 10.0, clock)
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()  # not consecutive any more
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state == "closed" and breaker.allow().allowed
    breaker.record_failure()
    assert breaker.state == "open"
    gate = breaker.allow()
    assert not gate.allowed
    assert gate.reason == "circuit open after 3 consecutive failures; retry in 10.0 s"


def test_half_open_admits_one_trial_whose_result_closes_or_reopens():
    clock = Clock()
    breaker = CircuitBreaker(1, 5.0, clock)
    breaker.record_failure()
    clock.now += 4.9
    assert not breaker.allow().allowed
    clock.now += 0.2
    assert breaker.state == "half_open"
    assert breaker.allow().allowed  # the trial
    second = breaker.allow()
    assert not second.allowed and "half-open trial is in flight" in second.reason
    breaker.record_failure()  # the trial failed: open for another cool-down
    assert breaker.state == "open"
    clock.now += 5.0
    assert breaker.allow().allowed
    breaker.record_success()
    assert breaker.state == "closed" and breaker.consecutive_failures == 0
    assert breaker.allow().allowed and breaker.allow().allowed


def test_breaker_rejects_nonsense_settings():
    with pytest.raises(ValueError):
        CircuitBreaker(0, 1.0)
    with pytest.raises(ValueError):
        CircuitBreaker(1, 0.0)


@given(
    retry=st.integers(1, 8),
    base=st.integers(0, 5000),
    cap=st.integers(0, 10000),
    seed=st.integers(0, 2**32),
)
def test_full_jitter_stays_within_zero_and_the_capped_exponential(retry, base, cap, seed):
    delay = backoff_delay_s(retry, base, cap, random.Random(seed))
    assert 0 <= delay <= min(cap, base * 2 ** (retry - 1)) / 1000 + 1e-12


def test_full_jitter_spreads_over_the_whole_range():
    rng = random.Random(1)
    delays = [backoff_delay_s(3, 100, 10_000, rng) for _ in range(2000)]
    assert max(delays) <= 0.4 and min(delays) < 0.02 and 0.17 < sum(delays) / len(delays) < 0.23


def test_run_with_timeout_returns_or_gives_up_on_time():
    assert run_with_timeout(lambda: 42, 1.0, "v") == 42
    started = time.perf_counter()
    with pytest.raises(VendorTimeout, match="no answer within 50 ms"):
        run_with_timeout(lambda: time.sleep(0.5), 0.05, "vendor v")
    assert time.perf_counter() - started < 0.4
