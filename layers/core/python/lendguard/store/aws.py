"""boto3 clients, created once per process (a Lambda container) and reused."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from lendguard import deployment

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=10)


@cache
def client(service: str) -> Any:
    """A shared client; ``LENDGUARD_AWS_ENDPOINT`` points every client at a local moto server."""
    endpoint = os.environ.get(deployment.ENV_AWS_ENDPOINT) or None
    return boto3.session.Session().client(service, endpoint_url=endpoint, config=_CONFIG)


def reset_clients() -> None:
    """Forget cached clients (the local runtime calls this when it starts a fresh moto)."""
    client.cache_clear()


def setting(env_var: str) -> str:
    """A resource name from the function's environment; fails clearly when the stack did not set it."""
    value = os.environ.get(env_var)
    if not value:
        raise RuntimeError(f"environment variable {env_var} is not set")
    return value


def cases_table() -> str:
    return setting(deployment.ENV_CASES_TABLE)


def lists_table() -> str:
    return setting(deployment.ENV_LISTS_TABLE)


def data_bucket() -> str:
    return setting(deployment.ENV_DATA_BUCKET)


def artifacts_bucket() -> str:
    return setting(deployment.ENV_ARTIFACTS_BUCKET)
