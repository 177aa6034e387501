"""The sharded backtest in the template: its machine, functions, layers, grants and alarms."""

from __future__ import annotations

import json

import pytest
from test_stack import Synth, _actions, _refs

from infra.stacks.lendguard_stack import state_machine_name
from lendguard import deployment
from lendguard.batch.summary import RUN_FAILED_METRIC
from lendguard.offline import project
from lendguard.offline.backtest.sharded import TOLERATED_FAILURE_PERCENT

SPEC = deployment.BACKTEST_STATE_MACHINE


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return Synth("dev", tmp_path_factory.mktemp("cdk-backtest-dev"))


def _layers(dev: Synth, spec: deployment.FunctionSpec) -> set[str]:
    props = dev.json["Resources"][dev.function_logical_id(spec)]["Properties"]
    return {r for layer in props["Layers"] for r in _refs(layer)}


def test_machine_is_standard_invokes_the_backtest_functions_and_may_run_its_map(dev: Synth) -> None:
    props = dev.json["Resources"][SPEC.logical_id]["Properties"]
    assert props["StateMachineType"] == "STANDARD"
    assert props["StateMachineName"] == state_machine_name("dev", SPEC)
    invoked = json.dumps(props["DefinitionSubstitutions"])
    for spec in deployment.BACKTEST_FUNCTIONS:
        assert dev.function_logical_id(spec) in invoked, spec.name
    dev.assert_machine_may_run_its_map(SPEC)


def test_the_map_and_the_summary_tolerate_the_same_share() -> None:
    states = json.loads(project.definition_path(SPEC).read_text())["States"]
    assert states["EvaluateShards"]["ToleratedFailurePercentage"] == TOLERATED_FAILURE_PERCENT
    assert (
        states["Summarise"]["Parameters"]["Payload"]["tolerated_failure_percentage"]
        == TOLERATED_FAILURE_PERCENT
    )
    assert states["EvaluateShards"]["ItemReader"]["ReaderConfig"] == {"InputType": "JSON"}


def test_backtest_functions_carry_the_backtest_layer_not_pyarrow(dev: Synth) -> None:
    layer_ids = set(dev.resources("AWS::Lambda::LayerVersion"))
    (backtest,) = [k for k in layer_ids if k.startswith("BacktestLayer")]
    (batch,) = [k for k in layer_ids if k.startswith("BatchLayer")]
    for spec in deployment.BACKTEST_FUNCTIONS:
        layers = _layers(dev, spec)
        assert backtest in layers and batch not in layers and len(layers) == 3, spec.name
    for spec in (*deployment.ALL_FUNCTIONS, *deployment.BATCH_FUNCTIONS):
        assert backtest not in _layers(dev, spec), spec.name


def test_only_the_shard_opens_archived_facts_and_never_a_persons_application(dev: Synth) -> None:
    def statements(name: str, action: str) -> list[dict]:
        (spec,) = [s for s in deployment.BACKTEST_FUNCTIONS if s.name == name]
        return [s for s in dev.role_statements(spec) if action in _actions(s)]

    (decrypt,) = [s for s in statements("backtest_shard", "kms:Decrypt") if s.get("Condition")]
    assert decrypt["Condition"] == {"StringEquals": {"kms:EncryptionContext:lendguard:data_class": "derived"}}
    for name in ("backtest_planner", "backtest_summary"):
        assert not [s for s in statements(name, "kms:Decrypt") if s.get("Condition")], name
    assert {r for s in statements("backtest_shard", "dynamodb:GetItem") for r in _refs(s["Resource"])} == {
        "CasesTable"
    }
    assert not statements("backtest_shard", "dynamodb:PutItem")
    for name in ("backtest_planner", "backtest_summary"):
        assert {r for s in statements(name, "dynamodb:UpdateItem") for r in _refs(s["Resource"])} == {
            "BatchRunsTable"
        }
    for spec in deployment.BACKTEST_FUNCTIONS:
        puts = {
            r
            for s in dev.role_statements(spec)
            if "s3:PutObject" in _actions(s)
            for r in _refs(s["Resource"])
        }
        assert puts == {"DataBucket"}, spec.name


def test_alarms_on_a_failed_execution_and_a_failed_run(dev: Synth) -> None:
    alarms = {
        v["Properties"]["AlarmName"]: v["Properties"]
        for v in dev.resources("AWS::CloudWatch::Alarm").values()
    }
    failed = alarms["lendguard-dev-backtest-executions-failed"]
    assert (failed["Namespace"], failed["MetricName"]) == ("AWS/States", "ExecutionsFailed")
    assert {r for d in failed["Dimensions"] for r in _refs(d["Value"])} == {SPEC.logical_id}
    run_failed = alarms["lendguard-dev-backtest-run-failed"]
    assert (run_failed["Namespace"], run_failed["MetricName"]) == ("LendGuard", RUN_FAILED_METRIC)
    assert {"Name": "job", "Value": "backtest"} in run_failed["Dimensions"]
    assert len(failed["AlarmActions"]) == len(run_failed["AlarmActions"]) == 1


def test_no_open_cdk_nag_finding_on_the_backtest_resources(dev: Synth) -> None:
    assert dev.nag_findings(within="Backtest") == []
