"""Per-decision metrics: bounded dimensions within the stated budget, each rule once, no personal data."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from lendguard.decision import case_metrics as cm
from lendguard.decision.state import DecisionState, RuleTrace, Score, Subject, VendorCall


def _state(**app: object) -> DecisionState:
    return DecisionState(
        case_id="C-SECRET-1", application={"product": "revolving", "channel": "app", **app},
        received_at=datetime(2026, 1, 1, tzinfo=UTC),
        policy={"id": "p", "version": 1, "products": {"revolving": {}, "single": {}}},
        subject=Subject(id_number="110105199001011234", phone="13800000000", device_id="dev-1"),
    )  # fmt: skip


def _rule(rule_id: str, stage: str, outcome: str = "hit") -> RuleTrace:
    return RuleTrace(rule_id=rule_id, stage=stage, action="reject", params={}, observed={}, outcome=outcome)


def test_budget_is_within_the_stated_total() -> None:
    budget = cm.cardinality_budget()
    assert sum(budget.values()) <= cm.CARDINALITY_BUDGET
    assert budget["RuleHit"] == len(cm.SECTIONS) * (cm.MAX_RULE_IDS + 1)


def test_each_rule_counted_once_in_its_section() -> None:
    state = _state()
    state.trace.rules = [
        _rule("AGE", "admission"), _rule("INCOME", "admission", "no_hit"), _rule("FRAUD", "vendor:antifraud"),
        _rule("DTI", "post_model"), _rule("AGE", "admission"),
    ]  # fmt: skip
    hits = {p.dimensions: p.value for p in cm.case_metric_points(state, "DECIDED") if p.name == "RuleHit"}
    assert hits == {
        (("section", "admission"), ("rule_id", "AGE")): 1,
        (("section", "admission"), ("rule_id", "INCOME")): 0,
        (("section", "vendor_groups"), ("rule_id", "FRAUD")): 1,
        (("section", "post_model"), ("rule_id", "DTI")): 1,
    }


def test_unbounded_inputs_fall_into_other_and_stay_in_the_budget() -> None:
    state = _state(product="made-up", channel="carrier-pigeon")
    state.decision = "APPROVE"
    state.score = Score(model_id="m", model_version=1, pd=0.07, points=600, final_points=600)
    state.trace.rules = [_rule(f"R{i}", "admission", "hit") for i in range(200)]
    state.trace.vendors = [
        VendorCall(vendor=f"v{i}", group="g", service="s", status="error", error_type="timeout", cost=1.0)
        for i in range(30)
    ]
    points = cm.case_metric_points(state, "DECIDED", now=state.received_at + timedelta(milliseconds=1500))
    values: dict[str, set[tuple[tuple[str, str], ...]]] = {}
    for p in points:
        values.setdefault(p.name, set()).add(p.dimensions)
    budget = cm.cardinality_budget()
    assert set(values) <= set(budget)
    for name, dims in values.items():
        assert len(dims) <= budget[name]
    decisions = next(p for p in points if p.name == "CaseDecisions")
    assert dict(decisions.dimensions) == {"product": "other", "channel": "other", "outcome": "APPROVE"}
    band = next(p for p in points if p.name == "CaseScoreBand")
    assert dict(band.dimensions)["band"] == "pd0.05-0.10"
    rule_ids = {dict(p.dimensions)["rule_id"] for p in points if p.name == "RuleHit"}
    assert len(rule_ids) == cm.MAX_RULE_IDS + 1 and "other" in rule_ids
    assert next(p for p in points if p.name == "EndToEndLatency").value == pytest.approx(1500)
    assert sum(p.value for p in points if p.name == "VendorTimeout") == 30


def test_an_answer_without_any_fact_counts_as_empty() -> None:
    state = _state()
    state.trace.vendors = [
        VendorCall(vendor="bureau", group="g", service="s", status="ok"),
        VendorCall(vendor="telco", group="g", service="s", status="ok"),
    ]
    state.facts = {"bureau.open_loans": None, "bureau.thin_file": None, "telco.tenure": 12}
    empty = {
        dict(p.dimensions)["vendor"]: p.value
        for p in cm.case_metric_points(state, "DECIDED")
        if p.name == "VendorEmpty"
    }
    assert empty == {"bureau": 1, "telco": 0}


def test_no_personal_data_or_case_id_in_the_emitted_metrics(capsys: pytest.CaptureFixture[str]) -> None:
    state = _state()
    state.trace.rules = [_rule("AGE", "admission")]
    cm.publish_case_metrics("lendguard-test", cm.case_metric_points(state, "FAILED"))
    out = capsys.readouterr().out
    blobs = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert any("CaseDecisions" in b for b in blobs)
    for secret in ("C-SECRET-1", "110105199001011234", "13800000000", "dev-1"):
        assert secret not in out


@pytest.mark.parametrize(
    ("pd", "band"), [(None, "none"), (0.0, "pd<0.02"), (0.2, "pd0.20-0.30"), (0.9, "pd>=0.30")]
)
def test_score_bands(pd: float | None, band: str) -> None:
    assert cm.score_band(pd) == band
