"""The deployment secret that keys identifier hashes."""

from __future__ import annotations

import os
from functools import cache

from lendguard import deployment
from lendguard.store.aws import client


@cache
def hash_secret() -> str:
    """From SSM (SecureString) when a parameter is named; else ``LENDGUARD_HASH_SECRET`` (local runtime)."""
    param = os.environ.get(deployment.ENV_HASH_SECRET_PARAM)
    if param:
        return client("ssm").get_parameter(Name=param, WithDecryption=True)["Parameter"]["Value"]
    value = os.environ.get(deployment.ENV_HASH_SECRET)
    if not value:
        raise RuntimeError(
            f"no hash secret: set {deployment.ENV_HASH_SECRET_PARAM} (SSM parameter) or {deployment.ENV_HASH_SECRET}"
        )
    return value
