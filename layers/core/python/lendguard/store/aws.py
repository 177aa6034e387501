"""boto3 clients, created once per process (a Lambda container) and reused."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from lendguard.settings import settings

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=10)


@cache
def client(service: str) -> Any:
    """A shared client; locally every client talks to the moto server (``settings.aws_endpoint``)."""
    return boto3.session.Session().client(service, endpoint_url=settings.aws_endpoint, config=_CONFIG)


def reset_clients() -> None:
    """Forget cached clients (the local runtime calls this when it starts a fresh moto)."""
    client.cache_clear()
