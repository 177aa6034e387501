"""Run our Lambda handlers in process when moto's Step Functions executor invokes a function.

moto runs Lambda code in Docker, which this runtime does not have. It calls the private
``LambdaFunction._invoke_lambda(self, event) -> (payload, errored, logs)``; we replace it. The
hook is private, so moto is pinned and ``tests/integration/test_moto_hook.py`` fails loudly if
it moves. Returning ``errored=True`` with ``{"errorType", "errorMessage"}`` keeps Step
Functions' error mapping, so the ASL's Retry and Catch see our own error names.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import threading
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from moto.awslambda.models import LambdaFunction

Handler = Callable[[dict[str, Any], Any], Any]

_handlers: dict[str, Handler] = {}
_faults: dict[str, BaseException] = {}
# moto's partition; deployed code never assumes one (the CDK stack passes AWS::Partition).
PARTITION = "aws"

_original = LambdaFunction._invoke_lambda
# redirect_stdout swaps the process-wide sys.stdout: one handler at a time.
_stdout_lock = threading.Lock()


class LocalContext:
    """The parts of the Lambda context object Powertools reads."""

    def __init__(self, function_name: str):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:{PARTITION}:lambda:local:000000000000:function:{function_name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def load_handler(source_dir: Path, module_name: str) -> Handler:
    """Import ``handler.py`` from a function folder under a unique module name."""
    spec = importlib.util.spec_from_file_location(module_name, source_dir / "handler.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {source_dir / 'handler.py'}")
    module: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.handler


def register(function_name: str, handler: Handler) -> None:
    _handlers[function_name] = handler


def inject_fault(function_name: str, error: BaseException | None) -> None:
    """Make a function raise ``error`` (None clears it): for failure-path tests and drills."""
    if error is None:
        _faults.pop(function_name, None)
    else:
        _faults[function_name] = error


def _invoke(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    handler = _handlers.get(self.function_name)
    if handler is None:
        return _original(self, event)
    payload = json.loads(event) if isinstance(event, str | bytes) else (event or {})
    # A function's stdout (EMF metrics, prints) is its CloudWatch log on AWS: keep it off the
    # terminal and hand it back to moto as the invocation's log.
    logs = io.StringIO()
    try:
        with _stdout_lock, contextlib.redirect_stdout(logs):
            fault = _faults.get(self.function_name)
            if fault is not None:
                raise fault
            result = handler(payload, LocalContext(self.function_name))
        return json.dumps(result, default=str), False, logs.getvalue()
    except Exception as exc:
        body = {
            "errorType": type(exc).__name__,
            "errorMessage": str(exc),
            "stackTrace": traceback.format_exception(exc)[-5:],
        }
        return json.dumps(body), True, logs.getvalue()


def install() -> None:
    """Replace moto's Docker-based invocation with the in-process one (idempotent)."""
    LambdaFunction._invoke_lambda = _invoke  # type: ignore[method-assign]


def uninstall() -> None:
    LambdaFunction._invoke_lambda = _original  # type: ignore[method-assign]
    _handlers.clear()
    _faults.clear()
