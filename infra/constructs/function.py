"""One lendguard Lambda function: its own role (no managed policies), log group and settings."""

from __future__ import annotations

from aws_cdk import Annotations, Duration, RemovalPolicy
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
        live_alias: bool = False,
        snap_start: bool = False,
        provisioned_concurrency: int | None = None,
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
            # A snapshot of the initialised environment (imports, and the warm-up the
            # before-snapshot hook runs: lendguard.decision.warmup) per published version.
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if snap_start else None,
        )
        # Online functions are invoked through an alias on a published version: SnapStart and
        # provisioned concurrency apply to versions only, never to $LATEST.
        self.alias: lambda_.Alias | None = None
        if live_alias:
            self.alias = lambda_.Alias(
                self,
                "Live",
                alias_name=deployment.LIVE_ALIAS,
                version=self.function.current_version,
                provisioned_concurrent_executions=provisioned_concurrency,
            )
            if snap_start:
                Annotations.of(self.function).acknowledge_warning(
                    "@aws-cdk/aws-lambda:snapStartRequirePublish",
                    "Published: the live alias points at current_version, and every caller invokes the alias.",
                )
        elif snap_start or provisioned_concurrency:
            raise ValueError(f"{spec.name}: SnapStart and provisioned concurrency need the live alias")

    @property
    def invocable(self) -> lambda_.IFunction:
        """What callers invoke: the live alias where there is one, else the function ($LATEST)."""
        return self.alias or self.function
