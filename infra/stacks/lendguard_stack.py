"""The ``LendGuard-<env>`` stack: storage, layers, functions, the decision workflow, API, monitoring.

Names, handler paths, ASL substitution keys, table keys and environment variable names all come
from ``lendguard.deployment``, which the local runtime builds from too.
"""

from __future__ import annotations

import re
from typing import Any

from aws_cdk import (
    Acknowledgment,
    ArnFormat,
    Aws,
    CfnOutput,
    Duration,
    RemovalPolicy,
    Stack,
    Token,
    Validations,
)
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.access import Access, TableAccess, grant_bucket, grant_table
from infra.constructs.api import DecisionApi
from infra.constructs.backtest_layer import BacktestLayer
from infra.constructs.batch_layer import BatchLayer
from infra.constructs.batch_runs import BatchSchedules, run_alarms
from infra.constructs.console import Console
from infra.constructs.core_layer import CoreLayer
from infra.constructs.dependency_layer import DependencyLayer
from infra.constructs.feature_schedule import FeatureSchedule
from infra.constructs.function import ARCHITECTURE, RUNTIME, LendGuardFunction, construct_id
from infra.constructs.keys import Keys
from infra.constructs.monitoring import Monitoring
from infra.constructs.risk_alarms import RiskAlarms
from infra.constructs.storage import DATA_BUCKET, Storage, bucket_logical_id
from infra.settings import ConfigError, EnvConfig, OidcIdentity, snapstart_offered
from lendguard import deployment
from lendguard.offline import project

# Regions without Cognito user pools (the China partition, aws-cn): identity must be "oidc" there.
COGNITO_MISSING_REGION_PREFIXES: tuple[str, ...] = ("cn-",)

# What each function may touch besides its own log group, the artifacts bucket (read: the policy)
# and the hash-secret parameter, which every function gets. Keys are deployment function names.
FUNCTION_ACCESS: dict[str, Access] = {
    # Validate resolves the policy routing (lendguard.store.policies) when it opens a case, and
    # counts the application's velocity (atomic counters and sets in the daily table).
    "validate": Access(tables={deployment.ENV_POLICIES_TABLE: "read", deployment.ENV_DAILY_TABLE: "write"}),
    "lists": Access(tables={deployment.ENV_LISTS_TABLE: "read"}),
    # Own data: velocity and case history (daily table), loan events, precomputed features.
    "internal_data": Access(
        tables={
            deployment.ENV_DAILY_TABLE: "read",
            deployment.ENV_LOAN_EVENTS_TABLE: "read",
            deployment.ENV_CUSTOMER_FEATURES_TABLE: "read",
        }
    ),
    "external_data": Access(
        tables={deployment.ENV_CACHE_TABLE: "read_write"}, buckets={deployment.ENV_DATA_BUCKET: "write"}
    ),
    # Decision calls the policy's after_model vendor groups (the payout card's check) the same way.
    "decision": Access(
        tables={deployment.ENV_CACHE_TABLE: "read_write"}, buckets={deployment.ENV_DATA_BUCKET: "write"}
    ),
    # finalize also archives a REVIEW case's application and starts its review workflow (below).
    # It also adds each case to the per-day rule statistics (atomic counters in the daily table).
    "finalize": Access(
        tables={deployment.ENV_CASES_TABLE: "write", deployment.ENV_DAILY_TABLE: "write"},
        buckets={deployment.ENV_DATA_BUCKET: "write"},
    ),
    "record_failure": Access(
        tables={deployment.ENV_CASES_TABLE: "write"}, buckets={deployment.ENV_DATA_BUCKET: "write"}
    ),
    # Review steps read-modify-write the case (conditional on its version).
    "review_task": Access(tables={deployment.ENV_CASES_TABLE: "read_write"}),
    "review_conclude": Access(tables={deployment.ENV_CASES_TABLE: "read_write"}),
    # Shadow runs add their results to the case (a conditional read-modify-write).
    deployment.SHADOW_FUNCTION.name: Access(tables={deployment.ENV_CASES_TABLE: "read_write"}),
    # The API answers reviews and links re-decisions on cases (conditional writes), and reads a
    # failed case's archived application from the data bucket to decide it again.
    # The daily monitor reads the day's cases, their archived facts (derived part only, see
    # ARCHIVE_FACT_READERS) and loan events, and writes its JSON report to the data bucket.
    deployment.MONITOR_FUNCTION.name: Access(
        tables={deployment.ENV_CASES_TABLE: "read", deployment.ENV_LOAN_EVENTS_TABLE: "read"},
        buckets={deployment.ENV_DATA_BUCKET: "read_write"},
    ),
    # The customer feature job reads cases and loan events and writes the feature table.
    deployment.CUSTOMER_FEATURES_FUNCTION.name: Access(
        tables={
            deployment.ENV_CASES_TABLE: "read",
            deployment.ENV_LOAN_EVENTS_TABLE: "read",
            deployment.ENV_CUSTOMER_FEATURES_TABLE: "write",
        }
    ),
    deployment.API_FUNCTION.name: Access(
        tables={
            deployment.ENV_CASES_TABLE: "read_write",
            deployment.ENV_LISTS_TABLE: "read_write",
            deployment.ENV_IDEMPOTENCY_TABLE: "read_write",
            # Loan events are recorded once each (conditional puts); rule statistics are read.
            deployment.ENV_LOAN_EVENTS_TABLE: "read_write",
            # A drawn event adds its loan to the account (conditional on the account's version).
            deployment.ENV_ACCOUNTS_TABLE: "read_write",
            deployment.ENV_DAILY_TABLE: "read",
            # Policy lifecycle: versions, routing changes (TransactWriteItems), release configuration.
            deployment.ENV_POLICIES_TABLE: "read_write",
        },
        # The artifacts bucket: pushed policy bodies and their test suites (written once).
        buckets={deployment.ENV_DATA_BUCKET: "read", deployment.ENV_ARTIFACTS_BUCKET: "read_write"},
    ),
}
# The functions that call vendors (lendguard.vendors.caller): ExternalData, and Decision for the
# policy's after_model groups.
VENDOR_CALLERS: tuple[str, ...] = ("external_data", "decision")
COMMON_BUCKET_ACCESS = {deployment.ENV_ARTIFACTS_BUCKET: "read"}
# The batch functions (lendguard.batch): runs are claimed and closed in the runs table; snapshot
# shards, manifests, results and summaries live under batch/ in the data bucket. The planner
# exports the snapshot from the accounts (a Scan) and their loan events (a Query per account);
# the shard applies its actions to the accounts (conditional puts) and publishes the book's events
# (PutEvents on the book bus, BOOK_EVENT_PUBLISHERS).
# Every batch and backtest function reads and writes under batch/ in the data bucket; the planners
# and summaries claim and close the run in the batch runs table.
RUN_TABLE: dict[str, TableAccess] = {deployment.ENV_BATCH_RUNS_TABLE: "read_write"}


def batch_data_access(tables: dict[str, TableAccess]) -> Access:
    """``tables``, and read-write on the data bucket (the run's files under batch/)."""
    return Access(tables=dict(tables), buckets={deployment.ENV_DATA_BUCKET: "read_write"})


BATCH_FUNCTION_ACCESS: dict[str, Access] = {
    "batch_planner": batch_data_access(
        {
            **RUN_TABLE,
            deployment.ENV_ACCOUNTS_TABLE: "read",
            deployment.ENV_LOAN_EVENTS_TABLE: "read",
            # The routing's champion, which the run pins (lendguard.batch.book.pinned_policy).
            deployment.ENV_POLICIES_TABLE: "read",
        }
    ),
    "batch_shard": batch_data_access({deployment.ENV_ACCOUNTS_TABLE: "read_write"}),
    "batch_summary": batch_data_access(RUN_TABLE),
}
# The sharded backtest's functions (lendguard.offline.backtest.sharded): the run is claimed and closed
# in the batch runs table; headers shards, parts, summary and report.json live under batch/. The
# planner lists the archive's headers (clear, hashed keys only); the shard opens the derived part of
# each record (facts, never a person's application: ARCHIVE_FACT_READERS' grant) and reads the case
# record for the vendors its flow asked.
BACKTEST_FUNCTION_ACCESS: dict[str, Access] = {
    "backtest_planner": batch_data_access(RUN_TABLE),
    "backtest_shard": batch_data_access({deployment.ENV_CASES_TABLE: "read"}),
    "backtest_summary": batch_data_access(RUN_TABLE),
}
BACKTEST_ARCHIVE_FACT_READERS: tuple[str, ...] = ("backtest_shard",)
# Functions that publish to the loan book's event bus (limit changes, freezes, re-loan offers).
BOOK_EVENT_PUBLISHERS: tuple[str, ...] = ("batch_shard",)
# The Distributed Map reads its manifest (and nothing else) from the data bucket.
BATCH_MANIFEST_PREFIX = "batch/*"

# The case archive (lendguard.store.archive): who seals records, and who may open them. Only
# functions that need clear personal data get kms:Decrypt on the archive key.
ARCHIVE_WRITERS: tuple[str, ...] = ("finalize", "record_failure")
ARCHIVE_READERS: tuple[str, ...] = (deployment.API_FUNCTION.name,)  # re-decide, reveal, erase
# Functions that read archived facts but never a person's application (the monitor).
ARCHIVE_FACT_READERS: tuple[str, ...] = (deployment.MONITOR_FUNCTION.name,)
# Functions that write case records, and so their retention (TTL).
CASE_WRITERS: tuple[str, ...] = ("finalize", "record_failure")
# S3 prefixes of the data bucket per retention class (see lendguard.store.archive).
ARCHIVE_PREFIXES = {"clear_application_days": "archive/personal/", "derived_facts_days": "archive/derived/",
                    "decision_days": "archive/header/"}  # fmt: skip

_REMOVAL = {"destroy": RemovalPolicy.DESTROY, "retain": RemovalPolicy.RETAIN}


def hash_secret_parameter_name(env_name: str) -> str:
    return f"/lendguard/{env_name}/hash-secret"


def vendor_secret_prefix(env_name: str) -> str:
    return f"lendguard/{env_name}/vendors/"


def function_name(env_name: str, spec: deployment.FunctionSpec) -> str:
    return f"lendguard-{env_name}-{spec.name}"


def state_machine_name(env_name: str, spec: deployment.StateMachineSpec) -> str:
    return f"lendguard-{env_name}-{spec.file.removesuffix('.asl.json')}"


class LendGuardStack(Stack):
    def __init__(
        self, scope: Construct, construct_id_: str, *, env_name: str, config: EnvConfig, **kwargs
    ) -> None:
        super().__init__(scope, construct_id_, **kwargs)
        unknown = sorted(set(FUNCTION_ACCESS) - {spec.name for spec in deployment.ALL_FUNCTIONS})
        if unknown:
            raise ValueError(f"FUNCTION_ACCESS names functions that deployment does not declare: {unknown}")
        self.env_name = env_name
        self.config = config
        self._check_partition_services(config)
        removal = _REMOVAL[config.removal_policy.value]
        retention = logs.RetentionDays[config.log_retention_name]

        self.storage = Storage(
            self,
            "Storage",
            removal_policy=removal,
            point_in_time_recovery=config.point_in_time_recovery,
            raw_payload_retention_days=config.raw_payload_retention_days,
            access_log_retention_days=config.access_log_retention_days,
        )

        self.keys = Keys(
            self,
            "Keys",
            env_name=env_name,
            removal_policy=removal,
            customer_managed=config.customer_managed_keys,
        )
        data_bucket = self.storage.buckets[DATA_BUCKET]
        for field, prefix in ARCHIVE_PREFIXES.items():
            data_bucket.add_lifecycle_rule(
                id=f"expire-{prefix.strip('/').replace('/', '-')}",
                prefix=prefix,
                expiration=Duration.days(getattr(config.retention, field)),
            )

        # ---- layers ---------------------------------------------------------------------------
        self.core_layer, self.deps_layer, self.batch_layer, self.backtest_layer = (
            kind(self, name, runtime=RUNTIME, architecture=ARCHITECTURE, removal_policy=removal).layer
            for kind, name in (
                (CoreLayer, "CoreLayer"),
                (DependencyLayer, "DepsLayer"),
                (BatchLayer, "BatchLayer"),
                (BacktestLayer, "BacktestLayer"),
            )
        )

        # ---- functions ------------------------------------------------------------------------
        parameter_name = hash_secret_parameter_name(env_name)
        # Referenced, never created here: the SecureString value is put in place out of band.
        self.hash_secret_arn = self.format_arn(
            service="ssm", resource="parameter", resource_name=parameter_name.lstrip("/")
        )
        environment = {
            **{spec.env_var: self.storage.tables[spec.logical_id].table_name for spec in deployment.TABLES},
            **{
                var: self.storage.buckets[logical_id].bucket_name
                for logical_id, var in deployment.BUCKETS.items()
            },
            "POWERTOOLS_SERVICE_NAME": "lendguard",
            "POWERTOOLS_METRICS_NAMESPACE": "LendGuard",
            "LOG_LEVEL": config.log_level,
            deployment.ENV_POLICY_ID: config.policy_id,
            deployment.ENV_POLICY_VERSION: str(config.policy_version),
            deployment.ENV_HASH_SECRET_PARAM: parameter_name,
            # The tracer must never record a handler's response or error: both hold personal data.
            "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
            "POWERTOOLS_TRACER_CAPTURE_ERROR": "false",
        }
        self.functions: dict[str, LendGuardFunction] = {}
        self._granted_buckets: dict[str, list[str]] = {}
        for spec in deployment.ALL_FUNCTIONS:
            fn = LendGuardFunction(
                self,
                construct_id(spec),
                spec=spec,
                function_name=function_name(env_name, spec),
                layers=[self.core_layer, self.deps_layer],
                environment=dict(environment),
                log_retention=retention,
                removal_policy=removal,
                reserved_concurrency=config.reserved_concurrency.get(spec.name),
                **self._cold_start(spec),
            )
            self._grant(fn, FUNCTION_ACCESS.get(spec.name, Access()))
            self.keys.grant_data_key(fn.role)
            if spec.name in ARCHIVE_WRITERS:
                self.keys.grant_archive_write(fn.role)
            if spec.name in ARCHIVE_READERS:
                self.keys.grant_archive_read(fn.role)
            if spec.name in ARCHIVE_FACT_READERS:
                self.keys.grant_archive_read_derived(fn.role)
            if (
                spec.name in ARCHIVE_WRITERS
                or spec.name in ARCHIVE_READERS
                or spec.name in ARCHIVE_FACT_READERS
            ):
                fn.function.add_environment(deployment.ENV_ARCHIVE_KEY, self.keys.archive_key.key_arn)
            if spec.name in CASE_WRITERS:
                fn.function.add_environment(
                    deployment.ENV_DECISION_RETENTION_DAYS, str(config.retention.decision_days)
                )
            self.functions[spec.name] = fn
        # The loan book's bus: the loan app subscribes (rules on source lendguard.book).
        self.book_event_bus = events.EventBus(
            self,
            deployment.BOOK_EVENT_BUS_LOGICAL_ID,
            event_bus_name=deployment.book_event_bus_name(env_name),
        )
        self.book_event_bus.apply_removal_policy(removal)
        self.book_event_bus.node.default_child.override_logical_id(deployment.BOOK_EVENT_BUS_LOGICAL_ID)
        for spec in deployment.BATCH_FUNCTIONS:
            fn = self._run_function(
                spec,
                self.batch_layer,
                BATCH_FUNCTION_ACCESS[spec.name],
                {**environment, deployment.ENV_EVENT_BUS: self.book_event_bus.event_bus_name},
                retention,
                removal,
            )
            if spec.name in BOOK_EVENT_PUBLISHERS:
                self.book_event_bus.grant_put_events_to(fn.role)
            self.keys.grant_data_key(fn.role)
        for spec in deployment.BACKTEST_FUNCTIONS:
            fn = self._run_function(
                spec,
                self.backtest_layer,
                BACKTEST_FUNCTION_ACCESS[spec.name],
                dict(environment),
                retention,
                removal,
            )
            self.keys.grant_data_key(fn.role)
            if spec.name in BACKTEST_ARCHIVE_FACT_READERS:
                self.keys.grant_archive_read_derived(fn.role)
                fn.function.add_environment(deployment.ENV_ARCHIVE_KEY, self.keys.archive_key.key_arn)
        # The batch schedules' target: it names each scheduled execution from (job, run date).
        starter_spec = deployment.BATCH_STARTER_FUNCTION
        self.functions[starter_spec.name] = LendGuardFunction(
            self,
            construct_id(starter_spec),
            spec=starter_spec,
            function_name=function_name(env_name, starter_spec),
            layers=[self.core_layer, self.deps_layer],
            environment=dict(environment),
            log_retention=retention,
            removal_policy=removal,
            reserved_concurrency=None,
        )

        # HTTP vendors read their credentials from Secrets Manager; only secrets named under
        # lendguard/<env>/vendors/ (the documented convention for a policy's http.secret_id).
        self.vendor_secrets_arn = self.format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=f"{vendor_secret_prefix(env_name)}*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        for name in VENDOR_CALLERS:
            self.functions[name].function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["secretsmanager:GetSecretValue"], resources=[self.vendor_secrets_arn]
                )
            )

        # ---- decision workflow ----------------------------------------------------------------
        self.state_machine = self._state_machine(deployment.DECISION_STATE_MACHINE, retention, removal)
        api_fn = self.functions[deployment.API_FUNCTION.name].function
        api_fn.add_environment(deployment.ENV_DECISION_STATE_MACHINE, self.state_machine.state_machine_arn)
        self.state_machine.grant_start_sync_execution(api_fn)
        api_target = self.functions[deployment.API_FUNCTION.name].invocable
        self.state_machine.grant(api_fn, "states:DescribeStateMachine")
        api_fn.add_to_role_policy(
            iam.PolicyStatement(actions=["states:DescribeExecution"], resources=[self._executions_arn()])
        )

        # ---- review workflow (STANDARD: waits for reviewers with task tokens) -----------------
        self.review_state_machine = self._state_machine(deployment.REVIEW_STATE_MACHINE, retention, removal)
        finalize_fn = self.functions["finalize"].function
        finalize_fn.add_environment(
            deployment.ENV_REVIEW_STATE_MACHINE, self.review_state_machine.state_machine_arn
        )
        # Challenger shadows run after the answer: finalize invokes the shadow function (Event).
        shadow_fn = self.functions[deployment.SHADOW_FUNCTION.name].function
        finalize_fn.add_environment(deployment.ENV_SHADOW_FUNCTION, shadow_fn.function_name)
        finalize_fn.add_to_role_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[shadow_fn.function_arn])
        )
        # The Express decision flow cannot wait; its finalize Lambda starts the review workflow.
        self.review_state_machine.grant_start_execution(finalize_fn)
        # POST /v1/cases/{case_id}/review resumes the waiting task (SendTaskSuccess).
        self.review_state_machine.grant_task_response(api_fn)
        # POST /v1/cases/{case_id}/appeal opens a review case and starts its workflow.
        api_fn.add_environment(
            deployment.ENV_REVIEW_STATE_MACHINE, self.review_state_machine.state_machine_arn
        )
        self.review_state_machine.grant_start_execution(api_fn)

        # ---- batch runs (in-loan, post-loan): STANDARD machines with a Distributed Map ----------
        self.batch_state_machines = {
            job: self._batch_state_machine(spec, retention, removal)
            for job, spec in deployment.BATCH_STATE_MACHINES.items()
        }
        # The starter starts each batch machine under its (job, run date) name, and describes an
        # execution of that name when one exists (running or done: nothing to start).
        starter = self.functions[deployment.BATCH_STARTER_FUNCTION.name].function
        for job, spec in deployment.BATCH_STATE_MACHINES.items():
            starter.add_environment(spec.env_var, self.batch_state_machines[job].state_machine_arn)
            self.batch_state_machines[job].grant_start_execution(starter)
        starter.add_to_role_policy(
            iam.PolicyStatement(
                actions=["states:DescribeExecution"],
                resources=[self._named_executions_arn(s) for s in deployment.BATCH_STATE_MACHINES.values()],
            )
        )
        # ---- backtests over the case archive: the same shape, started by people ----------------
        self.backtest_state_machine = self._batch_state_machine(
            deployment.BACKTEST_STATE_MACHINE, retention, removal
        )

        # ---- API and monitoring ---------------------------------------------------------------
        self.authorizer_function = self._oidc_authorizer(config, retention, removal)
        self.api = DecisionApi(
            self,
            "DecisionApi",
            handler=api_target,
            env_name=env_name,
            log_retention=retention,
            removal_policy=removal,
            throttle_rate_limit=config.api_throttle_rate_limit,
            throttle_burst_limit=config.api_throttle_burst_limit,
            quota_per_day=config.api_quota_per_day,
            cloudwatch_role=config.api_gateway_cloudwatch_role,
            waf_enabled=config.waf_enabled,
            waf_people_requests_per_5min=config.waf_people_requests_per_5min,
            token_authorizer=self.authorizer_function.invocable if self.authorizer_function else None,
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            env_name=env_name,
            state_machine=self.state_machine,
            review_state_machine=self.review_state_machine,
            functions={name: f.function for name, f in self.functions.items()},
            api=self.api.api,
            alarm_email=config.alarm_email,
            removal_policy=removal,
        )
        self.risk_alarms = RiskAlarms(
            self,
            "RiskAlarms",
            env_name=env_name,
            monitor_function=self.functions[deployment.MONITOR_FUNCTION.name].function,
            thresholds=config.risk_alarms,
            removal_policy=removal,
        )

        self.batch_schedules = BatchSchedules(
            self,
            "BatchSchedules",
            env_name=env_name,
            state_machines=self.batch_state_machines,
            starter=starter,
            settings=config.batch,
            topic=self.monitoring.topic,
            removal_policy=removal,
        )

        self.backtest_alarms = run_alarms(
            self,
            "BacktestAlarms",
            env_name=env_name,
            job="backtest",
            machine=self.backtest_state_machine,
            topic=self.monitoring.topic,
        )

        self.feature_schedule = FeatureSchedule(
            self,
            "CustomerFeatures",
            env_name=env_name,
            function=self.functions[deployment.CUSTOMER_FEATURES_FUNCTION.name].function,
            expression=config.customer_features_schedule,
        )

        self.console: Console | None = None
        if config.console_enabled:
            self.console = Console(
                self, "Console", env_name=env_name, api=self.api.api, removal_policy=removal,
                user_pool=self.api.user_pool,
                oidc=config.identity if isinstance(config.identity, OidcIdentity) else None,
                access_logs_bucket=self.storage.logs_bucket,
                log_retention_days=config.access_log_retention_days,
            )  # fmt: skip
            CfnOutput(self, "ConsoleUrl", value=self.console.url)
        CfnOutput(self, "ApiUrl", value=self.api.api.url_for_path("/v1/decisions"))
        CfnOutput(self, "ApiKeyId", value=self.api.api_key.key_id)
        CfnOutput(self, "DecisionStateMachineArn", value=self.state_machine.state_machine_arn)
        CfnOutput(self, "ReviewStateMachineArn", value=self.review_state_machine.state_machine_arn)
        CfnOutput(self, "AlarmTopicArn", value=self.monitoring.topic.topic_arn)
        CfnOutput(self, "BookEventBusName", value=self.book_event_bus.event_bus_name)
        CfnOutput(self, "HashSecretParameter", value=parameter_name)
        # Where a release puts the policy version and its model (README, "Deploying").
        CfnOutput(
            self,
            "ArtifactsBucketName",
            value=self.storage.bucket_for_env(deployment.ENV_ARTIFACTS_BUCKET).bucket_name,
        )

        self.keys.protect(list(self.storage.tables.values()), list(self.storage.buckets.values()), scope=self)
        self._acknowledge_nag_findings()

    # -----------------------------------------------------------------------------------------
    @property
    def snapstart(self) -> bool:
        """SnapStart for the online functions: configured, and offered for Python in the region.

        A region left to deploy time counts as offering it (the CDK CLI always names one)."""
        offered = Token.is_unresolved(self.region) or snapstart_offered(self.region)
        return self.config.cold_start.snapstart and offered

    def _cold_start(self, spec: deployment.FunctionSpec) -> dict[str, Any]:
        """The live alias for an online function, with SnapStart or else provisioned concurrency."""
        if spec.name not in {s.name for s in deployment.ONLINE_FUNCTIONS}:
            return {}
        if self.snapstart:
            return {"live_alias": True, "snap_start": True}
        return {
            "live_alias": True,
            "provisioned_concurrency": self.config.cold_start.provisioned_concurrency.get(spec.name),
        }

    def _check_partition_services(self, config: EnvConfig) -> None:
        """Refuse what the stack's region does not offer (known only for a located stack)."""
        if Token.is_unresolved(self.region):
            return
        if self.region.startswith(COGNITO_MISSING_REGION_PREFIXES) and not isinstance(
            config.identity, OidcIdentity
        ):
            raise ConfigError(
                f"field 'identity.provider': Cognito user pools are not offered in {self.region}; "
                'set identity to the lender\'s OIDC provider ({"provider": "oidc", "issuer", "audience"})'
            )

    def _oidc_authorizer(
        self, config: EnvConfig, retention: logs.RetentionDays, removal: RemovalPolicy
    ) -> LendGuardFunction | None:
        """The TOKEN authorizer of the lender's OIDC provider, when people sign in there.

        It reads no table, bucket or secret: only the provider's public key set, over https.
        """
        identity = config.identity
        if not isinstance(identity, OidcIdentity):
            return None
        spec = deployment.AUTHORIZER_FUNCTION
        environment = {
            "POWERTOOLS_SERVICE_NAME": "lendguard",
            "LOG_LEVEL": config.log_level,
            "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
            "POWERTOOLS_TRACER_CAPTURE_ERROR": "false",
            deployment.ENV_OIDC_ISSUER: identity.issuer,
            deployment.ENV_OIDC_AUDIENCE: identity.audience,
            deployment.ENV_OIDC_GROUPS_CLAIM: identity.groups_claim,
        }
        if identity.jwks_uri:
            environment[deployment.ENV_OIDC_JWKS_URI] = identity.jwks_uri
        return LendGuardFunction(
            self,
            construct_id(spec),
            spec=spec,
            function_name=function_name(self.env_name, spec),
            layers=[self.core_layer, self.deps_layer],
            environment=environment,
            log_retention=retention,
            removal_policy=removal,
            reserved_concurrency=None,
            **self._cold_start(spec),
        )

    def _run_function(
        self,
        spec: deployment.FunctionSpec,
        layer: lambda_.ILayerVersion,
        access: Access,
        environment: dict[str, str],
        retention: logs.RetentionDays,
        removal: RemovalPolicy,
    ) -> LendGuardFunction:
        """A batch or backtest function: core + deps + ``layer``, ``access`` granted, registered."""
        fn = LendGuardFunction(
            self,
            construct_id(spec),
            spec=spec,
            function_name=function_name(self.env_name, spec),
            layers=[self.core_layer, self.deps_layer, layer],
            environment=environment,
            log_retention=retention,
            removal_policy=removal,
            reserved_concurrency=None,
        )
        self._grant(fn, access)
        self.functions[spec.name] = fn
        return fn

    def _grant(self, fn: LendGuardFunction, access: Access) -> None:
        fn.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["ssm:GetParameter"], resources=[self.hash_secret_arn])
        )
        buckets = dict(COMMON_BUCKET_ACCESS)
        for env_var, level in access.buckets.items():
            buckets[env_var] = level if buckets.get(env_var, level) == level else "read_write"
        for env_var, level in buckets.items():
            grant_bucket(fn.role, self.storage.bucket_for_env(env_var), level)
        self._granted_buckets[fn.spec.name] = [bucket_logical_id(env_var) for env_var in buckets]
        for env_var, level in access.tables.items():
            table, spec = self.storage.table_for_env(env_var)
            grant_table(fn.role, table, spec, level)

    def _state_machine(
        self, spec: deployment.StateMachineSpec, retention: logs.RetentionDays, removal: RemovalPolicy
    ) -> sfn.StateMachine:
        name = state_machine_name(self.env_name, spec)
        log_group = logs.LogGroup(
            self,
            f"{spec.logical_id}Logs",
            # /aws/vendedlogs/ keeps CloudWatch Logs' resource policy small for log delivery.
            log_group_name=f"/aws/vendedlogs/states/{name}",
            retention=retention,
            removal_policy=removal,
        )
        # Tasks invoke the live alias of an online function (SnapStart / provisioned versions).
        functions = [self.functions[f.name].invocable for f in spec.functions]
        state_machine = sfn.StateMachine(
            self,
            spec.logical_id,
            state_machine_name=name,
            state_machine_type=sfn.StateMachineType[spec.kind],
            definition_body=sfn.DefinitionBody.from_string(project.definition_path(spec).read_text()),
            definition_substitutions={
                deployment.PARTITION_SUBSTITUTION: Aws.PARTITION,
                **{
                    f.substitution: self.functions[f.name].invocable.function_arn
                    for f in spec.functions
                    if f.substitution
                },
            },
            # Applications hold personal data: log every event, never the payloads.
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
            tracing_enabled=True,
        )
        # Exactly the ARNs the ASL invokes (an alias, or an unqualified function), so no "<arn>:*"
        # (every version and alias) as grant_invoke adds.
        state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[f.function_arn for f in functions]
            )
        )
        state_machine.node.default_child.override_logical_id(spec.logical_id)
        return state_machine

    def _batch_state_machine(
        self, spec: deployment.StateMachineSpec, retention: logs.RetentionDays, removal: RemovalPolicy
    ) -> sfn.StateMachine:
        """A batch machine: what its Distributed Map needs besides invoking its functions.

        CDK cannot see the Map in an ASL string, so the grants are explicit: start child
        executions of this machine, describe and stop them, and read the manifest under batch/.
        The machine's own ARN is spelt from its name (a reference would be circular).
        """
        machine = self._state_machine(spec, retention, removal)
        name = state_machine_name(self.env_name, spec)
        own_arn = self.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        machine.add_to_role_policy(
            iam.PolicyStatement(actions=["states:StartExecution"], resources=[own_arn])
        )
        machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["states:DescribeExecution", "states:StopExecution"],
                resources=[self._batch_executions_arn(spec)],
            )
        )
        data_bucket = self.storage.bucket_for_env(deployment.ENV_DATA_BUCKET)
        machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"], resources=[data_bucket.arn_for_objects(BATCH_MANIFEST_PREFIX)]
            )
        )
        if data_bucket.encryption_key is not None:
            data_bucket.encryption_key.grant_decrypt(machine.role)
        return machine

    def _batch_executions_arn(self, spec: deployment.StateMachineSpec) -> str:
        return self.format_arn(
            service="states",
            resource="execution",
            resource_name=f"{state_machine_name(self.env_name, spec)}/*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    def _named_executions_arn(self, spec: deployment.StateMachineSpec) -> str:
        """Every execution of one STANDARD machine (``execution:<machine>:<name>``)."""
        return self.format_arn(
            service="states",
            resource="execution",
            resource_name=f"{state_machine_name(self.env_name, spec)}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    def _executions_arn(self) -> str:
        name = state_machine_name(self.env_name, deployment.DECISION_STATE_MACHINE)
        return self.format_arn(
            service="states",
            resource="express",
            resource_name=f"{name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    def nag_resource(self, value: str) -> str:
        """``value`` (an ARN, maybe with tokens) as cdk-nag names it in ``AwsSolutions-IAM5[Resource::…]``.

        Resolved here, so the acknowledgment matches whatever this synthesis puts in the policy:
        ``<AWS::Region>`` when the region is left to deploy time, ``us-east-1`` when
        ``CDK_DEFAULT_REGION`` (the CDK CLI always sets it) or the config names one.
        """
        return _nag_form(self.resolve(value))

    # -----------------------------------------------------------------------------------------
    def _acknowledge_nag_findings(self) -> None:
        """cdk-nag (AwsSolutions) findings that are accepted, each on the narrowest construct, with why."""
        cfg = self.config
        authorizer = [self.authorizer_function] if self.authorizer_function else []
        for fn in [*self.functions.values(), *authorizer]:
            _ack(
                fn.role,
                "AwsSolutions-IAM5[Resource::*]",
                "Only xray:PutTraceSegments/PutTelemetryRecords (active tracing): X-Ray has no "
                "resource-level permissions. Logs, tables, buckets and the parameter use their own ARNs.",
            )
            _ack(
                fn.function,
                "AwsSolutions-L1",
                "Python 3.12 is pinned on purpose: the deps layer is built for cp312 / manylinux aarch64 "
                "and tested on it; a runtime move upgrades layer, build image and tests together.",
            )
            for logical_id in self._granted_buckets.get(fn.spec.name, []):
                _ack(
                    fn.role,
                    f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/*]",
                    "Object keys (policy versions, models, raw vendor payloads, traces) are created at run "
                    "time; the wildcard covers objects of this one bucket only, with exact s3 actions.",
                )
        for state_machine in (
            self.state_machine,
            self.review_state_machine,
            *self.batch_state_machines.values(),
            self.backtest_state_machine,
        ):
            _ack(
                state_machine.role,
                "AwsSolutions-IAM5[Resource::*]",
                "CloudWatch Logs vended log delivery (logs:*LogDelivery, DescribeLogGroups, resource "
                "policies) and X-Ray have no resource-level permissions; lambda:InvokeFunction is on exact "
                "ARNs.",
            )
        data_bucket_id = bucket_logical_id(deployment.ENV_DATA_BUCKET)
        sharded = {
            **{
                job: (spec, self.batch_state_machines[job])
                for job, spec in deployment.BATCH_STATE_MACHINES.items()
            },
            "backtest": (deployment.BACKTEST_STATE_MACHINE, self.backtest_state_machine),
        }
        for spec, machine in sharded.values():
            role = machine.role
            _ack(
                role,
                f"AwsSolutions-IAM5[Resource::{self.nag_resource(self._batch_executions_arn(spec))}]",
                "The Distributed Map describes and stops its own child executions, whose names Step "
                "Functions makes per map run; the wildcard covers executions of this one machine.",
            )
            _ack(
                role,
                f"AwsSolutions-IAM5[Resource::<{data_bucket_id}.Arn>/{BATCH_MANIFEST_PREFIX}]",
                "The map reads the run's manifest, written per run under batch/<run id>/; s3:GetObject only.",
            )
        starter_role = self.functions[deployment.BATCH_STARTER_FUNCTION.name].role
        for spec in deployment.BATCH_STATE_MACHINES.values():
            _ack(
                starter_role,
                f"AwsSolutions-IAM5[Resource::{self.nag_resource(self._named_executions_arn(spec))}]",
                "The starter describes the execution named from (job, run date) when a start finds it "
                "existing; names are made per run date, and the wildcard covers this one machine.",
            )
        _ack(
            self.batch_schedules.dead_letter_queue,
            "AwsSolutions-SQS3",
            "This queue is itself the dead-letter queue of the batch schedules (EventBridge Scheduler).",
        )
        for name in VENDOR_CALLERS:
            _ack(
                self.functions[name].role,
                f"AwsSolutions-IAM5[Resource::{self.nag_resource(self.vendor_secrets_arn)}]",
                "Vendor credentials: Secrets Manager appends a random suffix to every secret ARN, so the "
                "grant must be a prefix; it covers only secrets under this environment's vendors/ path.",
            )
        api = self.functions[deployment.API_FUNCTION.name]
        _ack(
            api.role,
            f"AwsSolutions-IAM5[Resource::{self.nag_resource(self._executions_arn())}]",
            "states:DescribeExecution on the executions of this one state machine; execution names are "
            "created per request.",
        )
        _ack(
            self.api.api,
            "AwsSolutions-COG4",
            "POST /v1/decisions is called by loan-app backends, not people: it requires SigV4 (IAM) "
            "authorization plus an API key tied to a usage plan; every people's route uses the staff "
            + (
                "Cognito user pool authorizer."
                if self.authorizer_function is None
                else "token authorizer of the lender's own OIDC provider (no Cognito user pools here)."
            ),
        )
        if self.api.api.node.try_find_child("CloudWatchRole") is not None:
            _ack(
                self.api.api.node.find_child("CloudWatchRole"),
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AmazonAPIGatewayPushToCloudWatchLogs]",
                "The account-level API Gateway logging role needs exactly this AWS-maintained policy for "
                "access and execution logs; no lendguard data is reachable with it.",
            )
        if not cfg.waf_enabled:
            _ack(
                self.api.api.deployment_stage,
                "AwsSolutions-APIG3",
                f"WAF is disabled in {self.env_name} by config (waf_enabled); the API still requires IAM "
                "auth and an API key and is throttled per stage and usage plan; staging and prod use WAF.",
            )
        if self.console is not None:
            self._acknowledge_console_findings(self.console)
        if not cfg.point_in_time_recovery:
            for table in self.storage.tables.values():
                _ack(
                    table,
                    "AwsSolutions-DDB3",
                    f"Point-in-time recovery is off in {self.env_name} by config: its data is disposable "
                    "test data; staging and prod enable it.",
                )

    def _acknowledge_console_findings(self, console: Console) -> None:
        """The console's accepted findings: CloudFront without a custom domain, Cognito's tier, and
        the role CDK's BucketDeployment creates to publish the assets (named from its policy)."""
        _ack(
            console.distribution,
            "AwsSolutions-CFR4",
            "No custom domain is configured: with the default *.cloudfront.net certificate CloudFront "
            "fixes the viewer security policy (TLSv1) and it cannot be raised. Viewers are redirected "
            "to HTTPS; a custom domain with an ACM certificate (README, Console) allows TLSv1.2_2021.",
        )
        _ack(
            console.distribution,
            "AwsSolutions-CFR1",
            "No geo restriction: reviewers work from the lender's offices and on the road; every page "
            "needs a signed-in, MFA-protected identity, and every /v1 call is checked against its roles.",
        )
        _ack(
            console.distribution,
            "AwsSolutions-CFR2",
            "A CloudFront web ACL must live in us-east-1 (another stack); the assets are static code "
            "with no data, and /v1/* reaches the API stage, which carries its own regional WAF where "
            "waf_enabled (staging, prod), its throttles and its authorizer.",
        )
        for child in self.node.children:
            if child.node.id.startswith("Custom::CDKBucketDeployment"):
                self._acknowledge_asset_publisher(child)

    def _acknowledge_asset_publisher(self, function: Construct) -> None:
        """CDK's own BucketDeployment function (one per stack): its runtime and its role's grants."""
        _ack(
            function,
            "AwsSolutions-L1",
            "CDK's BucketDeployment handler: its runtime is chosen by the aws-cdk-lib version and moves "
            "with it; it runs only at deploy time to copy the console's assets.",
        )
        role = function.node.find_child("ServiceRole")
        _ack(
            role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]",
            "CDK's BucketDeployment role: only the AWS-maintained policy that lets it write its own logs.",
        )
        policy = role.node.find_child("DefaultPolicy").node.default_child
        document = self.resolve(policy.policy_document)
        for statement in document["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            for action in actions:
                if "*" in action:
                    _ack(
                        role,
                        f"AwsSolutions-IAM5[Action::{action}]",
                        "CDK's BucketDeployment grant to read the staged asset and replace the console's "
                        "objects (s3 read/list/delete families), on the asset bucket and the console bucket only.",
                    )
            for resource in resources:
                name = _nag_form(resource)
                if name == "*":
                    _ack(
                        role,
                        "AwsSolutions-IAM5[Resource::*]",
                        "cloudfront:CreateInvalidation/GetInvalidation after publishing: CDK grants them on "
                        "'*' and invalidations have no narrower resource here.",
                    )
                elif name.endswith("/*"):
                    _ack(
                        role,
                        f"AwsSolutions-IAM5[Resource::{name}]",
                        "Objects of one bucket (the CDK asset bucket, or the console's): the asset's key and "
                        "the published file names are known only at deploy time.",
                    )


def _nag_form(resolved: Any) -> str:
    """A resolved CloudFormation value in cdk-nag's notation: ``Ref`` -> ``<X>``, ``GetAtt`` -> ``<X.Attr>``."""
    if isinstance(resolved, str):
        return resolved
    if isinstance(resolved, dict) and len(resolved) == 1:
        ((function, argument),) = resolved.items()
        if function == "Ref":
            return f"<{argument}>"
        if function == "Fn::GetAtt":
            return f"<{argument[0]}.{argument[1]}>"
        if function == "Fn::Sub" and isinstance(argument, str):
            return re.sub(r"\$\{([^}]+)\}", r"<\1>", argument)
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(_nag_form(part) for part in parts)
    raise ValueError(f"cannot name {resolved!r} as cdk-nag does")


def _ack(scope: Construct, rule_id: str, reason: str) -> None:
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))
