"""Invoking another function of the deployment."""

from __future__ import annotations

import json
import threading
from typing import Any

from lendguard.settings import settings
from lendguard.store.aws import client

# Local runtime only: invocations queued from a running handler (see invoke_async).
_pending: list[threading.Thread] = []


def invoke_async(function_name: str, payload: dict[str, Any]) -> None:
    """Queue an invocation (``Event``): the caller does not wait for it to run.

    moto runs even ``Event`` invocations before it answers, and the local runtime runs one
    handler at a time, so locally the call is made from a thread that proceeds once the calling
    handler has returned, as Lambda's own queue would.
    """
    body = json.dumps(payload, default=str).encode()

    def send() -> None:
        client("lambda").invoke(FunctionName=function_name, InvocationType="Event", Payload=body)

    if not settings.poll_executions:
        send()
        return
    thread = threading.Thread(target=send, name=f"invoke-{function_name}", daemon=True)
    _pending[:] = [t for t in _pending if t.is_alive()]  # a long `lendguard serve` keeps few
    _pending.append(thread)
    thread.start()


def wait_for_pending(timeout_s: float = 30.0) -> None:
    """Local runtime and tests: let queued invocations finish."""
    while _pending:
        _pending.pop().join(timeout_s)
