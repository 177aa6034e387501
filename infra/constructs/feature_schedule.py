"""The customer feature job's own schedule (EventBridge Scheduler, Asia/Shanghai).

The time is ``customer_features_schedule`` in ``infra/config/<env>.json``; the job joins the
nightly in-loan run when that exists.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from lendguard import deployment


class FeatureSchedule(Construct):
    """Invokes the ``customer_features`` function on its schedule."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        function: lambda_.IFunction,
        expression: str,
    ) -> None:
        super().__init__(scope, construct_id)
        role = iam.Role(self, "SchedulerRole", assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"))
        # exactly the function (grant_invoke would add ``:*`` for its versions: cdk-nag IAM5)
        role.add_to_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[function.function_arn])
        )
        self.schedule = scheduler.CfnSchedule(
            self,
            "Schedule",
            name=f"lendguard-{env_name}-customer-features",
            schedule_expression=expression,
            schedule_expression_timezone=deployment.CUSTOMER_FEATURES_SCHEDULE_TIMEZONE,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=function.function_arn,
                role_arn=role.role_arn,
                input="{}",
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(maximum_retry_attempts=2),
            ),
        )
