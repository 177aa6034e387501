"""The stage registry is the single source of the flow: the ASL, wiring, pipeline and metrics follow it."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import pytest

from lendguard import deployment
from lendguard.core.stages import BY_NAME, FAILURE_STATE, FINALIZE_STATE, STAGE_NAMES, STAGES, section_of
from lendguard.decision.state import DecisionState, RuleTrace, Subject
from lendguard.decision.telemetry import stage_metrics
from lendguard.offline import project


def _task_function_key(state: dict) -> str:
    """``${AdmissionFunctionArn}`` → ``AdmissionFunctionArn``."""
    name = state["Parameters"]["FunctionName"]
    assert name.startswith("${") and name.endswith("}"), name
    return name[2:-1]


@pytest.fixture(scope="module")
def asl() -> dict:
    return json.loads(project.definition_path(deployment.DECISION_STATE_MACHINE).read_text())


def test_the_asl_runs_the_registered_stages_in_order(asl):
    states = asl["States"]
    assert asl["StartAt"] == STAGES[0].state
    functions = {spec.name: spec.substitution for spec in deployment.DECISION_FUNCTIONS}
    tasks = [n for n, s in states.items() if s["Type"] == "Task" and n not in (FINALIZE_STATE, FAILURE_STATE)]
    assert tasks == [s.state for s in STAGES]
    for stage, following in zip(STAGES, [*STAGES[1:], None], strict=True):
        task = states[stage.state]
        assert _task_function_key(task) == functions[stage.name]
        after = following.state if following else FINALIZE_STATE
        if stage.may_reject:
            choice = states[task["Next"]]
            assert task["Next"] == stage.choice and choice["Type"] == "Choice"
            assert choice["Default"] == after
            assert {c["Next"] for c in choice["Choices"]} == {FINALIZE_STATE}
        else:
            assert task["Next"] == after
    choices = {n for n, s in states.items() if s["Type"] == "Choice"}
    assert choices == {s.choice for s in STAGES if s.may_reject}


def test_every_stage_has_a_function_and_a_runner():
    from lendguard.decision.wiring import STAGE_RUNNERS

    assert tuple(STAGE_RUNNERS) == STAGE_NAMES
    assert [f.name for f in deployment.DECISION_FUNCTIONS[: len(STAGES)]] == list(STAGE_NAMES)
    for name in STAGE_NAMES:
        handler = (project.functions_dir() / name / "handler.py").read_text()
        assert f'stage_handler("{name}")' in handler


def test_an_unknown_stage_has_no_handler():
    from lendguard.decision.handlers import stage_handler

    with pytest.raises(ValueError, match="unknown stage 'bureau'"):
        stage_handler("bureau")


def test_the_pipeline_runs_the_registry_order(default_policy, default_model, examples):
    from lendguard.core.application import parse_application
    from lendguard.core.hashing import LOCAL_SECRET
    from lendguard.decision.pipeline import Pipeline

    app = parse_application(examples["review"], default_policy.products)
    state = Pipeline(default_policy, default_model, LOCAL_SECRET).decide(app, "C-1", datetime.now(UTC))
    assert [s.stage for s in state.trace.stages] == list(STAGE_NAMES)


class _Metrics:
    """Collects what ``stage_metrics`` publishes (the Powertools Metrics surface it uses)."""

    def __init__(self) -> None:
        self.values: Counter[str] = Counter()

    def add_dimension(self, name: str, value: str) -> None:
        pass

    def add_metric(self, name: str, unit: object, value: float) -> None:
        self.values[name] += value


def _rule(rule_id: str, section: str, outcome: str = "hit") -> RuleTrace:
    return RuleTrace(rule_id=rule_id, stage=section, action="reject", params={}, observed={}, outcome=outcome)


def test_rule_hits_are_counted_once_each_in_the_stage_that_runs_them():
    state = DecisionState(
        case_id="C-1", application={}, received_at=datetime.now(UTC), policy={"id": "p", "version": 1},
        subject=Subject(id_number="a", phone="b", device_id="c"),
    )  # fmt: skip
    state.trace.rules = [
        _rule("AGE", "admission"), _rule("INCOME", "admission", "no_hit"), _rule("BLACK", "lists"),
        _rule("DEVICE_SHARED", "internal_data"), _rule("FRAUD", "vendor:antifraud"), _rule("MULTI", "vendor:bureau"), _rule("DTI", "post_model"),
        _rule("CARD", "scorecard"),
    ]  # fmt: skip
    per_stage = {}
    for name in STAGE_NAMES:
        metrics = _Metrics()
        stage_metrics(metrics, name, state)  # type: ignore[arg-type]
        per_stage[name] = metrics.values["RuleHits"]
    assert per_stage == {"validate": 0, "admission": 1, "lists": 1, "internal_data": 1, "external_data": 2,
                         "features": 0, "scoring": 0, "decision": 1}  # fmt: skip
    rules = [r for r in state.trace.rules if r.outcome == "hit" and r.stage != "scorecard"]
    assert sum(per_stage.values()) == len(rules)


def test_sections_map_to_the_stages_that_run_them():
    assert section_of("vendor:antifraud") == "vendor_groups"
    assert section_of("post_model") == "post_model"
    assert BY_NAME["decision"].sections == ("post_model",)


def test_the_loader_follows_the_registry(default_policy):
    from lendguard.policy.loader import stage_facts

    sections = [name for name, _, _ in stage_facts(default_policy)]
    before = [f"vendor_groups.{g.id}" for g in default_policy.groups_before_model]
    after = [f"vendor_groups.{g.id}" for g in default_policy.groups_after_model]
    # The after_model groups run in Decision, after the post-model rules and the cut-offs.
    assert sections == ["admission", "lists", "internal_data", *before, "post_model", *after]
    available = {name: facts for name, _, facts in stage_facts(default_policy)}
    assert "lists.black.any" not in available["admission"] and "lists.black.any" in available["lists"]
    own = "internal.ids_on_device_30d"
    assert own not in available["lists"] and own in available["internal_data"]
    assert "score.pd" in available["post_model"] and "score.pd" not in available[before[-1]]
    assert "bank_card.match" in available[after[0]] and "bank_card.match" not in available["post_model"]
