"""What every ``lendguard`` command that talks to a running API shares.

The ``--endpoint`` option, one request helper (JSON in, JSON out, the API key header), the
consoles, and one way to fail: the message and each field error on stderr, exit 2 for bad input
credentials or an unreachable API, 1 for refusals (not found, conflict).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Collection
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

ENDPOINT_ENV = "LENDGUARD_ENDPOINT"
API_KEY_ENV = "LENDGUARD_API_KEY"
TOKEN_ENV = "LENDGUARD_TOKEN"
DEFAULT_ENDPOINT = "http://127.0.0.1:8000"
# Statuses the user fixes (exit 2): a bad request, or credentials that are missing, unknown or
# lack the role. Refusals of a well-formed request (not found, conflict) exit 1.
INPUT_ERRORS = frozenset({400, 401, 403, 413, 415, 422})

out = Console()
err = Console(stderr=True)

EndpointOpt = Annotated[
    str | None,
    typer.Option(
        "--endpoint",
        envvar=ENDPOINT_ENV,
        help=f"URL of a running lendguard API, local or deployed (default {DEFAULT_ENDPOINT})",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the API's JSON answer")]


# Set by the CLI's --token option; LENDGUARD_TOKEN otherwise.
_token: str | None = None


def use_token(token: str | None) -> None:
    """The bearer token every request of this process sends (``--token``)."""
    global _token
    _token = token or None


class ApiError(RuntimeError):
    """An error answer that is not JSON (a proxy's HTML page, a gateway timeout)."""

    def __init__(self, status: int, body: dict[str, Any]):
        super().__init__(f"HTTP {status}: {body.get('error', body)}")
        self.status = status
        self.body = body


def fail(message: str, details: list[dict[str, Any]] | None = None, code: int = 2) -> NoReturn:
    """Print the error and each field's problem on stderr, and exit with ``code``."""
    err.print(f"[red]error:[/] {message}")
    for d in details or []:
        err.print(f"  {d.get('field')}: {d.get('message')}")
    raise typer.Exit(code)


def fail_with(exc: Exception, code: int = 2) -> NoReturn:
    """:func:`fail` for an error raised by domain code (an ``InvalidInput`` names its fields)."""
    from lendguard.core.errors import InvalidInput

    if isinstance(exc, InvalidInput):
        fail(exc.message, [d.model_dump() for d in exc.details], code)
    fail(str(exc), code=code)


def call(
    endpoint: str,
    method: str,
    path: str,
    body: bytes | None = None,
    timeout: float = 35.0,
    content_type: str = "application/json",
) -> tuple[int, Any]:
    """Send one request; return (status, parsed JSON). Raises :class:`ApiError` on a non-JSON error."""
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


def request(
    endpoint: str | None,
    method: str,
    path: str,
    body: bytes | dict[str, Any] | None = None,
    *,
    allow: Collection[int] = (),
    timeout: float = 120.0,
    content_type: str = "application/json",
) -> tuple[int, Any]:
    """Call the API at ``endpoint`` (default the local ``lendguard serve``) and return (status, JSON).

    An error status not in ``allow`` ends the command through :func:`fail`: exit 2 for bad input
    or credentials (:data:`INPUT_ERRORS`) or an unreachable API, 1 for any other refusal.
    """
    url = endpoint or DEFAULT_ENDPOINT
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    try:
        status, payload = call(url, method, path, data, timeout=timeout, content_type=content_type)
    except ApiError as exc:
        fail(f"{url}: {exc}", code=2 if exc.status in INPUT_ERRORS else 1)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        fail(f"cannot reach {url} ({reason}); is `lendguard serve` running, or --endpoint set?")
    if status >= 400 and status not in allow:
        payload = payload if isinstance(payload, dict) else {}
        fail(
            payload.get("error", f"HTTP {status}"),
            payload.get("details", []),
            code=2 if status in INPUT_ERRORS else 1,
        )
    return status, payload


def day_option(value: str | None, option: str, today: Any, *, allow_future: bool = False) -> Any:
    """``value`` (YYYY-MM-DD) as a date, ``today`` when absent; exit 2 naming ``option`` when it
    is not a date, or (unless ``allow_future``) after ``today``."""
    from datetime import date

    if value is None:
        return today
    try:
        day = date.fromisoformat(value)
    except ValueError:
        fail("invalid date", [{"field": option, "message": f"{value!r} is not a date (YYYY-MM-DD)"}])
    if day > today and not allow_future:
        fail("date in the future", [{"field": option, "message": f"{day} is after today ({today})"}])
    return day
