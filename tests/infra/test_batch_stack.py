"""The batch runs in the template: schedules, their dead-letter queue, alarms, the machines' grants."""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_stack import Synth, _actions, _refs

from infra.settings import load_config
from infra.stacks.lendguard_stack import state_machine_name
from lendguard import deployment
from lendguard.batch.summary import RUN_FAILED_METRIC


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return Synth("dev", tmp_path_factory.mktemp("cdk-batch-dev"))


def _schedules(dev: Synth) -> dict[str, dict[str, Any]]:
    return {
        v["Properties"]["Name"]: v["Properties"]
        for k, v in dev.resources("AWS::Scheduler::Schedule").items()
        if k.startswith("BatchSchedules")
    }


@pytest.mark.parametrize("job", list(deployment.BATCH_STATE_MACHINES))
def test_schedule_expression_time_zone_target_and_input(dev: Synth, job: str) -> None:
    props = _schedules(dev)[f"lendguard-dev-{job}"]
    config = load_config("dev").batch.schedule(job)
    assert props["ScheduleExpression"] == config.expression
    assert props["ScheduleExpressionTimezone"] == "Asia/Shanghai"
    assert props["State"] == "ENABLED"
    assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = props["Target"]
    # The target is the starter, which names the execution from (job, run date).
    starter = dev.function_logical_id(deployment.BATCH_STARTER_FUNCTION)
    assert target["Arn"] == {"Fn::GetAtt": [starter, "Arn"]}
    assert json.loads(target["Input"]) == {"job": job, "scheduled_time": "<aws.scheduler.scheduled-time>"}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600}
    dlq = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    queue = dev.json["Resources"][dlq]
    assert queue["Type"] == "AWS::SQS::Queue"
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    # The scheduler's role may invoke exactly the starter and send to the queue.
    role = target["RoleArn"]["Fn::GetAtt"][0]
    invokes, sends, starts = set(), set(), set()
    for policy in dev.resources("AWS::IAM::Policy").values():
        if {"Ref": role} in policy["Properties"]["Roles"]:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                if "lambda:InvokeFunction" in _actions(statement):
                    invokes |= _refs(statement["Resource"])
                if "sqs:SendMessage" in _actions(statement):
                    sends |= _refs(statement["Resource"])
                starts |= (
                    _refs(statement["Resource"]) if "states:StartExecution" in _actions(statement) else set()
                )
    assert invokes == {starter} and starts == set()
    assert sends == {dlq}


def test_the_starter_may_start_the_batch_machines_and_its_failures_reach_the_dead_letter_queue(
    dev: Synth,
) -> None:
    spec = deployment.BATCH_STARTER_FUNCTION
    statements = dev.role_statements(spec)
    starts = {r for s in statements if "states:StartExecution" in _actions(s) for r in _refs(s["Resource"])}
    assert starts == {m.logical_id for m in deployment.BATCH_STATE_MACHINES.values()}
    describes = [json.dumps(s["Resource"]) for s in statements if "states:DescribeExecution" in _actions(s)]
    for m in deployment.BATCH_STATE_MACHINES.values():
        assert any(f"execution:{state_machine_name('dev', m)}:*" in d for d in describes)
    assert not [s for s in statements if "dynamodb:PutItem" in _actions(s)]
    props = dev.json["Resources"][dev.function_logical_id(spec)]["Properties"]
    env = props["Environment"]["Variables"]
    for job, m in deployment.BATCH_STATE_MACHINES.items():
        assert env[m.env_var] == {"Ref": m.logical_id}, job
    assert "Layers" in props and len(props["Layers"]) == 2  # core + deps: no pyarrow, no pandas
    (config,) = dev.resources("AWS::Lambda::EventInvokeConfig").values()
    assert config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0].startswith(
        "BatchSchedulesDeadLetterQueue"
    )


def test_alarms_on_failed_executions_run_failed_metric_and_dead_letters(dev: Synth) -> None:
    alarms = {
        v["Properties"]["AlarmName"]: v["Properties"]
        for k, v in dev.resources("AWS::CloudWatch::Alarm").items()
        if k.startswith("BatchSchedules")
    }
    for job, spec in deployment.BATCH_STATE_MACHINES.items():
        failed = alarms[f"lendguard-dev-{job}-executions-failed"]
        assert (failed["Namespace"], failed["MetricName"]) == ("AWS/States", "ExecutionsFailed")
        assert {r for d in failed["Dimensions"] for r in _refs(d["Value"])} == {spec.logical_id}
        run_failed = alarms[f"lendguard-dev-{job}-run-failed"]
        assert (run_failed["Namespace"], run_failed["MetricName"]) == ("LendGuard", RUN_FAILED_METRIC)
        assert {"Name": "job", "Value": job} in run_failed["Dimensions"]
    assert (
        alarms["lendguard-dev-batch-schedule-dead-letters"]["MetricName"]
        == "ApproximateNumberOfMessagesVisible"
    )
    for props in alarms.values():
        assert len(props["AlarmActions"]) == 1


@pytest.mark.parametrize("job", list(deployment.BATCH_STATE_MACHINES))
def test_machine_is_standard_and_may_run_its_distributed_map(dev: Synth, job: str) -> None:
    spec = deployment.BATCH_STATE_MACHINES[job]
    props = dev.json["Resources"][spec.logical_id]["Properties"]
    assert props["StateMachineType"] == "STANDARD"
    assert props["StateMachineName"] == state_machine_name("dev", spec)
    dev.assert_machine_may_run_its_map(spec)


def test_batch_functions_read_and_write_only_what_they_need(dev: Synth) -> None:
    def resources(name: str, action: str) -> set[str]:
        (spec,) = [s for s in deployment.BATCH_FUNCTIONS if s.name == name]
        return {r for s in dev.role_statements(spec) if action in _actions(s) for r in _refs(s["Resource"])}

    # The planner exports the snapshot: the accounts (Scan) and their loan events (Query).
    assert resources("batch_planner", "dynamodb:Scan") >= {"AccountsTable"}
    assert resources("batch_planner", "dynamodb:Query") >= {"AccountsTable", "LoanEventsTable"}
    assert resources("batch_planner", "dynamodb:PutItem") == {"BatchRunsTable"}  # reads the book only
    assert resources("batch_summary", "dynamodb:UpdateItem") == {"BatchRunsTable"}
    # The shard reads and conditionally writes the accounts it acts on, nothing else.
    assert resources("batch_shard", "dynamodb:GetItem") == {"AccountsTable"}
    assert resources("batch_shard", "dynamodb:PutItem") == {"AccountsTable"}
    for name in ("batch_planner", "batch_shard", "batch_summary"):
        assert resources(name, "s3:PutObject") == {"DataBucket"}
    # Only the shard publishes the book's events, and only to the book bus.
    bus = deployment.BOOK_EVENT_BUS_LOGICAL_ID
    assert resources("batch_shard", "events:PutEvents") == {bus}
    assert (
        resources("batch_planner", "events:PutEvents")
        == resources("batch_summary", "events:PutEvents")
        == set()
    )


def test_book_event_bus_is_named_per_environment_and_given_to_the_batch_functions(dev: Synth) -> None:
    bus = dev.json["Resources"][deployment.BOOK_EVENT_BUS_LOGICAL_ID]
    assert bus["Type"] == "AWS::Events::EventBus"
    assert bus["Properties"]["Name"] == deployment.book_event_bus_name("dev")
    for spec in deployment.BATCH_FUNCTIONS:
        env = dev.json["Resources"][dev.function_logical_id(spec)]["Properties"]["Environment"]["Variables"]
        assert env[deployment.ENV_EVENT_BUS] == {"Ref": deployment.BOOK_EVENT_BUS_LOGICAL_ID}, spec.name
        for table in (deployment.ENV_ACCOUNTS_TABLE, deployment.ENV_LOAN_EVENTS_TABLE):
            assert table in env, spec.name
