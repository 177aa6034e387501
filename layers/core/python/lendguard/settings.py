"""The environment a function runs in, modelled once.

Every variable lendguard's runtime reads is a property here, read when used (not at import), so
a function reads only the variables of the resources it touches and the deployed-artifact test
can hold each function to the variables its template sets. Names come from
:mod:`lendguard.deployment`, which the CDK stack and the local runtime build from.
"""

from __future__ import annotations

import os

from lendguard import deployment


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"environment variable {name} is not set")
    return value


class Settings:
    """Typed, lazy access to the function's environment."""

    @property
    def cases_table(self) -> str:
        return _required(deployment.ENV_CASES_TABLE)

    @property
    def lists_table(self) -> str:
        return _required(deployment.ENV_LISTS_TABLE)

    @property
    def cache_table(self) -> str:
        return _required(deployment.ENV_CACHE_TABLE)

    @property
    def idempotency_table(self) -> str:
        return _required(deployment.ENV_IDEMPOTENCY_TABLE)

    @property
    def loan_events_table(self) -> str:
        return _required(deployment.ENV_LOAN_EVENTS_TABLE)

    @property
    def accounts_table(self) -> str:
        return _required(deployment.ENV_ACCOUNTS_TABLE)

    @property
    def event_bus(self) -> str:
        return _required(deployment.ENV_EVENT_BUS)

    @property
    def daily_table(self) -> str:
        return _required(deployment.ENV_DAILY_TABLE)

    @property
    def customer_features_table(self) -> str:
        return _required(deployment.ENV_CUSTOMER_FEATURES_TABLE)

    @property
    def policies_table(self) -> str:
        return _required(deployment.ENV_POLICIES_TABLE)

    @property
    def batch_runs_table(self) -> str:
        return _required(deployment.ENV_BATCH_RUNS_TABLE)

    @property
    def data_bucket(self) -> str:
        return _required(deployment.ENV_DATA_BUCKET)

    @property
    def artifacts_bucket(self) -> str:
        return _required(deployment.ENV_ARTIFACTS_BUCKET)

    @property
    def decision_state_machine_arn(self) -> str:
        return _required(deployment.ENV_DECISION_STATE_MACHINE)

    @property
    def review_state_machine_arn(self) -> str:
        return _required(deployment.ENV_REVIEW_STATE_MACHINE)

    @property
    def policy(self) -> tuple[str, int]:
        """The policy id and version new cases are decided with."""
        version = _required(deployment.ENV_POLICY_VERSION)
        try:
            return _required(deployment.ENV_POLICY_ID), int(version)
        except ValueError:
            raise RuntimeError(f"{deployment.ENV_POLICY_VERSION}={version!r} is not an integer") from None

    @property
    def shadow_function(self) -> str:
        """The function finalize invokes (asynchronously) to run challenger versions in shadow."""
        return _required(deployment.ENV_SHADOW_FUNCTION)

    @property
    def archive_key_id(self) -> str:
        """The customer-managed KMS key the case archive's data keys come from."""
        return _required(deployment.ENV_ARCHIVE_KEY)

    @property
    def decision_retention_days(self) -> int | None:
        """How long a case record is kept (its TTL); unset locally: kept."""
        value = os.environ.get(deployment.ENV_DECISION_RETENTION_DAYS)
        if not value:
            return None
        if not value.isdigit() or int(value) < 1:
            raise RuntimeError(
                f"{deployment.ENV_DECISION_RETENTION_DAYS}={value!r} is not a positive integer"
            )
        return int(value)

    @property
    def hash_secret_parameter(self) -> str | None:
        return os.environ.get(deployment.ENV_HASH_SECRET_PARAM) or None

    @property
    def hash_secret(self) -> str | None:
        """Local runtime only: the secret itself."""
        return os.environ.get(deployment.ENV_HASH_SECRET) or None

    @property
    def aws_endpoint(self) -> str | None:
        """Local runtime only: a moto server every client talks to."""
        return os.environ.get(deployment.ENV_AWS_ENDPOINT) or None

    @property
    def poll_executions(self) -> bool:
        """Local runtime only: start and poll executions (moto has no StartSyncExecution)."""
        return os.environ.get(deployment.ENV_EXECUTION_MODE) == "poll"

    @property
    def metrics_namespace(self) -> str:
        return os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "LendGuard")


settings = Settings()
