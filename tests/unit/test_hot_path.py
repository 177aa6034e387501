"""The in-process hot path keeps its results while dropping its waste (issue 19).

Nothing here is timed: the speed is bench/decision.py's; these tests pin what must not change.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from lendguard.core.application import parse_application
from lendguard.core.hashing import LOCAL_SECRET
from lendguard.core.vendor_responses import FraudBlacklist, FraudScore
from lendguard.decision.pipeline import MemoryArchive
from lendguard.decision.stages import external_data, validate
from lendguard.decision.stages.rules import _rule_entry
from lendguard.decision.state import RuleTrace
from lendguard.vendors.base import ProviderRegistry

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


class Recording:
    """A provider that notes the thread it ran on; ``self_timed`` marks it in-process."""

    def __init__(self, response, self_timed: bool, barrier: threading.Barrier | None = None) -> None:
        self.response, self.threads = response, []
        self.barrier = barrier
        if self_timed:
            self.self_timed = True

    def fetch(self, subject, application):
        self.threads.append(threading.current_thread())
        if self.barrier is not None:
            self.barrier.wait(timeout=5)  # both vendors of the group must be running at once
        return self.response, self.response.model_dump_json().encode()


def _fraud_group(policy, examples, registry: ProviderRegistry):
    state = validate.open_case(
        parse_application(examples["approve"], policy.products), policy, "C-1", NOW, LOCAL_SECRET
    )
    state.facts["lists.white.any"] = False
    (fraud,) = [g for g in policy.vendor_groups if set(g.vendors) == {"fraud_blacklist", "fraud_score"}]
    one_group = policy.model_copy(update={"vendor_groups": [fraud]})
    return external_data.run(state, one_group, registry, MemoryArchive())


def test_in_process_vendors_run_on_the_calling_thread(examples, default_policy):
    registry = ProviderRegistry()
    blacklist = Recording(FraudBlacklist(hit=False), self_timed=True)
    score = Recording(FraudScore(score=5), self_timed=True)
    registry.register("fraud_blacklist", blacklist)
    registry.register("fraud_score", score)
    state = _fraud_group(default_policy, examples, registry)
    assert [v.status for v in state.trace.vendors] == ["ok", "ok"]
    assert blacklist.threads == score.threads == [threading.current_thread()]


def test_network_vendors_still_overlap_and_the_caller_runs_one_of_them(examples, default_policy, monkeypatch):
    submitted: list[str] = []
    submit = external_data._GROUP_POOL.submit
    monkeypatch.setattr(
        external_data._GROUP_POOL,
        "submit",
        lambda fn, vendor, *a: submitted.append(vendor.id) or submit(fn, vendor, *a),
    )
    barrier = threading.Barrier(2)  # deadlocks (and times out) unless both fetches run together
    registry = ProviderRegistry()
    blacklist = Recording(FraudBlacklist(hit=False), self_timed=False, barrier=barrier)
    score = Recording(FraudScore(score=5), self_timed=False, barrier=barrier)
    registry.register("fraud_blacklist", blacklist)
    registry.register("fraud_score", score)
    state = _fraud_group(default_policy, examples, registry)
    assert [v.vendor for v in state.trace.vendors] == ["fraud_blacklist", "fraud_score"]
    assert [v.status for v in state.trace.vendors] == ["ok", "ok"]
    assert len({*blacklist.threads, *score.threads}) == 2  # they ran at once (the barrier let them by)
    assert submitted == ["fraud_blacklist"]  # the group's last network vendor is this thread's


def test_a_rule_entry_is_the_model_construct_entry():
    fields = {"rule_id": "R1", "stage": "admission", "action": "reject", "params": {"min": 18},
              "observed": {"applicant.age": 17}, "outcome": "no_hit"}  # fmt: skip
    fast = _rule_entry({**fields, "effect": "none", "on_missing": None, "points": None})
    slow = RuleTrace.model_construct(**fields)
    assert fast == slow
    assert fast.model_fields_set == slow.model_fields_set
    assert fast.model_dump_json() == slow.model_dump_json()
    assert fast.model_dump(exclude_unset=True) == slow.model_dump(exclude_unset=True)
    fast.outcome, slow.outcome = "hit", "hit"
    fast.effect, slow.effect = "reject", "reject"
    assert fast.model_dump_json() == slow.model_dump_json()
    assert RuleTrace.model_validate(fast.model_dump()) == fast


def test_a_cached_policy_vendor_keeps_its_adapter(default_policy):
    registry = ProviderRegistry()
    vendor = default_policy.vendors[0]
    assert registry.get(vendor) is registry.get(vendor)
    changed = vendor.model_copy(update={"timeout_ms": vendor.timeout_ms + 1})
    assert registry.get(changed) is not registry.get(vendor)  # a changed configuration: a new adapter
