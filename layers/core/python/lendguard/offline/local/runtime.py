"""The whole stack on moto, in this process: tables, buckets, functions and state machines.

It builds from the same declarations as the CDK stack (``lendguard.deployment``) and loads the
ASL files with the same substitutions, so what runs here is what deploys.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

from lendguard import deployment
from lendguard.core.hashing import LOCAL_SECRET
from lendguard.offline import project
from lendguard.offline.local import lambda_hook

REGION = "us-east-1"
ACCOUNT = "123456789012"
PARTITION = lambda_hook.PARTITION
ROLE_ARN = f"arn:{PARTITION}:iam::{ACCOUNT}:role/lendguard-local"
PREFIX = "lendguard-local"


def default_home() -> Path:
    """``$LENDGUARD_HOME``, else ``.lendguard`` in the checkout: local models and state."""
    return Path(os.environ.get("LENDGUARD_HOME") or project.project_root() / ".lendguard")


def local_environment(policy_id: str, policy_version: int) -> dict[str, str]:
    """What a deployed function finds in its environment, with local names and fake credentials."""
    env = {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "POWERTOOLS_SERVICE_NAME": "lendguard",
        "POWERTOOLS_METRICS_NAMESPACE": "LendGuard",
        "POWERTOOLS_LOG_LEVEL": os.environ.get("LENDGUARD_LOG_LEVEL", "WARNING"),
        "POWERTOOLS_TRACE_DISABLED": "true",
        deployment.ENV_HASH_SECRET: LOCAL_SECRET,
        deployment.ENV_POLICY_ID: policy_id,
        deployment.ENV_POLICY_VERSION: str(policy_version),
        deployment.ENV_EXECUTION_MODE: "poll",
        deployment.ENV_SHADOW_FUNCTION: f"{PREFIX}-{deployment.SHADOW_FUNCTION.name}",
        deployment.ENV_EVENT_BUS: deployment.book_event_bus_name("local"),
    }
    for table in deployment.TABLES:
        env[table.env_var] = f"{PREFIX}-{table.logical_id}"
    for logical_id, env_var in deployment.BUCKETS.items():
        env[env_var] = f"{PREFIX}-{logical_id.lower()}"
    return env


def definition_substitutions(function_arns: dict[str, str]) -> dict[str, str]:
    """The ASL substitutions of the local stack: the functions' ARNs and moto's partition."""
    return {**function_arns, deployment.PARTITION_SUBSTITUTION: PARTITION}


class LocalRuntime:
    """Start with ``with LocalRuntime() as rt:``; everything lives until the block ends."""

    def __init__(
        self,
        policy_path: Path | None = None,
        model_dir: Path | None = None,
        home: Path | None = None,
    ):
        self.policy_path = policy_path or project.default_policy_path()
        self.home = home or default_home()
        self.model_dir = model_dir
        self._mock: Any = None
        self._saved_env: dict[str, str | None] = {}
        self.state_machine_arns: dict[str, str] = {}

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> LocalRuntime:
        from moto import mock_aws

        from lendguard.offline.local.seed import load_demo_lists
        from lendguard.policy.loader import load_policy

        policy = load_policy(self.policy_path)
        self.policy = policy
        self._set_env(local_environment(policy.id, policy.version))
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self._mock.start()
        self._reset_caches()
        lambda_hook.install()
        self._create_resources()
        load_demo_lists()  # examples/lists/demo-lists.csv: what examples/applications/ rely on
        self.publish_policy(self.policy_path)
        self.publish_model()
        return self

    def stop(self) -> None:
        from lendguard.store.functions import wait_for_pending

        wait_for_pending()  # queued invocations (shadow runs) finish before moto goes away
        lambda_hook.uninstall()
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        self._reset_caches()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()

    def __enter__(self) -> LocalRuntime:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _set_env(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    @staticmethod
    def _reset_caches() -> None:
        from lendguard.decision import wiring as service
        from lendguard.store import artifacts, aws, policies, secrets, vendor_secrets

        aws.reset_clients()
        artifacts.clear_caches()
        policies.clear_routing_cache()
        secrets.hash_secret.cache_clear()
        # Per-container state of a deployed function; a new local stack is a new container.
        service.vendor_registry().reset()
        vendor_secrets.clear_cache()

    # -- resources ------------------------------------------------------------------------
    def _create_resources(self) -> None:
        from lendguard.store.aws import client
        from lendguard.store.tables import create_tables

        create_tables()
        s3 = client("s3")
        for env_var in deployment.BUCKETS.values():
            s3.create_bucket(Bucket=os.environ[env_var])
        client("events").create_event_bus(Name=os.environ[deployment.ENV_EVENT_BUS])
        # The case archive's customer-managed key (a CDK kms.Key when deployed).
        key = client("kms").create_key(Description="lendguard local case archive", KeyUsage="ENCRYPT_DECRYPT")
        self._set_env({deployment.ENV_ARCHIVE_KEY: key["KeyMetadata"]["KeyId"]})
        client("iam").create_role(
            RoleName=ROLE_ARN.rsplit("/", 1)[1],
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )
        arns = {}
        every = (*deployment.ALL_FUNCTIONS, *deployment.BATCH_FUNCTIONS, *deployment.BACKTEST_FUNCTIONS)
        for spec in (*every, deployment.BATCH_STARTER_FUNCTION):
            arn = self._create_function(spec)
            if spec.substitution:
                arns[spec.substitution] = arn
        for sm in deployment.STATE_MACHINES:
            definition = project.render_definition(sm, definition_substitutions(arns))
            resp = client("stepfunctions").create_state_machine(
                name=f"{PREFIX}-{sm.logical_id}", definition=definition, roleArn=ROLE_ARN, type=sm.kind
            )
            self.state_machine_arns[sm.logical_id] = resp["stateMachineArn"]
        self._set_env(
            {sm.env_var: self.state_machine_arns[sm.logical_id] for sm in deployment.STATE_MACHINES}
        )

    def _create_function(self, spec: deployment.FunctionSpec) -> str:
        from lendguard.store.aws import client

        name = f"{PREFIX}-{spec.name}"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zf:
            zf.write(project.function_dir(spec) / "handler.py", "handler.py")
        resp = client("lambda").create_function(
            FunctionName=name, Runtime="python3.12", Role=ROLE_ARN, Handler=spec.handler,
            Code={"ZipFile": buffer.getvalue()}, Timeout=spec.timeout_s, MemorySize=spec.memory_mb,
        )  # fmt: skip
        lambda_hook.register(
            name, lambda_hook.load_handler(project.function_dir(spec), f"lendguard_fn_{spec.name}")
        )
        if spec in deployment.ONLINE_FUNCTIONS:
            # As deployed: the state machine invokes the live alias of a published version.
            version = client("lambda").publish_version(FunctionName=name)["Version"]
            return client("lambda").create_alias(
                FunctionName=name, Name=deployment.LIVE_ALIAS, FunctionVersion=version
            )["AliasArn"]
        return resp["FunctionArn"]

    def function_name(self, stage: str) -> str:
        return f"{PREFIX}-{stage}"

    # -- artifacts ------------------------------------------------------------------------
    def publish_policy(self, path: Path) -> None:
        from lendguard.policy.loader import load_policy
        from lendguard.store import artifacts

        artifacts.put_policy(load_policy(path), path.read_text())

    def publish_model(self) -> None:
        """Store the policy's model, training the default synthetic one on first use."""
        from lendguard.models.artifact import ModelArtifact
        from lendguard.store import artifacts

        ref = self.policy.scoring.model
        directory = self.model_dir or ensure_default_model(self.home, ref.id, ref.version)
        artifacts.put_model(ModelArtifact.load(directory))
        # The loan book's models (in_loan / post_loan), where the batch jobs look them up.
        from lendguard.offline.training.book_models import ensure_book_models

        book = [m for m in (self.policy.in_loan.model, self.policy.post_loan.model) if m is not None]
        if book:
            root = ensure_book_models(self.home)
            for model in book:
                if (root / model.id / f"v{model.version}" / "model.json").exists():
                    artifacts.put_model(ModelArtifact.load(root / model.id / f"v{model.version}"))


def ensure_default_model(home: Path, model_id: str = "default-xgb", version: int = 1) -> Path:
    """The directory of the default model under ``home``, trained once and reused after.

    Training goes to a temporary folder renamed into place, so parallel test workers never
    see half a model.
    """
    import shutil
    import tempfile

    directory = home / "models" / model_id / f"v{version}"
    if (directory / "model.json").exists():
        return directory
    from lendguard.offline.training.default_model import train_default_model

    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=directory.parent, prefix=".training-"))
    train_default_model(tmp, model_id=model_id, version=version)
    try:
        tmp.rename(directory)
    except OSError:  # another process finished first: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
    return directory
