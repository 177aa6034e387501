"""One lendguard Lambda function: its own role (no managed policies), log group and settings."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from lendguard import deployment
from lendguard.offline import project

RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64
ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc", "tests", ".pytest_cache"]


def construct_id(spec: deployment.FunctionSpec) -> str:
    """``external_data`` -> ``ExternalDataFunction``."""
    return "".join(part.capitalize() for part in spec.name.split("_")) + "Function"


class LendGuardFunction(Construct):
    """``function``, ``role`` and ``log_group`` for one ``deployment.FunctionSpec``."""

    def __init__(
        self,
        scope: Construct,
        construct_id_: str,
        *,
        spec: deployment.FunctionSpec,
        function_name: str,
        layers: list[lambda_.ILayerVersion],
        environment: dict[str, str],
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
        reserved_concurrency: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id_)
        self.spec = spec
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/lambda/{function_name}",
            retention=log_retention,
            removal_policy=removal_policy,
        )
        # A role of our own instead of AWSLambdaBasicExecutionRole: logs go to this log group only.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"lendguard {spec.name} function",
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            description=spec.description or spec.name,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=spec.handler,
            code=lambda_.Code.from_asset(str(project.function_dir(spec)), exclude=ASSET_EXCLUDES),
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_s),
            layers=layers,
            environment=environment,
            role=self.role,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            reserved_concurrent_executions=reserved_concurrency,
        )
