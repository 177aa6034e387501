"""Per-environment settings of the CDK app: ``infra/config/<env>.json`` validated with pydantic.

A bad environment name or a bad field fails synthesis at once with a ``ConfigError`` that names
the file and the field, before any construct is built.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lendguard import deployment

CONFIG_DIR = Path(__file__).resolve().parent / "config"

# The retention periods CloudWatch Logs accepts, in days -> the aws_logs.RetentionDays member.
LOG_RETENTION_DAYS: dict[int, str] = {
    1: "ONE_DAY",
    3: "THREE_DAYS",
    5: "FIVE_DAYS",
    7: "ONE_WEEK",
    14: "TWO_WEEKS",
    30: "ONE_MONTH",
    60: "TWO_MONTHS",
    90: "THREE_MONTHS",
    120: "FOUR_MONTHS",
    150: "FIVE_MONTHS",
    180: "SIX_MONTHS",
    365: "ONE_YEAR",
    400: "THIRTEEN_MONTHS",
    545: "EIGHTEEN_MONTHS",
    731: "TWO_YEARS",
    1096: "THREE_YEARS",
    1827: "FIVE_YEARS",
    2192: "SIX_YEARS",
    2557: "SEVEN_YEARS",
    2922: "EIGHT_YEARS",
    3288: "NINE_YEARS",
    3653: "TEN_YEARS",
}

_ENV_NAME = re.compile(r"^[a-z][a-z0-9-]{0,15}$")


class ConfigError(ValueError):
    """The environment name or its configuration file is not valid."""


class RemovalPolicy(StrEnum):
    DESTROY = "destroy"
    RETAIN = "retain"


class Retention(BaseModel):
    """How long each class of personal data is kept (days), enforced by S3 lifecycle rules on the
    case archive's prefixes and DynamoDB TTL on the cases table. Raw vendor payloads have their
    own ``raw_payload_retention_days``. The decision, with the hashed keys it was made on, is kept
    longest: lending records must outlive the personal data they were decided from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    clear_application_days: Annotated[int, Field(ge=1)] = 365
    derived_facts_days: Annotated[int, Field(ge=1)] = 1095
    decision_days: Annotated[int, Field(ge=1)] = 1825

    @model_validator(mode="after")
    def _decision_longest(self) -> Retention:
        if not self.clear_application_days <= self.derived_facts_days <= self.decision_days:
            raise ValueError("must keep clear_application_days <= derived_facts_days <= decision_days")
        return self


class RiskAlarms(BaseModel):
    """Thresholds of the platform figures the risk alarms watch (infra/constructs/risk_alarms.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Vendors with alarms of their own (a policy may add others; they are in the daily report).
    vendors: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]] = Field(
        default_factory=lambda: ["identity", "fraud_blacklist", "fraud_score", "bureau"]
    )
    vendor_error_rate: Annotated[float, Field(gt=0, le=1)] = 0.10
    vendor_empty_rate: Annotated[float, Field(gt=0, le=1)] = 0.10
    vendor_spend_per_application: Annotated[float, Field(gt=0)] = 10.0
    decision_p95_ms: Annotated[float, Field(gt=0)] = 3000.0
    period_minutes: Annotated[int, Field(ge=1, le=1440)] = 60


class BatchSchedule(BaseModel):
    """When EventBridge Scheduler starts one batch job, in Asia/Shanghai (deployment.BATCH_SCHEDULE_TIMEZONE)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # An EventBridge Scheduler cron expression (six fields), read in Asia/Shanghai.
    expression: Annotated[str, Field(pattern=r"^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$")]
    enabled: bool = True


class BatchRuns(BaseModel):
    """The in-loan and post-loan schedules and how the scheduler retries a failed start."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # In-loan after the day's repayments have settled; post-loan before contact hours (08:00).
    inloan: BatchSchedule = Field(default_factory=lambda: BatchSchedule(expression="cron(30 1 * * ? *)"))
    postloan: BatchSchedule = Field(default_factory=lambda: BatchSchedule(expression="cron(0 6 * * ? *)"))
    retry_attempts: Annotated[int, Field(ge=0, le=185)] = 3
    max_event_age_seconds: Annotated[int, Field(ge=60, le=86400)] = 3600

    @model_validator(mode="after")
    def _every_job(self) -> BatchRuns:
        jobs = {name for name in type(self).model_fields if isinstance(getattr(self, name), BatchSchedule)}
        if jobs != set(deployment.BATCH_STATE_MACHINES):
            raise ValueError(
                f"schedules {sorted(jobs)} must be exactly the batch jobs {sorted(deployment.BATCH_STATE_MACHINES)}"
            )
        return self

    def schedule(self, job: str) -> BatchSchedule:
        value = getattr(self, job)
        assert isinstance(value, BatchSchedule)
        return value


class CognitoIdentity(BaseModel):
    """People sign in to a Cognito user pool the stack creates (MFA required, no self sign-up)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: Literal["cognito"] = "cognito"


class OidcIdentity(BaseModel):
    """People sign in to the lender's own OIDC provider; a Lambda TOKEN authorizer verifies its
    tokens. For partitions without Cognito user pools (the China regions). MFA and sign-up are
    the provider's to enforce."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: Literal["oidc"]
    # The token's iss, exactly; tokens are verified against its key set over https.
    issuer: Annotated[str, Field(pattern=r"^https://[^\s/?#]+(/[^\s?#]*)?$")]
    audience: Annotated[str, Field(min_length=1, pattern=r"^\S+$")]
    # Default: the jwks_uri of the issuer's discovery document (/.well-known/openid-configuration).
    jwks_uri: Annotated[str, Field(pattern=r"^https://[^\s/?#]+(/[^\s#]*)?$")] | None = None
    # The claim that carries the groups, whose values are the roles (operator, reviewer, ...).
    groups_claim: Annotated[str, Field(pattern=r"^[A-Za-z0-9_:./-]{1,128}$")] = "groups"
    # The console's sign-in (authorization code + PKCE): the provider's endpoints, as its discovery
    # document names them (synth reaches no network). The console's client id is ``audience``: the
    # console sends the id token, whose aud is its client, and the authorizer accepts one audience.
    authorization_endpoint: Annotated[str, Field(pattern=r"^https://[^\s/?#]+(/[^\s#]*)?$")] | None = None
    token_endpoint: Annotated[str, Field(pattern=r"^https://[^\s/?#]+(/[^\s#]*)?$")] | None = None


Identity = Annotated[CognitoIdentity | OidcIdentity, Field(discriminator="provider")]

# Regions whose Lambda has no SnapStart: the China partition (aws-cn; "Lambda SnapStart for Python
# and .NET is not available in the China Regions", docs.amazonaws.cn/en_us/aws/latest/userguide/
# lambda.html), GovCloud, the isolated and sovereign partitions, and two newer regions, as
# cfn-lint 1.58's region data lists them (rule E2530). There the online functions get
# provisioned concurrency instead.
SNAPSTART_MISSING_REGION_PREFIXES: tuple[str, ...] = ("cn-", "us-gov-", "us-iso", "eu-iso", "eusc-")
SNAPSTART_MISSING_REGIONS: frozenset[str] = frozenset({"ap-east-2", "ap-southeast-6"})


def snapstart_offered(region: str) -> bool:
    """Whether Lambda offers SnapStart for Python functions in ``region``."""
    return region not in SNAPSTART_MISSING_REGIONS and not region.startswith(
        SNAPSTART_MISSING_REGION_PREFIXES
    )


class ColdStart(BaseModel):
    """How the online functions (``deployment.ONLINE_FUNCTIONS``) avoid cold starts.

    Each is invoked through its ``live`` alias on a published version. Where Lambda offers
    SnapStart for Python and ``snapstart`` is true, versions start from a snapshot taken after
    the warm-up. Elsewhere (the China regions, or ``snapstart`` false) ``provisioned_concurrency``
    keeps that many environments initialised on the alias; a function it does not name starts
    cold. The two never combine: Lambda refuses provisioned concurrency on a SnapStart version.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    snapstart: bool = True
    provisioned_concurrency: dict[str, Annotated[int, Field(ge=1)]] = Field(default_factory=dict)

    @field_validator("provisioned_concurrency")
    @classmethod
    def _online_functions(cls, value: dict[str, int]) -> dict[str, int]:
        names = {spec.name for spec in deployment.ONLINE_FUNCTIONS}
        unknown = sorted(set(value) - names)
        if unknown:
            raise ValueError(f"not online function(s) {unknown}; expected names from {sorted(names)}")
        return value


class EnvConfig(BaseModel):
    """What differs between dev, staging and prod. Unknown fields are errors (typos fail loudly)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account: Annotated[str, Field(pattern=r"^\d{12}$")] | None = None
    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")] | None = None
    log_retention_days: int = 30
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN
    point_in_time_recovery: bool = True
    alarm_email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    # Function name (folder under functions/) -> reserved concurrent executions.
    reserved_concurrency: dict[str, Annotated[int, Field(ge=1)]] = Field(default_factory=dict)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # The policy version the API runs (policies/<id>.yaml, stored as policies/<id>/v<version>.yaml).
    policy_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    policy_version: Annotated[int, Field(ge=1)]
    # Raw vendor payloads under raw/ in the data bucket expire after this many days.
    raw_payload_retention_days: Annotated[int, Field(ge=1)] = 180
    access_log_retention_days: Annotated[int, Field(ge=1)] = 365
    api_throttle_rate_limit: Annotated[float, Field(gt=0)] = 50
    api_throttle_burst_limit: Annotated[int, Field(ge=1)] = 100
    api_quota_per_day: Annotated[int, Field(ge=1)] = 100_000
    # A regional WAF web ACL (AWS managed rules + rate limit) in front of the API stage.
    waf_enabled: bool = True
    # API Gateway needs an account-wide CloudWatch role for access logs; set false where the
    # account already has one (it is a per-account, per-region setting shared by all stacks).
    api_gateway_cloudwatch_role: bool = True
    termination_protection: bool = False
    # Tables, buckets and log groups under a customer-managed KMS key (staging, prod); dev may
    # keep AWS-managed keys. The case archive always uses its own customer-managed key.
    customer_managed_keys: bool = True
    retention: Retention = Field(default_factory=Retention)
    # WAF rate limit per client IP on the people's routes (every route but the machines'), per
    # 5 minutes; the machine routes' limit is derived from api_throttle_rate_limit.
    waf_people_requests_per_5min: Annotated[int, Field(ge=10)] = 1500
    # How people sign in: the staff Cognito user pool, or the lender's own OIDC provider.
    identity: Identity = Field(default_factory=CognitoIdentity)

    @model_validator(mode="after")
    def _raw_payloads_shortest(self) -> EnvConfig:
        if self.raw_payload_retention_days > self.retention.decision_days:
            raise ValueError("raw_payload_retention_days must not exceed retention.decision_days")
        return self

    @model_validator(mode="after")
    def _console_sign_in_endpoints(self) -> EnvConfig:
        if self.console_enabled and isinstance(self.identity, OidcIdentity):
            missing = [
                f"identity.{name}"
                for name in ("authorization_endpoint", "token_endpoint")
                if getattr(self.identity, name) is None
            ]
            if missing:
                raise ValueError(f"console_enabled with an OIDC identity needs {', '.join(missing)}")
        return self

    # The reviewers' console (infra/constructs/console.py): CloudFront + private bucket, /v1/* to
    # the API. Sign-in through ``identity``: the staff pool's hosted UI, or the lender's provider.
    console_enabled: bool = False
    # Risk monitoring: platform-figure thresholds (the monitor's own thresholds are in the policy).
    risk_alarms: RiskAlarms = Field(default_factory=RiskAlarms)
    # SnapStart, or provisioned concurrency where the region has no SnapStart for Python.
    cold_start: ColdStart = Field(default_factory=ColdStart)
    # In-loan / post-loan batch schedules (infra/constructs/batch_runs.py).
    batch: BatchRuns = Field(default_factory=BatchRuns)
    # When the customer feature job runs (EventBridge Scheduler expression, Asia/Shanghai): after the
    # day's cases and loan events are in, before the morning's applications.
    customer_features_schedule: Annotated[str, Field(pattern=r"^(cron|rate)\(.+\)$")] = "cron(30 2 * * ? *)"

    @field_validator("log_retention_days")
    @classmethod
    def _known_retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            allowed = ", ".join(str(v) for v in sorted(LOG_RETENTION_DAYS))
            raise ValueError(f"{value} is not a CloudWatch Logs retention period; use one of {allowed}")
        return value

    @field_validator("reserved_concurrency")
    @classmethod
    def _known_functions(cls, value: dict[str, int]) -> dict[str, int]:
        names = {spec.name for spec in deployment.ALL_FUNCTIONS}
        unknown = sorted(set(value) - names)
        if unknown:
            raise ValueError(f"unknown function(s) {unknown}; expected names from {sorted(names)}")
        return value

    @property
    def destroy(self) -> bool:
        return self.removal_policy is RemovalPolicy.DESTROY

    @property
    def log_retention_name(self) -> str:
        """The ``aws_logs.RetentionDays`` member name for ``log_retention_days``."""
        return LOG_RETENTION_DAYS[self.log_retention_days]


def _field_path(loc: tuple[int | str, ...]) -> str:
    """``identity.issuer``, not pydantic's ``identity.oidc.issuer`` (the union's tag is no key)."""
    parts = [str(p) for i, p in enumerate(loc) if not (i and loc[i - 1] == "identity" and p in _PROVIDERS)]
    return ".".join(parts) or "<root>"


# The union's tags, as pydantic puts them in an error's location.
_PROVIDERS: tuple[str, ...] = tuple(
    tag
    for model in (CognitoIdentity, OidcIdentity)
    for tag in get_args(model.model_fields["provider"].annotation)
)


def available_envs(config_dir: Path = CONFIG_DIR) -> list[str]:
    return sorted(p.stem for p in config_dir.glob("*.json"))


def load_config(env_name: str, config_dir: Path = CONFIG_DIR) -> EnvConfig:
    """Load and validate ``<config_dir>/<env_name>.json``; raise ``ConfigError`` naming the problem."""
    known = available_envs(config_dir)
    if not isinstance(env_name, str) or not _ENV_NAME.match(env_name) or env_name not in known:
        raise ConfigError(
            f"unknown environment {env_name!r}: expected one of {', '.join(known)} "
            f"(a file <env>.json in {config_dir})"
        )
    path = config_dir / f"{env_name}.json"
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from exc
    try:
        return EnvConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"field {_field_path(err['loc'])!r}: {err['msg']}" for err in exc.errors())
        raise ConfigError(f"{path}: invalid configuration for environment {env_name!r}: {problems}") from exc
