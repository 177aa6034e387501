"""The batch jobs' schedules (EventBridge Scheduler, Asia/Shanghai), their dead-letter queue and
the alarms on failed runs.

Each schedule invokes the starter function (``lendguard.batch.starter``) with
``deployment.batch_schedule_input(job)``: the scheduler substitutes ``<aws.scheduler.scheduled-time>``,
and the starter reads it as the Asia/Shanghai run date and starts the job's machine as
``<job>-<run date>`` (a templated Step Functions target cannot compute a name, and a name cannot
hold the fire time's colons); the planner claims (job, run date) itself. An invocation the
scheduler cannot make after its retries, and a starter failing after Lambda's async retries, go
to the dead-letter queue, which alarms.
"""

from __future__ import annotations

import json

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.settings import BatchRuns as Settings
from lendguard import deployment
from lendguard.batch.summary import RUN_FAILED_METRIC

NAMESPACE = "LendGuard"
SERVICE = "lendguard"


def run_failed_metric(job: str) -> cloudwatch.Metric:
    """The summary step's 0/1 per run (lendguard.batch.summary.publish)."""
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=RUN_FAILED_METRIC,
        statistic="Maximum",
        period=Duration.days(1),
        dimensions_map={"service": SERVICE, "job": job},
    )


def _alarm(
    scope: Construct,
    name: str,
    env_name: str,
    metric: cloudwatch.IMetric,
    description: str,
    topic: sns.ITopic,
) -> cloudwatch.Alarm:
    created = cloudwatch.Alarm(
        scope,
        f"{name}Alarm",
        alarm_name=f"lendguard-{env_name}-{name}",
        alarm_description=description,
        metric=metric,
        threshold=1,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    created.add_alarm_action(cw_actions.SnsAction(topic))
    return created


def run_alarms(
    scope: Construct,
    construct_id: str,
    *,
    env_name: str,
    job: str,
    machine: sfn.StateMachine,
    topic: sns.ITopic,
) -> dict[str, cloudwatch.Alarm]:
    """The two alarms of a machine of the batch shape: a failed execution, and a run its summary failed."""
    holder = Construct(scope, construct_id)
    return {
        f"{job}-executions-failed": _alarm(
            holder, f"{job}-executions-failed", env_name,
            machine.metric_failed(period=Duration.hours(1), statistic="Sum"),
            f"A {job} execution failed: see its history.", topic,
        ),
        f"{job}-run-failed": _alarm(
            holder, f"{job}-run-failed", env_name, run_failed_metric(job),
            f"The {job} summary failed the run: shards not written, or nothing to report (summary.json).", topic,
        ),
    }  # fmt: skip


class BatchSchedules(Construct):
    """``schedules`` and ``alarms`` by name, the ``dead_letter_queue`` and the scheduler ``role``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        state_machines: dict[str, sfn.StateMachine],
        starter: lambda_.IFunction,
        settings: Settings,
        topic: sns.ITopic,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            queue_name=f"lendguard-{env_name}-batch-schedule-dlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=removal_policy,
        )
        self.role = iam.Role(
            self, "SchedulerRole", assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com")
        )
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[starter.function_arn])
        )
        self.dead_letter_queue.grant_send_messages(self.role)
        # The scheduler invokes asynchronously: a starter that fails after Lambda's retries is kept.
        starter.configure_async_invoke(
            on_failure=destinations.SqsDestination(self.dead_letter_queue),
            retry_attempts=2,
            max_event_age=Duration.seconds(
                min(settings.max_event_age_seconds, 6 * 3600)
            ),  # Lambda: at most 6 h
        )
        self.schedules: dict[str, scheduler.CfnSchedule] = {}
        self.alarms: dict[str, cloudwatch.Alarm] = {}

        def alarm(name: str, metric: cloudwatch.IMetric, description: str) -> None:
            self.alarms[name] = _alarm(self, name, env_name, metric, description, topic)

        for job, machine in state_machines.items():
            schedule = settings.schedule(job)
            self.schedules[job] = scheduler.CfnSchedule(
                self,
                f"{job.title()}Schedule",
                name=f"lendguard-{env_name}-{job}",
                description=f"Start the {job} batch run (statemachines/{job}.asl.json)",
                schedule_expression=schedule.expression,
                schedule_expression_timezone=deployment.BATCH_SCHEDULE_TIMEZONE,
                state="ENABLED" if schedule.enabled else "DISABLED",
                flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
                target=scheduler.CfnSchedule.TargetProperty(
                    arn=starter.function_arn,
                    role_arn=self.role.role_arn,
                    input=json.dumps(deployment.batch_schedule_input(job)),
                    retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                        maximum_retry_attempts=settings.retry_attempts,
                        maximum_event_age_in_seconds=settings.max_event_age_seconds,
                    ),
                    dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(
                        arn=self.dead_letter_queue.queue_arn
                    ),
                ),
            )
            alarm(
                f"{job}-executions-failed",
                machine.metric_failed(period=Duration.hours(1), statistic="Sum"),
                f"A {job} batch execution failed: see its history.",
            )
            alarm(
                f"{job}-run-failed",
                run_failed_metric(job),
                f"The {job} summary failed the run: too many shards not written (summary.json).",
            )
        alarm(
            "batch-schedule-dead-letters",
            self.dead_letter_queue.metric_approximate_number_of_messages_visible(period=Duration.minutes(5)),
            "The scheduler could not start a batch run after its retries (dead-letter queue).",
        )
