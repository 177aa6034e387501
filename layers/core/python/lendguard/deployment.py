"""The shape of a deployment: functions, tables, buckets and state machines (declarations only).

The CDK stack and the local runtime both build from these declarations, so the two cannot
drift: the same function names, the same handler paths, the same environment variables and
the same definition substitutions in the ASL files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Environment variables every function reads (values are names of resources, never secrets).
ENV_CASES_TABLE = "LENDGUARD_CASES_TABLE"
ENV_LISTS_TABLE = "LENDGUARD_LISTS_TABLE"
ENV_CACHE_TABLE = "LENDGUARD_CACHE_TABLE"
ENV_IDEMPOTENCY_TABLE = "LENDGUARD_IDEMPOTENCY_TABLE"
ENV_LOAN_EVENTS_TABLE = "LENDGUARD_LOAN_EVENTS_TABLE"
ENV_DAILY_TABLE = "LENDGUARD_DAILY_TABLE"
ENV_CUSTOMER_FEATURES_TABLE = "LENDGUARD_CUSTOMER_FEATURES_TABLE"
ENV_POLICIES_TABLE = "LENDGUARD_POLICIES_TABLE"
ENV_ACCOUNTS_TABLE = "LENDGUARD_ACCOUNTS_TABLE"
# The loan book's EventBridge bus: limit changes, freezes and re-loan offers for the loan app.
ENV_EVENT_BUS = "LENDGUARD_EVENT_BUS"
BOOK_EVENT_BUS_LOGICAL_ID = "BookEventBus"
BOOK_EVENT_SOURCE = "lendguard.book"
ENV_BATCH_RUNS_TABLE = "LENDGUARD_BATCH_RUNS_TABLE"
ENV_DATA_BUCKET = "LENDGUARD_DATA_BUCKET"
ENV_ARTIFACTS_BUCKET = "LENDGUARD_ARTIFACTS_BUCKET"
ENV_DECISION_STATE_MACHINE = "LENDGUARD_DECISION_STATE_MACHINE_ARN"
ENV_REVIEW_STATE_MACHINE = "LENDGUARD_REVIEW_STATE_MACHINE_ARN"
ENV_POLICY_ID = "LENDGUARD_POLICY_ID"
ENV_POLICY_VERSION = "LENDGUARD_POLICY_VERSION"
ENV_HASH_SECRET_PARAM = "LENDGUARD_HASH_SECRET_PARAMETER"
ENV_HASH_SECRET = "LENDGUARD_HASH_SECRET"  # local runtime only: the secret itself
ENV_AWS_ENDPOINT = "LENDGUARD_AWS_ENDPOINT"  # local runtime only: every boto3 client to moto
ENV_EXECUTION_MODE = "LENDGUARD_EXECUTION_MODE"  # local runtime only: "poll" (moto has no sync start)
# Read by the runtime package only as local-runtime overrides, never set on a deployed function;
# tests/infra/test_artifact.py fails on a read of any other LENDGUARD_* variable the stack lacks.
LOCAL_ONLY_ENV: frozenset[str] = frozenset({ENV_HASH_SECRET, ENV_AWS_ENDPOINT, ENV_EXECUTION_MODE})

# The ASL writes service ARNs as "arn:${Partition}:states:::lambda:invoke": the CDK stack
# substitutes the deploying partition (aws, aws-cn, aws-us-gov), the local runtime moto's "aws".
PARTITION_SUBSTITUTION = "Partition"
ENV_SHADOW_FUNCTION = "LENDGUARD_SHADOW_FUNCTION"  # finalize starts challenger shadow runs with it
ENV_ARCHIVE_KEY = "LENDGUARD_ARCHIVE_KEY_ID"  # the case archive's customer-managed KMS key
ENV_DECISION_RETENTION_DAYS = "LENDGUARD_DECISION_RETENTION_DAYS"  # cases table TTL (infra/config retention)
# The lender's own OIDC provider (infra/config identity.provider "oidc"): the authorizer reads them.
ENV_OIDC_ISSUER = "LENDGUARD_OIDC_ISSUER"
ENV_OIDC_AUDIENCE = "LENDGUARD_OIDC_AUDIENCE"
ENV_OIDC_JWKS_URI = "LENDGUARD_OIDC_JWKS_URI"
ENV_OIDC_GROUPS_CLAIM = "LENDGUARD_OIDC_GROUPS_CLAIM"


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function: its folder under functions/ and its ASL substitution key."""

    name: str  # folder under functions/ and suffix of the deployed function name
    substitution: str | None  # key used as ${key} in the ASL files, None if not a state task
    memory_mb: int = 512
    timeout_s: int = 10
    description: str = ""

    @property
    def handler(self) -> str:
        return "handler.handler"


DECISION_FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec("validate", "ValidateFunctionArn", description="Validate and open the case"),
    FunctionSpec("admission", "AdmissionFunctionArn", description="Cheap own admission rules"),
    FunctionSpec("lists", "ListsFunctionArn", description="Black / grey / white list checks"),
    FunctionSpec(
        "internal_data",
        "InternalDataFunctionArn",
        description="Own data: velocity, case history, loans, customer features",
    ),
    FunctionSpec(
        "external_data",
        "ExternalDataFunctionArn",
        timeout_s=30,
        description="Third-party vendors in cost order",
    ),
    FunctionSpec("features", "FeaturesFunctionArn", description="Derived features"),
    FunctionSpec("scoring", "ScoringFunctionArn", memory_mb=1024, description="Model score"),
    FunctionSpec("decision", "DecisionFunctionArn", description="Cut-offs, limit and APR"),
    FunctionSpec("finalize", "FinalizeFunctionArn", description="Write the case record"),
    FunctionSpec("record_failure", "RecordFailureFunctionArn", description="Record a FAILED case"),
)

# The review workflow's own steps; finalize (above) starts the workflow for REVIEW cases.
REVIEW_FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        "review_task", "ReviewTaskFunctionArn", description="Open a review task: keep its token on the case"
    ),
    FunctionSpec(
        "review_conclude", "ReviewConcludeFunctionArn", description="Apply the review's outcome to the case"
    ),
)

API_FUNCTION = FunctionSpec("api", None, timeout_s=29, description="HTTP API")
# Challenger versions decide a case in shadow after the champion answered: finalize invokes it
# asynchronously, so the loan app never waits for it (lendguard.lifecycle.shadows).
SHADOW_FUNCTION = FunctionSpec(
    "shadow", None, memory_mb=1024, timeout_s=60, description="Champion/challenger shadow decisions"
)

# The daily monitor (lendguard.monitoring), run by EventBridge Scheduler after midnight Asia/Shanghai.
MONITOR_FUNCTION = FunctionSpec(
    "monitor", None, memory_mb=1024, timeout_s=300, description="Daily monitor: figures, flags, JSON report"
)
MONITOR_SCHEDULE = "cron(15 0 * * ? *)"
MONITOR_SCHEDULE_TIMEZONE = "Asia/Shanghai"
# Precomputed customer features (lendguard.internal.feature_job), written nightly by their own
# schedule (time in infra/config customer_features_schedule; it joins the in-loan run later).
CUSTOMER_FEATURES_FUNCTION = FunctionSpec(
    "customer_features", None, memory_mb=1024, timeout_s=900, description="Nightly customer feature table"
)
CUSTOMER_FEATURES_SCHEDULE_TIMEZONE = "Asia/Shanghai"
# API Gateway's TOKEN authorizer, deployed only where people sign in with the lender's own OIDC
# provider (identity.provider "oidc"): not in ALL_FUNCTIONS, which every deployment has.
AUTHORIZER_FUNCTION = FunctionSpec(
    "authorizer", None, memory_mb=256, timeout_s=10, description="Staff tokens of the lender's OIDC provider"
)

ALL_FUNCTIONS: tuple[FunctionSpec, ...] = (
    *DECISION_FUNCTIONS,
    *REVIEW_FUNCTIONS,
    API_FUNCTION,
    SHADOW_FUNCTION,
    MONITOR_FUNCTION,
    CUSTOMER_FEATURES_FUNCTION,
)
FUNCTIONS_BY_NAME: dict[str, FunctionSpec] = {spec.name: spec for spec in ALL_FUNCTIONS}
# Functions on a customer's wait (the decision flow, the API and its authorizer): published
# versions behind this alias, started from a SnapStart snapshot or kept provisioned (issue 19).
ONLINE_FUNCTIONS: tuple[FunctionSpec, ...] = (*DECISION_FUNCTIONS, API_FUNCTION, AUTHORIZER_FUNCTION)
LIVE_ALIAS = "live"

# POST /v1/decisions is idempotent on application_id (Powertools idempotency, IdempotencyTable):
# the same application within this window gets the first answer back.
IDEMPOTENCY_TTL_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class TableSpec:
    """A DynamoDB table: partition key, optional sort key, TTL attribute and GSIs."""

    logical_id: str
    env_var: str
    partition_key: str
    sort_key: str | None = None
    ttl_attribute: str | None = None
    # GSI name -> (partition key, sort key); every key attribute is a string.
    global_indexes: dict[str, tuple[str, str]] = field(default_factory=dict)


TABLES: tuple[TableSpec, ...] = (
    TableSpec(
        "CasesTable",
        ENV_CASES_TABLE,
        partition_key="case_id",
        ttl_attribute="expires_at",  # the decision's retention (set once, from retain_until)
        global_indexes={
            "by_status": ("status", "created_at"),
            "by_application": ("application_id", "created_at"),
        },
    ),
    TableSpec("ListsTable", ENV_LISTS_TABLE, partition_key="pk", ttl_attribute="expires_at"),
    TableSpec("DataCacheTable", ENV_CACHE_TABLE, partition_key="pk", ttl_attribute="expires_at"),
    TableSpec("IdempotencyTable", ENV_IDEMPOTENCY_TABLE, partition_key="id", ttl_attribute="expiration"),
    # Repayment outcomes: every loan event of a case (account), idempotent on its event id.
    TableSpec("LoanEventsTable", ENV_LOAN_EVENTS_TABLE, partition_key="case_id", sort_key="event_id"),
    # Per-day aggregates (rule statistics, velocity, monitoring): see lendguard.store.daily.
    TableSpec("DailyTable", ENV_DAILY_TABLE, partition_key="pk", sort_key="sk", ttl_attribute="expires_at"),
    # Precomputed features per hashed ID number, with their computation time (lendguard.store.own_data).
    TableSpec(
        "CustomerFeaturesTable",
        ENV_CUSTOMER_FEATURES_TABLE,
        partition_key="customer",
        ttl_attribute="expires_at",
    ),
    # Policy lifecycle (lendguard.store.policies): versions, routing revisions, release configuration.
    TableSpec("PolicyVersionsTable", ENV_POLICIES_TABLE, partition_key="pk", sort_key="sk"),
    # The loan book (lendguard.book, lendguard.store.accounts): one item per account, keyed by the
    # approved case; the customer appears only as the keyed hash of the ID number.
    TableSpec(
        "AccountsTable",
        ENV_ACCOUNTS_TABLE,
        partition_key="account_id",
        global_indexes={"by_customer": ("customer_key", "opened_on")},
    ),
    # In-loan / post-loan batch runs (lendguard.store.batch_runs): one item per (job, run date),
    # written conditionally so a second start of the same date resumes or is refused.
    TableSpec("BatchRunsTable", ENV_BATCH_RUNS_TABLE, partition_key="run_id"),
)

BUCKETS: dict[str, str] = {"DataBucket": ENV_DATA_BUCKET, "ArtifactsBucket": ENV_ARTIFACTS_BUCKET}


@dataclass(frozen=True)
class StateMachineSpec:
    logical_id: str
    file: str
    kind: str  # EXPRESS or STANDARD
    functions: tuple[FunctionSpec, ...]
    env_var: str  # the variable that carries its ARN to the functions that start or drive it


DECISION_STATE_MACHINE = StateMachineSpec(
    "DecisionStateMachine", "decision.asl.json", "EXPRESS", DECISION_FUNCTIONS, ENV_DECISION_STATE_MACHINE
)
# Manual review waits for people (waitForTaskToken), which only STANDARD workflows can do.
REVIEW_STATE_MACHINE = StateMachineSpec(
    "ReviewStateMachine", "review.asl.json", "STANDARD", REVIEW_FUNCTIONS, ENV_REVIEW_STATE_MACHINE
)

# ---- batch runs over the loan book (lendguard.batch) ----------------------------------------
# Planner -> Distributed Map of one scoring function per shard -> summary. They need pyarrow,
# so they carry the "batch" layer besides the core and deps layers (infra/constructs/batch_layer.py)
# and are kept out of ALL_FUNCTIONS, which every function of the online path shares.
BATCH_FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        "batch_planner",
        "BatchPlannerFunctionArn",
        memory_mb=3008,
        timeout_s=900,
        description="Batch run: record the run, export the book snapshot in shards, write the manifest",
    ),
    FunctionSpec(
        "batch_shard",
        "BatchShardFunctionArn",
        memory_mb=2048,
        timeout_s=900,
        description="Batch run: score one shard, write its results, apply its actions",
    ),
    FunctionSpec(
        "batch_summary",
        "BatchSummaryFunctionArn",
        memory_mb=1024,
        timeout_s=300,
        description="Batch run: shards expected vs written, counts, summary JSON, metrics",
    ),
)
ENV_INLOAN_STATE_MACHINE = "LENDGUARD_INLOAN_STATE_MACHINE_ARN"
ENV_POSTLOAN_STATE_MACHINE = "LENDGUARD_POSTLOAN_STATE_MACHINE_ARN"
# One STANDARD machine per job (a Distributed Map needs STANDARD); the job name is the key.
BATCH_STATE_MACHINES: dict[str, StateMachineSpec] = {
    "inloan": StateMachineSpec(
        "InLoanStateMachine", "inloan.asl.json", "STANDARD", BATCH_FUNCTIONS, ENV_INLOAN_STATE_MACHINE
    ),
    "postloan": StateMachineSpec(
        "PostLoanStateMachine", "postloan.asl.json", "STANDARD", BATCH_FUNCTIONS, ENV_POSTLOAN_STATE_MACHINE
    ),
}
# ---- backtests over the case archive, sharded (lendguard.offline.backtest.sharded) ------------
# The batch machine's shape (plan -> Distributed Map -> summary) over a window of archived cases.
# The shard evaluates with the column evaluator (pandas), so these functions carry the "backtest"
# layer (pandas + the evaluator package, infra/constructs/backtest_layer.py) instead of pyarrow.
BACKTEST_FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        "backtest_planner",
        "BacktestPlannerFunctionArn",
        memory_mb=1024,
        timeout_s=900,
        description="Backtest run: claim the run, list the archive window, write case shards and the manifest",
    ),
    FunctionSpec(
        "backtest_shard",
        "BacktestShardFunctionArn",
        memory_mb=3008,
        timeout_s=900,
        description="Backtest run: evaluate one shard of archived cases, write its partial aggregates",
    ),
    FunctionSpec(
        "backtest_summary",
        "BacktestSummaryFunctionArn",
        memory_mb=1024,
        timeout_s=300,
        description="Backtest run: shards expected vs written, merge the aggregates, write report.json",
    ),
)
ENV_BACKTEST_STATE_MACHINE = "LENDGUARD_BACKTEST_STATE_MACHINE_ARN"
BACKTEST_STATE_MACHINE = StateMachineSpec(
    "BacktestStateMachine", "backtest.asl.json", "STANDARD", BACKTEST_FUNCTIONS, ENV_BACKTEST_STATE_MACHINE
)
# When EventBridge Scheduler starts each job (Asia/Shanghai); per environment in infra/config.
BATCH_SCHEDULE_TIMEZONE = "Asia/Shanghai"
# What each schedule sends: the scheduler substitutes its context attribute (the fire time, UTC,
# ISO 8601). The target is the starter function (lendguard.batch.starter), which names the execution
# from (job, run date): a Scheduler target cannot compute a name, and a name forbids ':'.
SCHEDULED_TIME_ATTRIBUTE = "<aws.scheduler.scheduled-time>"


def batch_schedule_input(job: str) -> dict[str, str]:
    """The input of ``job``'s schedule (its starter event)."""
    return {"job": job, "scheduled_time": SCHEDULED_TIME_ATTRIBUTE}


BATCH_STARTER_FUNCTION = FunctionSpec(
    "batch_starter",
    None,  # not a state task: the schedules invoke it
    memory_mb=256,
    timeout_s=30,
    description="Batch schedules' target: start inloan / postloan named from (job, Asia/Shanghai run date)",
)

STATE_MACHINES: tuple[StateMachineSpec, ...] = (
    DECISION_STATE_MACHINE,
    REVIEW_STATE_MACHINE,
    *BATCH_STATE_MACHINES.values(),
    BACKTEST_STATE_MACHINE,
)


def book_event_bus_name(env_name: str) -> str:
    """The loan book's event bus of a deployment (``LENDGUARD_EVENT_BUS`` carries it)."""
    return f"lendguard-{env_name}-book"
