"""Policies and models in the artifacts bucket, cached per container after the first read.

Models live under ``models/<id>/v<version>/{model.json,metadata.json}``;
:class:`lendguard.store.model_registry.S3ModelRegistry` lists and registers them (see :mod:`lendguard.models.registry` for the rules).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from lendguard.core.errors import NotFound
from lendguard.settings import settings
from lendguard.store.aws import client

# Every online function imports this module, but parsing a policy (YAML, the policy schema, the
# expression compiler) and loading a model are warm-up work (lendguard.decision.warmup): their
# modules are imported when a policy or model is first read, not at a function's import.
if TYPE_CHECKING:
    from lendguard.models.artifact import ModelArtifact
    from lendguard.policy.schema import Policy


def policy_key(policy_id: str, version: int) -> str:
    return f"policies/{policy_id}/v{version}.yaml"


def model_prefix(model_id: str, version: int) -> str:
    return f"models/{model_id}/v{version}/"


def put_policy(policy: Policy, text: str) -> str:
    """Store a policy document under its id and version; return the key."""
    key = policy_key(policy.id, policy.version)
    client("s3").put_object(
        Bucket=settings.artifacts_bucket, Key=key, Body=text.encode(), ContentType="application/yaml"
    )
    return key


def get_policy_text(policy_id: str, version: int) -> str | None:
    """The stored document of a policy version as written, or None when it is not stored."""
    s3 = client("s3")
    try:
        body = s3.get_object(Bucket=settings.artifacts_bucket, Key=policy_key(policy_id, version))["Body"]
    except s3.exceptions.NoSuchKey:
        return None
    return str(body.read().decode())


@cache
def get_policy(policy_id: str, version: int) -> Policy:
    """A stored policy version (immutable once stored, so caching per container is safe)."""
    try:
        body = (
            client("s3")
            .get_object(Bucket=settings.artifacts_bucket, Key=policy_key(policy_id, version))["Body"]
            .read()
        )
    except client("s3").exceptions.NoSuchKey:
        raise NotFound(f"policy {policy_id} v{version} is not stored") from None
    from lendguard.policy.loader import load_policy_text

    return load_policy_text(
        body.decode(), f"s3://{settings.artifacts_bucket}/{policy_key(policy_id, version)}"
    )


def put_model(artifact: ModelArtifact) -> str:
    """Store a model version (model.json and metadata.json); return the prefix."""
    meta = artifact.metadata
    prefix = model_prefix(meta.model_id, meta.version)
    for name, body in artifact.to_files().items():
        client("s3").put_object(Bucket=settings.artifacts_bucket, Key=prefix + name, Body=body)
    return prefix


@cache
def get_model(model_id: str, version: int) -> ModelArtifact:
    """A stored model version, loaded once per container."""
    from lendguard.models.artifact import ModelArtifact

    s3, prefix = client("s3"), model_prefix(model_id, version)
    files = {}
    for name in ("model.json", "metadata.json"):
        try:
            files[name] = s3.get_object(Bucket=settings.artifacts_bucket, Key=prefix + name)["Body"].read()
        except s3.exceptions.NoSuchKey:
            raise NotFound(f"model {model_id} v{version} is not stored ({name} missing)") from None
    return ModelArtifact.from_files(files)


def clear_caches() -> None:
    get_policy.cache_clear()
    get_model.cache_clear()


def __getattr__(name: str) -> Any:
    # The S3 model registry lives in lendguard.store.model_registry: the model modules it needs
    # are offline and warm-up work, not every online function's import.
    if name == "S3ModelRegistry":
        from lendguard.store.model_registry import S3ModelRegistry

        return S3ModelRegistry
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
