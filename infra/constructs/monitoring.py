"""Alarms, their SNS topic and a small dashboard."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

PERIOD = Duration.minutes(5)


class Monitoring(Construct):
    """``topic`` (KMS-encrypted), ``alarms`` by name and ``dashboard``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        state_machine: sfn.StateMachine,
        functions: dict[str, lambda_.Function],
        review_state_machine: sfn.StateMachine | None = None,
        api: apigw.RestApi,
        alarm_email: str | None,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        # CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key, so the
        # topic gets its own key that allows the CloudWatch service principal.
        self.key = kms.Key(
            self,
            "TopicKey",
            description=f"lendguard {env_name} alarm topic",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        self.key.grant(
            iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*"
        )
        self.topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name=f"lendguard {env_name} alarms",
            master_key=self.key,
            enforce_ssl=True,
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        action = cw_actions.SnsAction(self.topic)

        self.alarms: dict[str, cloudwatch.Alarm] = {}

        def alarm(name: str, metric: cloudwatch.IMetric, description: str) -> None:
            created = cloudwatch.Alarm(
                self,
                f"{name}Alarm",
                alarm_name=f"lendguard-{env_name}-{name}",
                alarm_description=description,
                metric=metric,
                threshold=0,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            created.add_alarm_action(action)
            self.alarms[name] = created

        alarm(
            "decision-executions-failed",
            state_machine.metric_failed(period=PERIOD, statistic="Sum"),
            "Decision workflow executions failed (each should also be a FAILED case).",
        )
        alarm(
            "decision-executions-timed-out",
            state_machine.metric_timed_out(period=PERIOD, statistic="Sum"),
            "Decision workflow executions timed out.",
        )
        if review_state_machine is not None:
            alarm(
                "review-executions-failed",
                review_state_machine.metric_failed(period=PERIOD, statistic="Sum"),
                "Review workflow executions failed (a review step failed: the case is FAILED with the cause).",
            )
            alarm(
                "review-executions-timed-out",
                review_state_machine.metric_timed_out(period=PERIOD, statistic="Sum"),
                "Review workflow executions timed out (the workflow itself, not a review level).",
            )
        for name, function in functions.items():
            alarm(
                f"{name}-errors",
                function.metric_errors(period=PERIOD, statistic="Sum"),
                f"{name} function errors.",
            )
        alarm(
            "api-5xx", api.metric_server_error(period=PERIOD, statistic="Sum"), "API returned 5xx responses."
        )

        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"lendguard-{env_name}",
            default_interval=Duration.hours(3),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Decisions",
                left=[
                    state_machine.metric_started(period=PERIOD, statistic="Sum", label="started"),
                    state_machine.metric_succeeded(period=PERIOD, statistic="Sum", label="succeeded"),
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Failures",
                left=[
                    state_machine.metric_failed(period=PERIOD, statistic="Sum", label="executions failed"),
                    state_machine.metric_timed_out(
                        period=PERIOD, statistic="Sum", label="executions timed out"
                    ),
                    *(
                        [
                            review_state_machine.metric_failed(
                                period=PERIOD, statistic="Sum", label="reviews failed"
                            )
                        ]
                        if review_state_machine is not None
                        else []
                    ),
                    api.metric_server_error(period=PERIOD, statistic="Sum", label="API 5xx"),
                    api.metric_client_error(period=PERIOD, statistic="Sum", label="API 4xx"),
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Duration p95 (ms)",
                left=[
                    state_machine.metric_time(period=PERIOD, statistic="p95", label="decision workflow"),
                    api.metric_latency(period=PERIOD, statistic="p95", label="API latency"),
                ],
                width=8,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Function errors",
                left=[
                    function.metric_errors(period=PERIOD, statistic="Sum", label=name)
                    for name, function in functions.items()
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Function duration p95 (ms)",
                left=[
                    function.metric_duration(period=PERIOD, statistic="p95", label=name)
                    for name, function in functions.items()
                ],
                width=12,
            ),
        )
