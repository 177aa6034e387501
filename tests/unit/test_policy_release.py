"""Policy lifecycle rules, routing, semantic diff and test suites (pure: no AWS)."""

from __future__ import annotations

import copy
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from lendguard.core.errors import InvalidInput
from lendguard.core.hashing import LOCAL_SECRET
from lendguard.decision.suite import parse_suite, run_suite
from lendguard.lifecycle.experiments import report, wilson
from lendguard.policy import lifecycle
from lendguard.policy.diff import changes_offer, diff_policies
from lendguard.policy.lifecycle import Forbidden, PolicyVersion, ReleaseConfig, SuiteSummary
from lendguard.policy.loader import load_policy_data
from lendguard.policy.routing import Routing, bucket, parse_spec, resolve

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
SUITE = (ROOT / "policies" / "default.tests.yaml").read_text()


def routing(**spec) -> Routing:
    return Routing(
        **parse_spec(spec).model_dump(), policy_id="default", revision=1, changed_by="c", changed_at=NOW
    )


# ---- routing -------------------------------------------------------------------------------------
def test_bucket_is_stable_per_person_and_reshuffled_per_experiment():
    assert bucket("e1", "hash-a") == bucket("e1", "hash-a")
    people = [f"h{i}" for i in range(2000)]
    assert sum(bucket("e1", p) == bucket("e2", p) for p in people) < 20


def test_arms_split_traffic_by_their_percentages():
    r = routing(champion=1, experiment="e", arms=[{"name": "a", "version": 1, "percent": 25},
                                                  {"name": "b", "version": 2, "percent": 75}])  # fmt: skip
    counts = Counter(resolve(r, {}, f"subject-{i}").arm for i in range(8000))
    assert abs(counts["a"] / 8000 - 0.25) < 0.02 and counts["a"] + counts["b"] == 8000


def test_conditions_come_before_arms_and_the_champion():
    r = routing(
        champion=1, conditions=[{"name": "web", "when": 'application.channel == "web"', "version": 3}]
    )
    assert resolve(r, {"application.channel": "web"}, "x").version == 3
    pin = resolve(r, {"application.channel": "app"}, "x")
    assert (pin.version, pin.arm, pin.routing_revision) == (1, "champion", 1)
    assert resolve(r, {}, "x").version == 1  # a missing fact matches no condition


@pytest.mark.parametrize(
    ("spec", "field", "text"),
    [
        ({"champion": 1, "experiment": "e", "arms": [{"name": "a", "version": 1, "percent": 50},
                                                     {"name": "b", "version": 2, "percent": 49.99}]}, "arms", "99.99"),
        ({"champion": 1, "arms": [{"name": "a", "version": 1, "percent": 100}]}, "experiment", "experiment name"),
        ({"champion": 1, "conditions": [{"name": "a", "when": "application.requested_amount >= 5000", "version": 2},
                                        {"name": "b", "when": "application.requested_amount > 3000 and "
                                                              "application.requested_amount < 5001", "version": 3}]},
         "conditions.1.when", "overlaps route a"),
        ({"champion": 1, "conditions": [{"name": "a", "when": 'application.product in ["single"]', "version": 2},
                                        {"name": "b", "when": 'application.product != "revolving"', "version": 3}]},
         "conditions.1.when", "overlaps"),
        ({"champion": 1, "conditions": [{"name": "a", "when": "lists.black.any", "version": 2}]},
         "conditions.0.when", "application facts"),
        ({"champion": 1, "conditions": [{"name": "a", "when": "application.channel ==", "version": 2}]},
         "conditions.0.when", ""),
        ({"champion": 1, "shadows": [1]}, "shadows.0", "already decides"),
        ({"champion": 1, "colour": "red"}, "colour", "unknown field"),
    ],
)  # fmt: skip
def test_bad_routings_name_the_field(spec, field, text):
    with pytest.raises(InvalidInput) as exc:
        parse_spec(spec)
    found = {d.field: d.message for d in exc.value.details}
    assert field in found and text in found[field], found


def test_disjoint_conditions_are_accepted():
    spec = parse_spec({"champion": 1, "conditions": [
        {"name": "small", "when": "application.requested_amount < 3000", "version": 2},
        {"name": "large", "when": "application.requested_amount >= 3000 and application.channel == \"web\"", "version": 3},
        {"name": "single", "when": "application.requested_amount >= 3000 and application.channel != \"web\"", "version": 4},
    ]})  # fmt: skip
    assert len(spec.conditions) == 3


# ---- lifecycle -----------------------------------------------------------------------------------
def version(status: str = "DRAFT", author: str = "alice") -> PolicyVersion:
    return PolicyVersion(policy_id="default", version=2, status=status, content_hash="h", body_key="k",
                         author=author, created_at=NOW)  # fmt: skip


GREEN = SuiteSummary(cases=3, passed=3, digest="d")


def evidence(delta: float = 0.0) -> lifecycle.Evidence:
    side = lifecycle.OutcomeFigures(approval_rate=0.5, bad_rate=0.05, vendor_spend_per_1000=1000)
    return lifecycle.Evidence(digest="d", data="x", rows=10, baseline=lifecycle.PolicyRef(id="default", version=1),
                              candidate=side.model_copy(update={"approval_rate": 0.5 + delta}), champion=side)  # fmt: skip


def test_submit_needs_a_green_suite():
    red = SuiteSummary(cases=3, passed=2, failed=["x"], uncovered=["ADM_AGE"], digest="d")
    with pytest.raises(InvalidInput) as exc:
        lifecycle.submit(version(), "alice", NOW, red, evidence())
    assert [d.message for d in exc.value.details] == ["case x fails", "rule ADM_AGE is not covered"]
    assert lifecycle.submit(version(), "alice", NOW, GREEN, evidence()).status == "PENDING_APPROVAL"


def test_approval_is_maker_checker_and_within_bands_or_overridden():
    pending = lifecycle.submit(version(), "alice", NOW, GREEN, evidence(0.2))
    config = ReleaseConfig(approvers=["bob", "alice"])
    with pytest.raises(Forbidden):
        lifecycle.approve(pending, "alice", NOW, config, ("default", 1), "mine")
    with pytest.raises(Forbidden):
        lifecycle.approve(pending, "mallory", NOW, config, ("default", 1), "not an approver")
    with pytest.raises(InvalidInput) as exc:
        lifecycle.approve(pending, "bob", NOW, config, ("default", 1), "ok")
    assert exc.value.details[0].field == "evidence.approval_rate"
    with pytest.raises(InvalidInput) as exc:
        lifecycle.approve(pending, "bob", NOW, config, ("default", 3), "ok", "override")
    assert exc.value.details[0].field == "evidence.baseline"  # the champion moved since the backtest
    approved = lifecycle.approve(pending, "bob", NOW, config, ("default", 1), "ok", "seasonal")
    assert approved.status == "APPROVED" and approved.approval.override_reason == "seasonal"
    inside = lifecycle.submit(version(), "alice", NOW, GREEN, evidence(0.01))
    clean = lifecycle.approve(inside, "bob", NOW, config, ("default", 1), "ok", "not needed")
    assert clean.approval.override_reason is None and all(c.within for c in clean.approval.checks)


def test_band_checks_cover_bad_rate_and_vendor_spend():
    e = evidence()
    e.candidate.bad_rate, e.candidate.vendor_spend_per_1000 = 0.08, 1200
    checks = {c.figure: c for c in lifecycle.check_bands(e, lifecycle.ReleaseBands())}
    assert not checks["bad_rate"].within and checks["bad_rate"].change == pytest.approx(0.03)
    assert not checks["vendor_spend"].within and checks["vendor_spend"].change == pytest.approx(0.2)
    e.candidate.bad_rate = None
    assert "bad_rate" not in {c.figure for c in lifecycle.check_bands(e, lifecycle.ReleaseBands())}


def test_evidence_schema_errors_name_the_field():
    with pytest.raises(InvalidInput) as exc:
        lifecycle.parse_evidence({"policy": {"id": "default", "version": 2}, "rows": 0})
    fields = {d.field for d in exc.value.details}
    assert {
        "evidence.rows",
        "evidence.baseline",
        "evidence.candidate",
        "evidence.champion",
        "evidence.data",
    } <= fields


# ---- diff ----------------------------------------------------------------------------------------
def test_diff_is_semantic_and_covers_every_section(default_policy):
    doc = default_policy.model_dump(mode="json")
    new = copy.deepcopy(doc)
    new["version"] = 2
    bureau = next(g for g in new["vendor_groups"] if g["id"] == "bureau")
    bureau["rules"][3]["params"]["max_days"] = 90
    bureau["rules"][6]["enabled"] = False
    new["vendors"].reverse()
    new["pricing"]["apr_by_score_band"][4] = 0.13
    new["scoring"]["model"]["version"] = 2
    new["extra"] = {"ticket": "RISK-1"}
    new["features"].append({"name": "income_k", "expression": "applicant.monthly_income / 1000"})
    changes = {(c.path, c.kind) for c in diff_policies(default_policy, load_policy_data(new)).changes}
    assert changes == {
        ("vendors", "reordered"),
        ("vendor_groups[bureau].rules[BUR_SEVERE_DELINQUENCY].params.max_days", "changed"),
        ("vendor_groups[bureau].rules[BUR_THIN_FILE].enabled", "switched_off"),
        ("features[income_k]", "added"),
        ("scoring.model.version", "changed"),
        ("pricing.apr_by_score_band[4]", "changed"),
        ("extra.ticket", "added"),
    }
    assert diff_policies(default_policy, load_policy_data(yaml.safe_load(yaml.safe_dump(doc)))).changes == []
    assert changes_offer(diff_policies(default_policy, load_policy_data(new)))


# ---- suites --------------------------------------------------------------------------------------
def test_default_suite_passes_and_covers_every_rule(default_policy, default_model):
    result = run_suite(default_policy, default_model, parse_suite(SUITE), LOCAL_SECRET)
    assert result.failed == [] and result.uncovered == [] and result.green
    assert {c.rule_id for c in result.coverage} == {r.id for r in default_policy.all_rules()}


def test_a_changed_threshold_fails_the_suite_and_a_dropped_case_uncovers_its_rule(
    default_policy, default_model
):
    doc = default_policy.model_dump(mode="json")
    next(g for g in doc["vendor_groups"] if g["id"] == "bureau")["rules"][1]["params"]["max_7d"] = 6
    stricter = load_policy_data(doc)
    result = run_suite(stricter, default_model, parse_suite(SUITE), LOCAL_SECRET)
    assert result.failed == ["loan-stacking-7d"]
    suite = parse_suite(SUITE)
    suite.cases = [c for c in suite.cases if c.name != "student"]
    assert run_suite(default_policy, default_model, suite, LOCAL_SECRET).uncovered == ["ADM_EMPLOYMENT"]


def test_malformed_suites_name_the_case_and_field(default_policy, default_model):
    with pytest.raises(InvalidInput) as exc:
        parse_suite("cases: [{name: x, expect: {decision: MAYBE}}]")
    assert exc.value.details[0].field == "tests.cases.0.expect.decision"
    suite = parse_suite(SUITE.replace("fraud_score: {score: 90}", "fraud_score: {score: 90, colour: red}"))
    with pytest.raises(InvalidInput) as exc:
        run_suite(default_policy, default_model, suite, LOCAL_SECRET)
    assert (
        exc.value.details[0].field.endswith("vendors.fraud_score")
        and "colour" in exc.value.details[0].message
    )


# ---- experiments ---------------------------------------------------------------------------------
def test_wilson_interval():
    ci = wilson(10, 100)
    assert ci.low == pytest.approx(0.0552, abs=1e-3) and ci.high == pytest.approx(0.1744, abs=1e-3)
    assert wilson(0, 0) is None


def test_experiment_report_groups_cases_by_arm():
    from lendguard.cases.record import CaseRecord

    def case(i: int, arm: str, version: int, decision: str) -> CaseRecord:
        return CaseRecord(case_id=f"C{i}", application_id=f"A{i}", status="DECIDED", decision=decision,
                          created_at=NOW, vendor_cost=2.0, policy={"id": "default", "version": version,
                                                                   "arm": arm, "experiment": "e"})  # fmt: skip

    cases = [case(1, "a", 1, "APPROVE"), case(2, "a", 1, "REJECT"), case(3, "b", 2, "APPROVE")]
    out = report("default", cases, bad={"C1": True, "C3": False})
    a, b = out.arms
    assert (a.arm, a.cases, a.approval_rate, a.bad, a.labelled) == ("a", 2, 0.5, 1, 1)
    assert (b.arm, b.bad_rate, out.cases) == ("b", 0.0, 3)
    assert report("default", cases).note and report("other", cases).arms == []


# ---- shadows -------------------------------------------------------------------------------------
def test_a_shadow_decides_on_the_champions_data_without_calling_vendors(
    default_policy, default_model, examples
):
    from lendguard.core.application import parse_application
    from lendguard.decision.pipeline import Pipeline
    from lendguard.lifecycle.shadows import run_shadow

    state = Pipeline(default_policy, default_model, LOCAL_SECRET).decide(parse_application(examples["approve"]), "C-1", NOW)  # fmt: skip
    assert state.decision == "APPROVE"
    same = run_shadow(state, default_policy, default_model, LOCAL_SECRET)
    assert (same.decision, same.credit_limit, same.not_bought) == ("APPROVE", state.offer.credit_limit, [])
    assert same.points == pytest.approx(state.score.final_points)
    doc = default_policy.model_dump(mode="json")
    doc["version"] = 5
    doc["admission"][1]["params"]["min_income"] = 20000
    strict = run_shadow(state, load_policy_data(doc), default_model, LOCAL_SECRET)
    assert (strict.decision, strict.reasons, strict.policy) == ("REJECT", ["ADM_MIN_INCOME"], {"id": "default", "version": 5})  # fmt: skip
    doc = default_policy.model_dump(mode="json")
    doc["vendors"].append({"id": "telco", "service": "telco_check", "cost": 0.5})
    doc["vendor_groups"].insert(0, {"id": "telco", "vendors": ["telco"], "rules": [{
        "id": "TEL_MISMATCH", "description": "d", "expression": "not telco.three_element_match",
        "action": "reject", "reason": "r", "on_missing": "review"}]})  # fmt: skip
    wider = run_shadow(state, load_policy_data(doc), default_model, LOCAL_SECRET)
    assert wider.not_bought == ["vendor telco"] and wider.decision == "REVIEW"
