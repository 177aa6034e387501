import copy
from datetime import UTC, datetime

import pytest

from lendguard.core.application import parse_application
from lendguard.core.hashing import LOCAL_SECRET, keyed_hash
from lendguard.decision import offer as pricing
from lendguard.decision.pipeline import MemoryLists, Pipeline
from lendguard.decision.stages.rules import apply_rules
from lendguard.lists.entries import ListHit
from lendguard.policy.schema import Rule
from lendguard.vendors.base import ProviderRegistry, VendorError

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


@pytest.fixture
def pipeline(default_policy, default_model):
    return Pipeline(default_policy, default_model, LOCAL_SECRET)


def decide(pipeline, raw):
    return pipeline.decide(parse_application(raw, pipeline.policy.products), "C-test", NOW)


def test_approve_has_an_offer_within_every_cap(pipeline, examples):
    state = decide(pipeline, examples["approve"])
    assert state.decision == "APPROVE"
    offer = state.offer
    assert offer.credit_limit <= min(5000, pipeline.policy.products["revolving"].max_amount)
    assert offer.credit_limit % pipeline.policy.limits.rounding == 0
    assert 0 < offer.apr <= pipeline.policy.pricing.apr_cap <= 0.36
    assert [s.stage for s in state.trace.stages] == [
        "validate", "admission", "lists", "internal_data", "external_data", "features", "scoring", "decision",
    ]  # fmt: skip
    # Every vendor on the path is billed but the black list, priced per hit, which did not hit:
    # liveness, identity, telco3, phone_status, face, fraud_score, bureau and the payout card.
    assert state.vendor_cost == pytest.approx(0.2 + 0.3 + 0.4 + 0.1 + 0.6 + 0.8 + 3.0 + 0.6)


def test_every_rule_is_traced_with_parameters_and_observed_values(pipeline, examples):
    state = decide(pipeline, examples["approve"])
    age = next(r for r in state.trace.rules if r.rule_id == "ADM_AGE")
    assert age.outcome == "no_hit"
    assert age.params == {"min_age": 22, "max_age": 55}
    assert age.observed == {"applicant.age": 35}
    traced = {r.rule_id for r in state.trace.rules}
    assert traced == {r.id for r in pipeline.policy.all_rules()}


def test_admission_reject_stops_before_any_vendor(pipeline, examples):
    state = decide(pipeline, examples["reject-admission"])
    assert state.decision == "REJECT" and state.halted_at == "admission"
    assert [r.code for r in state.reasons] == ["ADM_AGE"]
    assert state.trace.vendors == [] and state.vendor_cost == 0
    assert [s.stage for s in state.trace.stages][-1] == "admission"


def test_black_list_reject_stops_before_any_vendor(default_policy, default_model, examples):
    raw = examples["approve"]
    device_hash = keyed_hash("DEVICE_ID", raw["device"]["device_id"], LOCAL_SECRET)
    lists = MemoryLists({("BLACK", "DEVICE_ID", device_hash): ListHit(kind="BLACK", key_type="DEVICE_ID",
                                                                       reason_code="FRAUD_RING")})  # fmt: skip
    state = Pipeline(default_policy, default_model, LOCAL_SECRET, lookup=lists).decide(
        parse_application(raw), "C-black", NOW
    )
    assert state.decision == "REJECT" and state.halted_at == "lists"
    assert state.trace.vendors == [] and state.vendor_cost == 0
    (hit,) = state.trace.list_hits
    assert (hit["kind"], hit["key_type"], hit["reason_code"]) == ("BLACK", "DEVICE_ID", "FRAUD_RING")


def test_expired_list_entries_are_ignored(default_policy, default_model, examples):
    raw = examples["approve"]
    device_hash = keyed_hash("DEVICE_ID", raw["device"]["device_id"], LOCAL_SECRET)
    hit = ListHit(kind="BLACK", key_type="DEVICE_ID", reason_code="X", expires_at=int(NOW.timestamp()))
    state = Pipeline(default_policy, default_model, LOCAL_SECRET, lookup=MemoryLists(
        {("BLACK", "DEVICE_ID", device_hash): hit})).decide(parse_application(raw), "C", NOW)  # fmt: skip
    assert state.decision == "APPROVE"


def test_review_band_and_post_model_rule(pipeline, examples):
    state = decide(pipeline, examples["review"])
    assert state.decision == "REVIEW"
    assert state.reasons[0].code == "PM_HIGH_DTI"
    assert state.offer is not None  # the reviewer sees the offer that would be made


class _Broken:
    def __init__(self, vendor):
        self.vendor = vendor

    def fetch(self, subject, application):
        raise VendorError("HTTP 503 from bureau")


class _BrokenBureau(ProviderRegistry):
    def get(self, vendor):
        return _Broken(vendor) if vendor.id == "bureau" else super().get(vendor)


def test_vendor_failure_follows_each_rules_on_missing(default_policy, default_model, examples):
    state = Pipeline(default_policy, default_model, LOCAL_SECRET, providers=_BrokenBureau()).decide(
        parse_application(examples["approve"]), "C-broken", NOW
    )
    bureau_call = next(v for v in state.trace.vendors if v.vendor == "bureau")
    assert bureau_call.status == "error" and bureau_call.cost == 0 and "503" in bureau_call.detail
    by_id = {r.rule_id: r for r in state.trace.rules}
    assert by_id["BUR_UNAVAILABLE"].outcome == "hit" and by_id["BUR_UNAVAILABLE"].effect == "review"
    assert by_id["BUR_MULTI_LENDER_7D"].outcome == "missing" and by_id["BUR_MULTI_LENDER_7D"].effect == "none"
    # Every bureau input missing: the score may not reject, nor lend its (wrong) adverse factors.
    assert state.decision == "REVIEW"
    assert not state.score.reliable and "bureau.multi_lender_7d" in state.score.missing_inputs
    codes = [r.code for r in state.reasons]
    assert "SCORE_UNRELIABLE" in codes and not any(c.startswith("MODEL_") for c in codes)
    assert state.offer.apr == pipeline_apr_lowest_band(default_policy)


def pipeline_apr_lowest_band(policy):
    return policy.pricing.apr_by_score_band[0]


def test_on_missing_variants(pipeline, examples):
    state = decide(pipeline, examples["approve"])
    state.facts["x.value"] = None
    state.decision, state.halted, state.reasons, state.review_reasons = None, False, [], []

    def rule(on_missing, action="flag"):
        return Rule(id="R_" + on_missing.upper(), description="d", expression="x.value > 1", action=action,
                    reason="r", on_missing=on_missing)  # fmt: skip

    apply_rules(state, "post_model", [rule("skip"), rule("review")])
    assert [r.code for r in state.review_reasons] == ["R_REVIEW"] and not state.halted
    apply_rules(state, "post_model", [rule("hit")])
    assert "R_HIT" in state.flags
    apply_rules(state, "post_model", [rule("reject")])
    assert state.halted and state.reasons[0].code == "R_REJECT"
    assert "data unavailable" in state.reasons[0].message


def test_disabled_rule_is_traced_but_not_applied(default_policy, default_model, examples):
    policy = default_policy.model_copy(deep=True)
    raw = copy.deepcopy(examples["reject-admission"])
    data = policy.model_dump()
    data["admission"][0]["mandatory"] = False
    data["admission"][0]["enabled"] = False
    from lendguard.policy.loader import load_policy_data

    relaxed = load_policy_data(data)
    state = Pipeline(relaxed, default_model, LOCAL_SECRET).decide(parse_application(raw), "C", NOW)
    assert next(r for r in state.trace.rules if r.rule_id == "ADM_AGE").outcome == "disabled"
    assert state.halted_at != "admission"


def test_limit_is_bound_by_the_debt_to_income_ceiling(pipeline, examples):
    state = decide(pipeline, examples["approve"])
    state.facts["bureau.monthly_debt"] = 12000 * 0.5 - 50  # room for a 50/month instalment only
    offer, binding = pricing.make_offer(state, pipeline.policy, 700, NOW)
    assert offer is None and "debt-to-income ceiling" in binding
    state.facts["bureau.monthly_debt"] = 12000 * 0.5 - 500
    offer, binding = pricing.make_offer(state, pipeline.policy, 700, NOW)
    assert binding == "debt-to-income ceiling"
    assert pricing.annuity_payment(offer.credit_limit, offer.apr, offer.term_months) <= 500 + 1e-9


@pytest.mark.parametrize(("points", "band"), [(554.9, None), (555, 0), (579.99, 0), (580, 1), (700, 4)])
def test_score_bands(default_policy, points, band):
    assert pricing.band(default_policy.limits.score_bands, points) == band


def test_annuity_and_its_inverse_agree():
    payment = pricing.annuity_payment(10000, 0.18, 12)
    assert payment == pytest.approx(916.80, abs=0.01)
    assert pricing.max_principal(payment, 0.18, 12) == pytest.approx(10000)
    assert pricing.annuity_payment(1200, 0.0, 12) == 100
