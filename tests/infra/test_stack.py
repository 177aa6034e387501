"""The synthesized ``LendGuard-<env>`` template, checked against ``lendguard.deployment``.

One synthesis per environment per module (the first one in a process takes 5-11 s). Bundling is
off (``bundle=False``), so the deps layer needs no pip and no network. Synthesis is told not to
fail on cdk-nag findings so that ``test_cdk_nag_*`` can list them instead of every test erroring.

dev is synthesized twice: as a test builds it (no ``CDK_DEFAULT_REGION`` / ``CDK_DEFAULT_ACCOUNT``,
so region and account stay deploy-time tokens) and as the CDK CLI does (it always sets both, so
they become literals). ``china`` is dev located in cn-northwest-1 (partition ``aws-cn``), signing
people in with an OIDC provider (no Cognito user pools there).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match, Template
from cfnlint.api import lint_all

from infra.app import build_app, stack_name
from infra.constructs.api import ROUTES
from infra.settings import EnvConfig, load_config, snapstart_offered
from infra.stacks.lendguard_stack import function_name, hash_secret_parameter_name, state_machine_name
from lendguard import deployment
from lendguard.http import access
from lendguard.offline import project
from lendguard.offline.local.runtime import PARTITION as LOCAL_PARTITION
from lendguard.offline.local.runtime import definition_substitutions

ALLOWED_CFN_LINT_WARNINGS = {"W3005"}  # CDK adds DependsOn next to GetAtt on roles (harmless)
CDK_ENV_VARS = ("CDK_DEFAULT_REGION", "CDK_DEFAULT_ACCOUNT")
ACCOUNT = "123456789012"
LOCATED = {"CDK_DEFAULT_REGION": "us-east-1", "CDK_DEFAULT_ACCOUNT": ACCOUNT}  # what the CLI sets
CHINA = {"CDK_DEFAULT_REGION": "cn-northwest-1", "CDK_DEFAULT_ACCOUNT": ACCOUNT}
CHINA_IDENTITY = {"provider": "oidc", "issuer": "https://sso.lender.example.cn", "audience": "lendguard"}
CHINA_CONFIG = EnvConfig.model_validate(
    load_config("dev").model_dump(mode="json") | {"identity": CHINA_IDENTITY}
)


@contextmanager
def cdk_environment(values: dict[str, str]) -> Iterator[None]:
    """``CDK_DEFAULT_*`` exactly as ``values`` says (unset when absent), restored afterwards."""
    saved = {name: os.environ.get(name) for name in CDK_ENV_VARS}
    try:
        for name in CDK_ENV_VARS:
            os.environ.pop(name, None)
        os.environ.update(values)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def every_function() -> tuple[deployment.FunctionSpec, ...]:
    """Every function the stack deploys: online, batch, backtest and the batch schedules' starter."""
    return (
        *deployment.ALL_FUNCTIONS, *deployment.BATCH_FUNCTIONS, *deployment.BACKTEST_FUNCTIONS,
        deployment.BATCH_STARTER_FUNCTION,
    )  # fmt: skip


class Synth:
    def __init__(
        self,
        env_name: str,
        outdir: Path,
        cdk_env: dict[str, str] | None = None,
        config: EnvConfig | None = None,
    ) -> None:
        self.env_name = env_name
        self.config = config or load_config(env_name)
        with cdk_environment(cdk_env or {}):
            self.app = build_app(
                env_name,
                bundle=False,
                outdir=str(outdir),
                context={"@aws-cdk/core:failSynthOnValidationErrors": False},
                config=config,
            )
            self.stack: cdk.Stack = self.app.node.find_child(stack_name(env_name))
            self.assembly = self.app.synth()
        self.template = Template.from_stack(self.stack)
        self.json: dict[str, Any] = self.template.to_json()
        self.template_path = Path(self.assembly.directory) / self.stack.template_file
        self.report = json.loads((Path(self.assembly.directory) / "validation-report.json").read_text())

    def resources(self, type_: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.json["Resources"].items() if v["Type"] == type_}

    def function_logical_id(self, spec: deployment.FunctionSpec) -> str:
        name = function_name(self.env_name, spec)
        (logical_id,) = [
            k
            for k, v in self.resources("AWS::Lambda::Function").items()
            if v["Properties"].get("FunctionName") == name
        ]
        return logical_id

    def alias_logical_id(self, spec: deployment.FunctionSpec) -> str:
        """The function's ``live`` alias (online functions only)."""
        function = self.function_logical_id(spec)
        (alias,) = [
            k
            for k, v in self.resources("AWS::Lambda::Alias").items()
            if v["Properties"]["FunctionName"] == {"Ref": function}
            and v["Properties"]["Name"] == deployment.LIVE_ALIAS
        ]
        return alias

    def invoked(self, spec: deployment.FunctionSpec) -> tuple[str, dict[str, Any]]:
        """What callers invoke: (logical ID, its ARN in the template): the live alias of an online
        function (Ref gives an alias's ARN), else the function itself."""
        if spec in deployment.ONLINE_FUNCTIONS:
            alias = self.alias_logical_id(spec)
            return alias, {"Ref": alias}
        function = self.function_logical_id(spec)
        return function, {"Fn::GetAtt": [function, "Arn"]}

    def role_statements(self, spec: deployment.FunctionSpec) -> list[dict[str, Any]]:
        fn = self.json["Resources"][self.function_logical_id(spec)]
        return self.statements_of_role(fn["Properties"]["Role"]["Fn::GetAtt"][0])

    def statements_of_role(self, role_id: str) -> list[dict[str, Any]]:
        """Every statement of the IAM policies attached to the role ``role_id`` (a logical id)."""
        statements = []
        for policy in self.resources("AWS::IAM::Policy").values():
            if {"Ref": role_id} in policy["Properties"]["Roles"]:
                statements += policy["Properties"]["PolicyDocument"]["Statement"]
        return statements

    def assert_machine_may_run_its_map(self, spec: deployment.StateMachineSpec) -> None:
        """The machine's role starts, describes its own executions and reads the manifest under batch/."""
        props = self.json["Resources"][spec.logical_id]["Properties"]
        statements = self.statements_of_role(props["RoleArn"]["Fn::GetAtt"][0])
        by_action = {a: json.dumps(s["Resource"]) for s in statements for a in _actions(s)}
        name = state_machine_name(self.env_name, spec)
        assert f"stateMachine:{name}" in by_action["states:StartExecution"]
        assert f"execution:{name}/*" in by_action["states:DescribeExecution"]
        assert "/batch/*" in by_action["s3:GetObject"]

    def nag_findings(self, within: str = "") -> list[str]:
        """cdk-nag's open findings (acknowledged ones are not in the report) on paths containing ``within``."""
        return [
            f"{v['severity']} {v['ruleName']} at {c['constructPath']}"
            for report in self.report["pluginReports"]
            for v in report["violations"]
            for c in v["violatingConstructs"]
            if within in c["constructPath"]
        ]


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return Synth("dev", tmp_path_factory.mktemp("cdk-dev"))


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return Synth("prod", tmp_path_factory.mktemp("cdk-prod"))


@pytest.fixture(scope="module")
def dev_located(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return Synth("dev", tmp_path_factory.mktemp("cdk-dev-located"), LOCATED)


@pytest.fixture(scope="module")
def china(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    # Cognito user pools are not offered in aws-cn: a China deployment uses the lender's OIDC provider.
    return Synth("dev", tmp_path_factory.mktemp("cdk-china"), CHINA, config=CHINA_CONFIG)


@pytest.fixture(params=["dev", "dev_located", "china", "prod"])
def synth(request: pytest.FixtureRequest) -> Synth:
    return request.getfixturevalue(request.param)


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def _refs(value: Any) -> set[str]:
    """Logical IDs referenced anywhere in ``value`` (Ref and Fn::GetAtt)."""
    if isinstance(value, dict):
        if "Ref" in value:
            return {value["Ref"]}
        if "Fn::GetAtt" in value:
            return {value["Fn::GetAtt"][0]}
        return set().union(*(_refs(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_refs(v) for v in value)) if value else set()
    return set()


# ---- DynamoDB -----------------------------------------------------------------------------------


def test_tables_match_deployment(synth: Synth) -> None:
    tables = synth.resources("AWS::DynamoDB::Table")
    assert set(tables) == {spec.logical_id for spec in deployment.TABLES}
    for spec in deployment.TABLES:
        props = tables[spec.logical_id]["Properties"]
        keys = {k["KeyType"]: k["AttributeName"] for k in props["KeySchema"]}
        assert keys == {"HASH": spec.partition_key, **({"RANGE": spec.sort_key} if spec.sort_key else {})}
        assert {a["AttributeType"] for a in props["AttributeDefinitions"]} == {"S"}
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        if synth.config.customer_managed_keys:  # tests/infra/test_personal_data_template.py checks which key
            assert props["SSESpecification"]["SSEType"] == "KMS"
        else:
            assert props["SSESpecification"] == {"SSEEnabled": True}  # AWS-managed key
        if spec.ttl_attribute:
            assert props["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}
        else:
            assert "TimeToLiveSpecification" not in props
        indexes = {
            gsi["IndexName"]: (
                tuple(k["AttributeName"] for k in gsi["KeySchema"]),
                gsi["Projection"]["ProjectionType"],
            )
            for gsi in props.get("GlobalSecondaryIndexes", [])
        }
        assert indexes == {name: (keys_, "ALL") for name, keys_ in spec.global_indexes.items()}
        pitr = props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]
        assert pitr is synth.config.point_in_time_recovery


def test_removal_policy_follows_config(dev: Synth, prod: Synth) -> None:
    for spec in deployment.TABLES:
        assert dev.json["Resources"][spec.logical_id]["DeletionPolicy"] == "Delete"
        assert prod.json["Resources"][spec.logical_id]["DeletionPolicy"] == "Retain"
        assert prod.json["Resources"][spec.logical_id]["Properties"]["DeletionProtectionEnabled"] is True
    for logical_id in deployment.BUCKETS:
        assert dev.json["Resources"][logical_id]["DeletionPolicy"] == "Delete"
        assert prod.json["Resources"][logical_id]["DeletionPolicy"] == "Retain"
    # Auto-delete of bucket objects only where the stack may destroy its buckets.
    assert dev.resources("Custom::S3AutoDeleteObjects")
    assert not prod.resources("Custom::S3AutoDeleteObjects")
    assert prod.stack.termination_protection is True


# ---- S3 -----------------------------------------------------------------------------------------


def test_buckets_are_private_encrypted_and_logged(dev: Synth) -> None:
    buckets = dev.resources("AWS::S3::Bucket")
    assert set(deployment.BUCKETS) <= set(buckets)
    for logical_id, bucket in buckets.items():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == dict.fromkeys(
            ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"], True
        )
        (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        if logical_id in deployment.BUCKETS:
            assert props["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": "AccessLogsBucket"}
    # Every bucket denies requests without TLS.
    denied = {
        next(iter(_refs(p["Properties"]["Bucket"])))
        for p in dev.resources("AWS::S3::BucketPolicy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    }
    assert denied == set(buckets)


def test_artifacts_versioned_and_raw_payloads_expire(dev: Synth) -> None:
    artifacts = dev.json["Resources"]["ArtifactsBucket"]["Properties"]
    data = dev.json["Resources"]["DataBucket"]["Properties"]
    assert artifacts["VersioningConfiguration"] == {"Status": "Enabled"}
    assert "VersioningConfiguration" not in data
    raw_rules = [r for r in data["LifecycleConfiguration"]["Rules"] if r.get("Prefix") == "raw/"]
    assert [r["ExpirationInDays"] for r in raw_rules] == [dev.config.raw_payload_retention_days]


# ---- Lambda -------------------------------------------------------------------------------------


def test_every_function_exists_with_spec_settings(dev: Synth) -> None:
    functions = {
        v["Properties"]["FunctionName"]: v["Properties"]
        for v in dev.resources("AWS::Lambda::Function").values()
        if "FunctionName" in v["Properties"]
    }
    every = every_function()
    assert set(functions) == {function_name("dev", spec) for spec in every}
    layers = set(dev.resources("AWS::Lambda::LayerVersion"))
    assert len(layers) == 4
    (batch_layer,) = [k for k in layers if k.startswith("BatchLayer")]
    (backtest_layer,) = [k for k in layers if k.startswith("BacktestLayer")]
    for spec in every:
        props = functions[function_name("dev", spec)]
        # Only the batch functions carry pyarrow (the batch layer), only the backtest's pandas.
        own = {batch_layer} if spec in deployment.BATCH_FUNCTIONS else set()
        own |= {backtest_layer} if spec in deployment.BACKTEST_FUNCTIONS else set()
        assert {ref["Ref"] for ref in props["Layers"]} == layers - {batch_layer, backtest_layer} | own
        assert props["Handler"] == spec.handler
        assert props["Runtime"] == "python3.12"
        assert props["Architectures"] == ["arm64"]
        assert props["MemorySize"] == spec.memory_mb
        assert props["Timeout"] == spec.timeout_s
        assert props["TracingConfig"] == {"Mode": "Active"}
        env = props["Environment"]["Variables"]
        for table in deployment.TABLES:
            assert env[table.env_var] == {"Ref": table.logical_id}
        for logical_id, var in deployment.BUCKETS.items():
            assert env[var] == {"Ref": logical_id}
        assert env["POWERTOOLS_SERVICE_NAME"] == "lendguard"
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "LendGuard"
        assert env["LOG_LEVEL"] == dev.config.log_level
        assert env[deployment.ENV_POLICY_ID] == dev.config.policy_id
        assert env[deployment.ENV_POLICY_VERSION] == str(dev.config.policy_version)
        assert env[deployment.ENV_HASH_SECRET_PARAM] == hash_secret_parameter_name("dev")
        if spec is deployment.API_FUNCTION:
            assert env[deployment.ENV_DECISION_STATE_MACHINE] == {
                "Ref": deployment.DECISION_STATE_MACHINE.logical_id
            }
        else:
            assert deployment.ENV_DECISION_STATE_MACHINE not in env
        # Finalize starts the review workflow, and the API for an appeal (it answers with task tokens).
        if spec.name in ("finalize", "api"):
            assert env[deployment.ENV_REVIEW_STATE_MACHINE] == {
                "Ref": deployment.REVIEW_STATE_MACHINE.logical_id
            }
        else:
            assert deployment.ENV_REVIEW_STATE_MACHINE not in env
        # Own log group with the configured retention.
        log_group = dev.json["Resources"][props["LoggingConfig"]["LogGroup"]["Ref"]]
        assert log_group["Properties"]["RetentionInDays"] == dev.config.log_retention_days


def test_function_roles_are_least_privilege(dev: Synth) -> None:
    for spec in deployment.ALL_FUNCTIONS:
        role_id = dev.json["Resources"][dev.function_logical_id(spec)]["Properties"]["Role"]["Fn::GetAtt"][0]
        assert "ManagedPolicyArns" not in dev.json["Resources"][role_id]["Properties"], spec.name
    by_name = {spec.name: spec for spec in deployment.ALL_FUNCTIONS}

    def actions(name: str, prefix: str) -> set[str]:
        return {a for s in dev.role_statements(by_name[name]) for a in _actions(s) if a.startswith(prefix)}

    def resources_for(name: str, action: str) -> set[str]:
        return {
            ref
            for s in dev.role_statements(by_name[name])
            if action in _actions(s)
            for ref in _refs(s["Resource"])
        }

    for spec in deployment.ALL_FUNCTIONS:
        all_actions = {a for s in dev.role_statements(spec) for a in _actions(s)}
        assert not any(a.endswith(":*") or a == "*" for a in all_actions), spec.name
        assert "ssm:GetParameter" in all_actions
        assert "s3:GetObject" in all_actions  # the policy in the artifacts bucket
    # validate: beyond logs, tracing, the parameter and the artifacts bucket, it reads the policy
    # routing and counts the application's velocity (the daily table's counters and sets).
    assert resources_for("validate", "dynamodb:GetItem") == {"PolicyVersionsTable"}
    assert resources_for("validate", "dynamodb:UpdateItem") == {"DailyTable"}
    assert resources_for("validate", "dynamodb:PutItem") == {"DailyTable"}  # the once-per-case marker
    # internal_data reads our own data and writes nothing.
    assert resources_for("internal_data", "dynamodb:BatchGetItem") == {
        "DailyTable", "LoanEventsTable", "CustomerFeaturesTable",
    }  # fmt: skip
    assert actions("internal_data", "dynamodb:") & {"dynamodb:PutItem", "dynamodb:UpdateItem"} == set()
    # The feature job reads cases and loan events and writes only the feature table.
    assert resources_for("customer_features", "dynamodb:BatchWriteItem") == {"CustomerFeaturesTable"}
    assert resources_for("customer_features", "dynamodb:Query") == {"CasesTable", "LoanEventsTable"}
    assert actions("validate", "s3:Put") == set()
    assert resources_for("lists", "dynamodb:GetItem") == {"ListsTable"}
    assert actions("lists", "dynamodb:") & {"dynamodb:PutItem", "dynamodb:DeleteItem"} == set()
    assert resources_for("external_data", "dynamodb:PutItem") == {"DataCacheTable"}
    assert resources_for("external_data", "s3:PutObject") == {"DataBucket"}
    # Decision calls the after_model vendor groups with the same cache and payload archive.
    assert resources_for("decision", "dynamodb:PutItem") == {"DataCacheTable"}
    assert resources_for("decision", "s3:PutObject") == {"DataBucket"}
    assert resources_for("scoring", "s3:GetObject") == {"ArtifactsBucket"}
    for name in ("finalize", "record_failure"):
        assert resources_for(name, "s3:PutObject") == {"DataBucket"}
    assert resources_for("record_failure", "dynamodb:PutItem") == {"CasesTable"}
    # finalize also counts the case into the per-day rule statistics.
    assert resources_for("finalize", "dynamodb:PutItem") == {"CasesTable", "DailyTable"}
    assert resources_for("finalize", "dynamodb:UpdateItem") == {"CasesTable", "DailyTable"}
    assert resources_for("api", "dynamodb:GetItem") == {
        "CasesTable", "ListsTable", "IdempotencyTable", "LoanEventsTable", "DailyTable", "PolicyVersionsTable",
        "AccountsTable",
    }  # fmt: skip
    # Cases: review answers and re-decision links are conditional writes; loan events are put once;
    # policy versions and routing changes too (routing in one TransactWriteItems); a draw adds its
    # loan to the account (conditional on the account's version).
    assert resources_for("api", "dynamodb:PutItem") == {
        "CasesTable", "ListsTable", "IdempotencyTable", "LoanEventsTable", "PolicyVersionsTable", "AccountsTable",
    }  # fmt: skip
    assert resources_for("api", "states:StartSyncExecution") == {deployment.DECISION_STATE_MACHINE.logical_id}
    assert "states:DescribeExecution" in actions("api", "states:")
    # The API reads a failed case's archived application; it writes only pushed policy bodies.
    assert resources_for("api", "s3:GetObject") == {"ArtifactsBucket", "DataBucket"}
    assert resources_for("api", "s3:PutObject") == {"ArtifactsBucket"}
    # Review: finalize starts the review workflow; the API resumes it; nobody else does either.
    review = deployment.REVIEW_STATE_MACHINE.logical_id
    assert resources_for("finalize", "states:StartExecution") == {review}
    assert resources_for("api", "states:SendTaskSuccess") == {review}
    for spec in deployment.ALL_FUNCTIONS:
        if spec.name not in ("finalize", "api"):
            assert actions(spec.name, "states:") == set(), spec.name
    # An appeal (POST /v1/cases/{id}/appeal) starts a review workflow from the API.
    assert resources_for("api", "states:StartExecution") == {review}
    for name in ("review_task", "review_conclude"):
        assert (
            resources_for(name, "dynamodb:PutItem")
            == resources_for(name, "dynamodb:GetItem")
            == {"CasesTable"}
        )
        assert actions(name, "s3:Put") == set()


# ---- Step Functions -----------------------------------------------------------------------------


def _definition_text(definition: Any) -> str:
    """DefinitionString as text; tokens of an Fn::Join become ``<token>``."""
    if isinstance(definition, str):
        return definition
    parts = definition["Fn::Join"][1]
    return "".join(p if isinstance(p, str) else "<token>" for p in parts)


@pytest.mark.parametrize(
    ("spec", "kind"),
    [(deployment.DECISION_STATE_MACHINE, "EXPRESS"), (deployment.REVIEW_STATE_MACHINE, "STANDARD")],
)
def test_state_machines_are_typed_logged_and_traced(dev: Synth, spec, kind) -> None:
    props = dev.json["Resources"][spec.logical_id]["Properties"]
    assert props["StateMachineType"] == spec.kind == kind
    assert props["StateMachineName"] == state_machine_name("dev", spec)
    assert props["TracingConfiguration"] == {"Enabled": True}
    logging = props["LoggingConfiguration"]
    assert logging["Level"] == "ALL"
    assert logging["IncludeExecutionData"] is False


@pytest.mark.parametrize("spec", deployment.STATE_MACHINES, ids=lambda s: s.logical_id)
def test_state_machine_definition_and_substitutions(dev: Synth, spec) -> None:
    props = dev.json["Resources"][spec.logical_id]["Properties"]
    text = _definition_text(props["DefinitionString"])
    asl = json.loads(project.definition_path(spec).read_text())
    for state in asl["States"]:
        assert f'"{state}"' in text, state
    # Every ${Key} left in the definition is one of ours, and CloudFormation substitutes it
    # (DefinitionSubstitutions) with the ARN of the function deployment declares for it.
    placeholders = set(re.findall(r"\$\{([^}]+)\}", text))
    functions = {f.substitution for f in spec.functions if f.substitution}
    expected = {*functions, deployment.PARTITION_SUBSTITUTION}
    assert placeholders == expected
    substitutions = props["DefinitionSubstitutions"]
    assert set(substitutions) == expected
    for fn_spec in spec.functions:
        assert substitutions[fn_spec.substitution] == dev.invoked(fn_spec)[1]
    # The partition of the account it deploys to (aws, aws-cn, aws-us-gov), never a literal.
    assert substitutions[deployment.PARTITION_SUBSTITUTION] == {"Ref": "AWS::Partition"}
    # The local runtime's substitutions resolve the same keys to valid JSON.
    arns = {key: f"arn:{LOCAL_PARTITION}:lambda:::function:{key}" for key in functions}
    rendered = project.render_definition(spec, definition_substitutions(arns))
    assert json.loads(rendered)["StartAt"] == asl["StartAt"]
    assert f"arn:{LOCAL_PARTITION}:states:::lambda:invoke" in rendered


@pytest.mark.parametrize("spec", deployment.STATE_MACHINES, ids=lambda s: s.logical_id)
def test_state_machine_may_invoke_exactly_its_functions(dev: Synth, spec) -> None:
    role_id = dev.json["Resources"][spec.logical_id]["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    invokable: set[str] = set()
    for policy in dev.resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            for s in policy["Properties"]["PolicyDocument"]["Statement"]:
                if "lambda:InvokeFunction" in _actions(s):
                    invokable |= _refs(s["Resource"])
    assert invokable == {dev.invoked(f)[0] for f in spec.functions}


# ---- API Gateway --------------------------------------------------------------------------------


def _api_paths(synth: Synth) -> dict[str, str]:
    """Resource logical ID -> full path, rebuilt from ParentId / PathPart."""
    resources = synth.resources("AWS::ApiGateway::Resource")
    paths: dict[str, str] = {}

    def path_of(logical_id: str) -> str:
        if logical_id not in paths:
            props = resources[logical_id]["Properties"]
            parent = props["ParentId"]
            prefix = "" if "Fn::GetAtt" in parent else path_of(parent["Ref"])
            paths[logical_id] = f"{prefix}/{props['PathPart']}"
        return paths[logical_id]

    for logical_id in resources:
        path_of(logical_id)
    return paths


def test_api_routes_require_iam_and_api_key(dev: Synth) -> None:
    paths = _api_paths(dev)
    api_fn = dev.invoked(deployment.API_FUNCTION)[0]  # the live alias
    methods = {
        (paths[m["Properties"]["ResourceId"]["Ref"]], m["Properties"]["HttpMethod"]): m["Properties"]
        for m in dev.resources("AWS::ApiGateway::Method").values()
    }
    assert set(methods) == set(ROUTES)
    # Loan-app backends: IAM and an API key; people's routes: tests/infra/test_api_access.py.
    machine = {(r.path, r.method) for r in access.ROUTES if r.machine}
    for key, props in methods.items():
        if key in machine:
            assert props["AuthorizationType"] == "AWS_IAM"
            assert props["ApiKeyRequired"] is True
        assert props["Integration"]["Type"] == "AWS_PROXY"
        assert api_fn in _refs(props["Integration"]["Uri"])
        assert "RequestValidatorId" in props
    dev.template.resource_count_is("AWS::ApiGateway::UsagePlan", 1)
    dev.template.resource_count_is("AWS::ApiGateway::ApiKey", 1)
    dev.template.resource_count_is("AWS::ApiGateway::UsagePlanKey", 1)
    dev.template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": "dev",
            "AccessLogSetting": Match.object_like({"DestinationArn": Match.any_value()}),
            "TracingEnabled": True,
            "MethodSettings": Match.array_with(
                [
                    Match.object_like(
                        {
                            "DataTraceEnabled": False,
                            "LoggingLevel": "ERROR",
                            "ThrottlingRateLimit": dev.config.api_throttle_rate_limit,
                            "ThrottlingBurstLimit": dev.config.api_throttle_burst_limit,
                        }
                    )
                ]
            ),
        },
    )


def test_waf_only_where_configured(dev: Synth, prod: Synth) -> None:
    assert not dev.resources("AWS::WAFv2::WebACLAssociation")
    assert prod.config.waf_enabled
    prod.template.resource_count_is("AWS::WAFv2::WebACLAssociation", 1)


# ---- CloudWatch ---------------------------------------------------------------------------------


def test_alarms_and_dashboard(dev: Synth) -> None:
    # The risk alarms (their own topics, thresholds and dashboard) are in test_risk_alarms.py.
    # The batch runs' alarms are in test_batch_stack.py, the backtest's in test_backtest_stack.py.
    alarms = [
        v
        for k, v in dev.resources("AWS::CloudWatch::Alarm").items()
        if not k.startswith(("RiskAlarms", "BatchSchedules", "BacktestAlarms"))
    ]
    (topic_id,) = [k for k in dev.resources("AWS::SNS::Topic") if not k.startswith("RiskAlarms")]
    for alarm in alarms:
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": topic_id}]
        assert props["Threshold"] == 0
        assert props["ComparisonOperator"] == "GreaterThanThreshold"

    def dims(props: dict[str, Any]) -> set[str]:
        return {r for d in props.get("Dimensions", []) for r in _refs(d["Value"])}

    by_metric: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for alarm in alarms:
        props = alarm["Properties"]
        by_metric.setdefault((props["Namespace"], props["MetricName"]), []).append(props)
    failed = by_metric[("AWS/States", "ExecutionsFailed")]
    assert [dims(p) for p in failed] == [
        {deployment.DECISION_STATE_MACHINE.logical_id},
        {deployment.REVIEW_STATE_MACHINE.logical_id},
    ]
    errors = by_metric[("AWS/Lambda", "Errors")]
    assert set().union(*(dims(p) for p in errors)) == {
        dev.function_logical_id(spec) for spec in every_function()
    }
    assert len(by_metric[("AWS/ApiGateway", "5XXError")]) == 1
    dev.template.resource_count_is("AWS::CloudWatch::Dashboard", 2)  # platform and risk
    # The alarm topic is encrypted with a rotating key CloudWatch may use.
    assert "KmsMasterKeyId" in dev.json["Resources"][topic_id]["Properties"]
    dev.template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


# ---- cdk-nag and cfn-lint -----------------------------------------------------------------------


def test_cdk_nag_reports_no_unacknowledged_findings(synth: Synth) -> None:
    # cdk-nag 3 is a policy-validation plugin: findings go to validation-report.json (and fail
    # `cdk synth`), acknowledged ones are dropped from it. Warnings count too: none is left open.
    assert synth.nag_findings() == []


def test_cdk_nag_leaves_no_error_annotations(dev: Synth) -> None:
    errors = Annotations.from_stack(dev.stack).find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
    assert errors == []


def _as_deployed_in_aws_partition(template: dict[str, Any]) -> str:
    """The template with ``${Partition}`` in state machine definitions replaced as CloudFormation
    does in the ``aws`` partition: cfn-lint's ASL schema (1.58) accepts only ``arn:aws:`` task
    resources, and skips a substitution only when it is the whole string."""
    template = json.loads(json.dumps(template))
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::StepFunctions::StateMachine" and isinstance(
            props.get("DefinitionString"), str
        ):
            placeholder = "${" + deployment.PARTITION_SUBSTITUTION + "}"
            props["DefinitionString"] = props["DefinitionString"].replace(placeholder, "aws")
            props["DefinitionSubstitutions"].pop(deployment.PARTITION_SUBSTITUTION)
    return json.dumps(template)


def _partition_gap(rule_id: str, message: str) -> bool:
    # cfn-lint checks every region; Cognito user pools are missing in the China partition, where
    # infra/config selects the lender's OIDC provider instead (DESIGN.md, "Partitions").
    if rule_id == "E2530":
        # SnapStart is missing in a few regions; the stack gives them provisioned concurrency
        # instead (infra/settings.snapstart_offered). Every region cfn-lint names must be one.
        named = re.findall(r"'([a-z]+(?:-[a-z]+)+-\d)'", message)
        return bool(named) and not any(snapstart_offered(region) for region in named)
    return rule_id == "E3006" and "'AWS::Cognito::" in message and "'cn-" in message


def test_cfn_lint_reports_no_errors(synth: Synth) -> None:
    matches = lint_all(_as_deployed_in_aws_partition(json.loads(synth.template_path.read_text())))
    errors = [
        f"{m.rule.id} {m.message} {getattr(m, 'path', '')}"
        for m in matches
        if m.rule.id.startswith("E") and not _partition_gap(m.rule.id, m.message)
    ]
    assert errors == []
    warnings = {m.rule.id for m in matches if m.rule.id.startswith("W")}
    assert warnings <= ALLOWED_CFN_LINT_WARNINGS, warnings


# ---- review workflow ----------------------------------------------------------------------------


def test_review_waits_for_reviewers_with_a_policy_timeout() -> None:
    asl = json.loads(project.definition_path(deployment.REVIEW_STATE_MACHINE).read_text())
    waits = {
        name: st for name, st in asl["States"].items() if st.get("Resource", "").endswith(".waitForTaskToken")
    }
    assert set(waits) == {"InitialReview", "FinalReview"}
    for state in waits.values():
        # The timeout comes from the case's input (the pinned policy's review.timeout_seconds).
        assert state["TimeoutSecondsPath"] == "$.timeout_seconds" and "TimeoutSeconds" not in state
        assert state["Parameters"]["Payload"]["task_token.$"] == "$$.Task.Token"
        assert state["Catch"][0]["ErrorEquals"] == ["States.Timeout"]
        assert state["Catch"][-1]["ErrorEquals"] == ["States.ALL"]
    choice = asl["States"]["FinalReviewRequired?"]
    assert choice["Choices"][0]["Next"] == "FinalReview" and choice["Default"] == "ConcludeReview"


def test_api_takes_the_case_list_query_parameters(dev: Synth) -> None:
    paths = _api_paths(dev)
    (method,) = [
        m["Properties"]
        for m in dev.resources("AWS::ApiGateway::Method").values()
        if paths[m["Properties"]["ResourceId"]["Ref"]] == "/v1/cases"
    ]
    assert method["HttpMethod"] == "GET"
    params = method["RequestParameters"]
    assert params == {f"method.request.querystring.{n}": False for n in ("status", "decision", "from", "to",
                      "application_id", "limit", "next_token")}  # fmt: skip


def test_only_the_vendor_callers_read_vendor_secrets_under_their_prefix(dev: Synth) -> None:
    # ExternalData, and Decision for the policy's after_model vendor groups (the payout card).
    for spec in deployment.ALL_FUNCTIONS:
        statements = [s for s in dev.role_statements(spec) if "secretsmanager:GetSecretValue" in _actions(s)]
        if spec.name not in ("external_data", "decision"):
            assert statements == [], spec.name
            continue
        (statement,) = statements
        assert "lendguard/dev/vendors/*" in json.dumps(statement["Resource"])


# ---- partitions ---------------------------------------------------------------------------------

HARD_CODED_PARTITION = "arn:aws:"  # "arn:aws-cn:" and "arn:aws-us-gov:" do not contain it


def _sources_with_partition_literals() -> list[str]:
    root = project.project_root()
    files = [
        *project.statemachines_dir().glob("*.json"),
        *(p for p in (root / "infra").rglob("*") if p.suffix in {".py", ".json"}),
        *(root / "layers" / "core" / "python" / "lendguard").rglob("*.py"),
        *project.functions_dir().rglob("*.py"),
    ]
    return sorted(
        f"{path.relative_to(root)}:{number}"
        for path in files
        if "__pycache__" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if HARD_CODED_PARTITION in line
    )


def test_no_source_hard_codes_the_partition() -> None:
    assert _sources_with_partition_literals() == []


def test_china_region_template_has_no_aws_partition_literal(china: Synth) -> None:
    assert china.stack.region == "cn-northwest-1"
    text = china.template_path.read_text()
    assert HARD_CODED_PARTITION not in text
    assert "arn:aws-cn:" in text  # CDK writes the partition it knows for the region


def test_cdk_env_vars_change_the_template(dev: Synth, dev_located: Synth) -> None:
    # The two syntheses really differ where cdk-nag names resources (else one would not cover both).
    assert "<AWS::Region>" not in json.dumps(dev_located.json)
    assert dev_located.stack.region == "us-east-1" and dev_located.stack.account == ACCOUNT
    assert cdk.Token.is_unresolved(dev.stack.region)


def test_customer_feature_job_has_its_own_schedule_in_shanghai_time(dev: Synth) -> None:
    from infra.settings import EnvConfig

    schedules = dev.resources("AWS::Scheduler::Schedule").values()
    (props,) = [s["Properties"] for s in schedules if s["Properties"]["Name"].endswith("-customer-features")]
    assert props["ScheduleExpressionTimezone"] == "Asia/Shanghai"
    assert deployment.CUSTOMER_FEATURES_SCHEDULE_TIMEZONE == "Asia/Shanghai"
    assert props["ScheduleExpression"] == EnvConfig.model_fields["customer_features_schedule"].default
    fn = dev.function_logical_id(deployment.CUSTOMER_FEATURES_FUNCTION)
    assert props["Target"]["Arn"] == {"Fn::GetAtt": [fn, "Arn"]}
    table = dev.resources("AWS::DynamoDB::Table")["CustomerFeaturesTable"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "customer", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_outputs_name_the_artifacts_bucket(dev: Synth) -> None:
    # The README's release steps copy the policy and the model into it.
    assert dev.json["Outputs"]["ArtifactsBucketName"]["Value"] == {"Ref": "ArtifactsBucket"}
