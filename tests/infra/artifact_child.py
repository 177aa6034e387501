"""One deployed Lambda function, run as Lambda runs it: the child side of ``test_artifact.py``.

Started as ``python -I -S -B artifact_child.py CONFIG_JSON`` so that nothing of the test's own
environment is importable: ``sys.path`` is the function's code, then the core layer's
``/opt/python``, then a virtualenv built from the deps layer's pins, then the standard library.
Every ``os.environ`` key the code reads is recorded (the wrapper is installed before anything
else is imported). The handler is imported once (a cold start, timed) and then invoked with one
event per line of stdin; each answer is one JSON line on the original stdout, while whatever
the function prints (Powertools metrics, logs) goes to stderr.
"""

import json
import os
import sys
import time
import traceback
import uuid

HEAVY = ("pandas", "sklearn", "xgboost")
READS: set[str] = set()


class _RecordingEnviron(os._Environ):  # type: ignore[misc,name-defined]
    """``os.environ`` that remembers every key looked up (``[]``, ``get``, ``in``, ``getenv``)."""

    def __getitem__(self, key: str) -> str:
        READS.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        READS.add(str(key))
        return super().__contains__(key)


_env = os.environ
# Replaced, not cleared: the same variables, read through the recorder (os.getenv uses it too).
os.environ = _RecordingEnviron(  # noqa: B003
    _env._data, _env.encodekey, _env.decodekey, _env.encodevalue, _env.decodevalue
)

with open(sys.argv[1]) as config_file:  # noqa: PTH123 - pathlib is one more import to record
    config = json.load(config_file)
# -I leaves out the script's folder and -S every site-packages: what is left is the stdlib.
stdlib = list(sys.path)
sys.path[:] = [config["function_dir"], config["layer_python_dir"], config["site_packages"], *stdlib]
roots = {
    "function": config["function_dir"],
    "layer": config["layer_python_dir"],
    "deps": config["site_packages"],
}
allowed_roots = tuple(root.rstrip(os.sep) + os.sep for root in [*roots.values(), *stdlib])

protocol = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)  # anything the function prints goes to stderr, never into the protocol


class Context:
    """The Lambda context attributes Powertools and the handlers read."""

    def __init__(self) -> None:
        self.function_name = config["function_name"]
        self.function_version = "$LATEST"
        self.invoked_function_arn = config["function_arn"]
        self.memory_limit_in_mb = config["memory_mb"]
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "artifact-test"
        self._deadline = time.monotonic() + config["timeout_s"]

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _origins() -> dict[str, list[str]]:
    """Modules loaded from outside the function, the layer, the deps and the standard library."""
    outside = []
    lendguard_from = []
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not path or path == __file__:  # this script (as __main__ and maybe __mp_main__)
            continue
        is_lendguard = name == "lendguard" or name.startswith("lendguard.")
        if is_lendguard and not path.startswith(roots["layer"] + os.sep):
            lendguard_from.append(f"{name}: {path}")
        if not path.startswith(allowed_roots):
            outside.append(f"{name}: {path}")
    return {"outside": sorted(outside), "lendguard_not_from_layer": sorted(lendguard_from)}


def _state() -> dict:
    return {
        "env_reads": sorted(READS),
        "heavy": sorted(m for m in HEAVY if m in sys.modules),
        **_origins(),
    }


def _send(message: dict) -> None:
    protocol.write(json.dumps(message, default=str) + "\n")


started = time.perf_counter()
try:
    import handler  # the function's handler.py, first on sys.path
except BaseException as exc:  # report any import failure, then stop
    _send({"ready": False, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()})
    sys.exit(1)
_send({"ready": True, "import_s": time.perf_counter() - started, **_state()})

for line in sys.stdin:
    event = json.loads(line)
    started = time.perf_counter()
    try:
        result = handler.handler(event, Context())
        answer = {"ok": True, "result": result}
    except Exception as exc:
        # As Lambda reports it to Step Functions: the exception's class name is the error.
        answer = {"ok": False, "error_type": type(exc).__name__, "error_message": str(exc),
                  "traceback": traceback.format_exc()}  # fmt: skip
    _send({**answer, "seconds": time.perf_counter() - started, **_state()})
