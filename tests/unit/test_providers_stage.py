"""The external_data stage: concurrency within a group, the cost funnel, missing data per rule."""

import copy
import time
from datetime import UTC, datetime

import pytest
import yaml

from lendguard.core.application import parse_application
from lendguard.core.hashing import LOCAL_SECRET
from lendguard.core.vendor_responses import FraudBlacklist, IdentityCheck
from lendguard.decision.pipeline import MemoryArchive
from lendguard.decision.stages import external_data, validate
from lendguard.offline.project import default_policy_path
from lendguard.policy.loader import load_policy_data
from lendguard.vendors.base import ProviderRegistry
from lendguard.vendors.cache import MemoryVendorCache
from lendguard.vendors.metrics import VendorStats

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
# The stage's mechanics on the default policy's core groups (identity, anti-fraud, bureau); the
# identity-check groups (liveness, telco, face, payout card) are tested in test_kyc_vendors.py.
CORE_GROUPS = ("identity", "antifraud", "bureau")
BASE = yaml.safe_load((default_policy_path()).read_text())
BASE["vendor_groups"] = [g for g in BASE["vendor_groups"] if g["id"] in CORE_GROUPS]


def policy_with(faults: dict[str, dict] | None = None, **vendor_settings: dict):
    data = copy.deepcopy(BASE)
    for v in data["vendors"]:
        if faults and v["id"] in faults:
            v["faults"] = faults[v["id"]]
        v.update(vendor_settings.get(v["id"], {}))
    return load_policy_data(data)


@pytest.fixture
def default_policy():
    return policy_with()


def open_state(policy, raw, case_id="C-1"):
    return validate.open_case(parse_application(raw, policy.products), policy, case_id, NOW, LOCAL_SECRET)


def run(policy, raw, registry=None, cache=None, case_id="C-1"):
    state = open_state(policy, raw, case_id)
    state.facts["lists.white.any"] = False
    registry = registry or ProviderRegistry(sleep=lambda s: None)
    return external_data.run(state, policy, registry, MemoryArchive(), cache=cache)


class Fixed:
    """A provider with a fixed answer."""

    def __init__(self, response):
        self.response, self.calls = response, 0

    def fetch(self, subject, application):
        self.calls += 1
        return self.response, self.response.model_dump_json().encode()


def test_vendors_of_a_group_are_called_concurrently(examples, default_policy):
    policy = policy_with({"fraud_blacklist": {"latency_ms": 200}, "fraud_score": {"latency_ms": 200}})
    registry = ProviderRegistry()
    state = open_state(policy, examples["approve"])
    state.facts["lists.white.any"] = False
    one_group = policy.model_copy(update={"vendor_groups": [policy.vendor_groups[1]]})
    started = time.perf_counter()
    external_data.run(state, one_group, registry, MemoryArchive())
    elapsed = time.perf_counter() - started
    assert [v.vendor for v in state.trace.vendors] == ["fraud_blacklist", "fraud_score"]
    assert all(v.status == "ok" and v.latency_ms >= 195 for v in state.trace.vendors)
    assert 0.19 <= elapsed < 0.36, elapsed  # one vendor's latency, not the sum of both (0.4 s)


def test_the_trace_keeps_policy_order_whoever_answers_first(examples):
    policy = policy_with({"fraud_blacklist": {"latency_ms": 150}})  # the first vendor is the slow one
    state = run(policy, examples["approve"])
    assert [v.vendor for v in state.trace.vendors] == ["identity", "fraud_blacklist", "fraud_score", "bureau"]
    assert state.vendor_cost == pytest.approx(sum(v.cost for v in state.trace.vendors))


def test_a_group_that_rejects_stops_the_funnel_before_the_next_group_is_paid(examples, default_policy):
    registry = ProviderRegistry()
    registry.register("identity", Fixed(IdentityCheck(match=False, name_match=False)))
    state = run(default_policy, examples["approve"], registry)
    assert state.halted and state.halted_at == "vendor:identity"
    assert [v.vendor for v in state.trace.vendors] == ["identity"] and state.vendor_cost == 0.3
    registry.register("identity", Fixed(IdentityCheck(match=True, name_match=True)))
    registry.register("fraud_blacklist", Fixed(FraudBlacklist(hit=True, hit_type="fraud_ring")))
    state = run(default_policy, examples["approve"], registry)
    assert state.halted_at == "vendor:antifraud" and [v.vendor for v in state.trace.vendors] == [
        "identity", "fraud_blacklist", "fraud_score",
    ]  # fmt: skip
    assert state.vendor_cost == pytest.approx(0.3 + 1.5 + 0.8)  # a black-list hit is billed


def rule(state, rule_id):
    return next(r for r in state.trace.rules if r.rule_id == rule_id)


def test_missing_data_follows_each_rules_on_missing_and_the_trace_shows_it(examples):
    policy = policy_with(
        {
            "identity": {"error_rate": 1.0},
            "fraud_blacklist": {"error_rate": 1.0},
            "fraud_score": {"malformed_rate": 1.0},
        }
    )
    state = run(policy, examples["approve"])
    calls = {v.vendor: v for v in state.trace.vendors}
    assert calls["identity"].status == "error" and calls["identity"].error_type == "http_5xx"
    assert calls["fraud_score"].error_type == "malformed" and calls["bureau"].status == "ok"
    assert state.facts["identity.match"] is None and state.facts["fraud_score.score"] is None
    idv = rule(state, "IDV_MISMATCH")  # on_missing: review
    assert (idv.outcome, idv.on_missing, idv.effect) == ("missing", "review", "review")
    blacklist = rule(state, "AF_BLACKLIST")  # on_missing: skip
    assert (blacklist.outcome, blacklist.on_missing, blacklist.effect) == ("missing", "skip", "none")
    high = rule(state, "AF_SCORE_HIGH")  # on_missing: review
    assert (high.outcome, high.on_missing, high.effect) == ("missing", "review", "review")
    assert high.observed == {"fraud_score.score": None}
    assert not state.halted and {r.code for r in state.review_reasons} >= {"IDV_MISMATCH", "AF_SCORE_HIGH"}
    assert any("data unavailable" in r.message for r in state.review_reasons)
    assert state.vendor_cost == 3.0  # failed vendors cost nothing


def test_on_missing_reject_rejects_and_stops_the_funnel(examples):
    data = copy.deepcopy(BASE)
    data["vendor_groups"][0]["rules"][0]["on_missing"] = "reject"
    data["vendors"][0]["faults"] = {"error_rate": 1.0}
    state = run(load_policy_data(data), examples["approve"])
    idv = rule(state, "IDV_MISMATCH")
    assert (idv.outcome, idv.on_missing, idv.effect) == ("missing", "reject", "reject")
    assert state.halted_at == "vendor:identity" and len(state.trace.vendors) == 1


def test_no_consent_skips_the_vendor_and_its_rules_see_missing_data(examples, default_policy):
    raw = copy.deepcopy(examples["approve"])
    del raw["consents"]["bureau"]
    state = run(default_policy, raw)
    bureau = state.trace.vendors[-1]
    assert (
        bureau.status == "skipped"
        and bureau.error_type == "no_consent"
        and bureau.detail == "no bureau consent"
    )
    assert rule(state, "BUR_UNAVAILABLE").effect == "review"  # is_missing(bureau.thin_file)


def test_a_card_check_without_a_payout_card_is_skipped_and_its_rule_sees_missing_data(examples):
    data = copy.deepcopy(BASE)
    data["vendors"].append(
        {"id": "card", "service": "bank_card_check", "pricing": "per_query", "cost": 0.5, "timeout_ms": 800}
    )
    data["vendor_groups"][0]["vendors"].append("card")
    data["vendor_groups"][0]["rules"].append(
        {"id": "CARD_MISMATCH", "description": "Card, name, ID and phone disagree at the bank",
         "expression": "not card.match", "action": "review", "reason": "Payout card not verified",
         "on_missing": "review"}
    )  # fmt: skip
    policy = load_policy_data(data)
    with_card = run(policy, examples["approve"])
    card = next(v for v in with_card.trace.vendors if v.vendor == "card")
    assert card.status == "ok" and card.cost == 0.5 and with_card.facts["card.match"] is not None

    without = copy.deepcopy(examples["approve"])
    del without["applicant"]["bank_card"]
    state = run(policy, without)
    card = next(v for v in state.trace.vendors if v.vendor == "card")
    assert (card.status, card.error_type, card.detail, card.cost) == (
        "skipped", "no_identifier", "the application has no bank_card", 0.0
    )  # fmt: skip
    assert state.facts["card.match"] is None
    assert (rule(state, "CARD_MISMATCH").outcome, rule(state, "CARD_MISMATCH").effect) == (
        "missing",
        "review",
    )
    assert state.vendor_cost == round(with_card.vendor_cost - 0.5, 6)


def test_an_open_breaker_skips_the_vendor_with_its_reason(examples):
    policy = policy_with(
        {"bureau": {"error_rate": 1.0}}, bureau={"retries": 0, "breaker": {"failure_threshold": 1}}
    )
    registry = ProviderRegistry(sleep=lambda s: None)
    run(policy, examples["approve"], registry)
    state = run(policy, examples["approve"], registry, case_id="C-2")
    bureau = state.trace.vendors[-1]
    assert bureau.status == "skipped" and bureau.error_type == "circuit_open"
    assert bureau.detail.startswith("circuit open after 1 consecutive failures")
    assert rule(state, "BUR_UNAVAILABLE").effect == "review"


def test_a_replayed_application_pays_nothing_the_second_time(examples, default_policy):
    registry, cache = ProviderRegistry(metrics=VendorStats()), MemoryVendorCache()
    first = run(default_policy, examples["approve"], registry, cache, "C-1")
    second = run(default_policy, examples["approve"], registry, cache, "C-2")
    assert first.vendor_cost == pytest.approx(4.1) and second.vendor_cost == 0
    assert all(v.replayed and v.source_case_id == "C-1" for v in second.trace.vendors)
    assert {k: v for k, v in second.facts.items() if "." in k} == {
        k: v for k, v in first.facts.items() if "." in k
    }
    totals = registry.metrics.totals
    assert totals["bureau"]["VendorCalls"] == 1 and totals["bureau"]["VendorReplays"] == 1
    assert totals["bureau"]["VendorSpend"] == 3.0


def test_white_listed_applicants_skip_groups_marked_so(examples):
    data = copy.deepcopy(BASE)
    data["vendor_groups"][1]["skip_if_white"] = True
    policy = load_policy_data(data)
    state = open_state(policy, examples["approve"])
    state.facts["lists.white.any"] = True
    external_data.run(state, policy, ProviderRegistry(), MemoryArchive())
    skipped = [v for v in state.trace.vendors if v.group == "antifraud"]
    assert [v.status for v in skipped] == ["skipped", "skipped"] and state.facts["fraud_score.score"] is None


def test_a_rule_can_default_missing_vendor_data_with_coalesce(examples):
    data = copy.deepcopy(BASE)
    high = data["vendor_groups"][1]["rules"][1]
    assert high["id"] == "AF_SCORE_HIGH"
    high["expression"] = "coalesce(fraud_score.score, default_score) >= reject_at"
    high["params"] = {"reject_at": 85, "default_score": 90}  # fail closed: an unscored applicant is rejected
    data["vendors"][2]["faults"] = {"error_rate": 1.0}
    state = run(load_policy_data(data), examples["approve"])
    entry = rule(state, "AF_SCORE_HIGH")
    assert entry.observed == {"fraud_score.score": None} and entry.params["default_score"] == 90
    assert (entry.outcome, entry.effect) == ("hit", "reject") and state.halted_at == "vendor:antifraud"


def test_a_card_check_without_bank_card_consent_is_skipped_as_no_consent(examples):
    data = copy.deepcopy(BASE)
    data["vendors"].append({"id": "card", "service": "bank_card_check", "cost": 0.5, "timeout_ms": 800})
    data["vendor_groups"][0]["vendors"].append("card")
    policy = load_policy_data(data)
    raw = copy.deepcopy(examples["approve"])
    del raw["consents"]["bank_card"]
    state = run(policy, raw)
    card = next(v for v in state.trace.vendors if v.vendor == "card")
    assert (card.status, card.error_type, card.cost) == ("skipped", "no_consent", 0.0)
    assert state.facts["card.match"] is None
