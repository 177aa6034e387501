"""A small client of a running lendguard HTTP API (``lendguard serve`` or API Gateway)."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

ENDPOINT_ENV = "LENDGUARD_ENDPOINT"
API_KEY_ENV = "LENDGUARD_API_KEY"
TOKEN_ENV = "LENDGUARD_TOKEN"
# Set by the CLI's --token option; LENDGUARD_TOKEN otherwise.
_token: str | None = None


def use_token(token: str | None) -> None:
    """The bearer token every request of this process sends (``--token``)."""
    global _token
    _token = token or None


class ApiError(RuntimeError):
    def __init__(self, status: int, body: dict[str, Any]):
        super().__init__(f"HTTP {status}: {body.get('error', body)}")
        self.status = status
        self.body = body


def call(
    endpoint: str,
    method: str,
    path: str,
    body: bytes | None = None,
    timeout: float = 35.0,
    content_type: str = "application/json",
) -> tuple[int, Any]:
    """Send one request; return (status, parsed JSON). Raises ApiError on 4xx/5xx without a JSON body."""
    headers = {"Content-Type": content_type, "Accept": "application/json"}
    if os.environ.get(API_KEY_ENV):
        headers["x-api-key"] = os.environ[API_KEY_ENV]
    token = _token or os.environ.get(TOKEN_ENV)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(endpoint.rstrip("/") + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw)
        except ValueError:
            raise ApiError(exc.code, {"error": raw.decode(errors="replace")[:500]}) from None
