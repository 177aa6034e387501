"""The deployment secret that keys identifier hashes."""

from __future__ import annotations

from functools import cache

from lendguard import deployment
from lendguard.settings import settings
from lendguard.store.aws import client


@cache
def hash_secret() -> str:
    """From SSM (SecureString) when a parameter is named; else ``LENDGUARD_HASH_SECRET`` (local runtime)."""
    param = settings.hash_secret_parameter
    if param:
        return client("ssm").get_parameter(Name=param, WithDecryption=True)["Parameter"]["Value"]
    value = settings.hash_secret
    if not value:
        raise RuntimeError(
            f"no hash secret: set {deployment.ENV_HASH_SECRET_PARAM} (SSM parameter) or {deployment.ENV_HASH_SECRET}"
        )
    return value
