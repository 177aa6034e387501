"""Cold start of the online functions: each handler's import, against the floor, and warm-up.

Every figure comes from fresh interpreters started the way ``tests/infra/test_artifact.py``
starts a deployed function (``python -I -S`` with ``sys.path`` = the function's folder, the core
layer, a virtualenv of exactly the deps layer's pins, the standard library), so nothing of the
development install (pandas, xgboost, the editable lendguard) can be imported by accident.

Printed, from one run (the machine is shared and noisy: only ratios within a run count):
1. the floor: ``import boto3`` plus Powertools ``Logger``, ``Metrics`` and ``Tracer`` built
   (with X-Ray on, as in Lambda), median wall ms over the runs, and median CPU ms;
2. each online handler's import (median ms) and its ratio to the floor; target <= 1.3x. The
   CPU-time ratio beside it leaves out the time the interpreter waited for a core, which on a
   loaded machine moves the wall figures by tens of percent from one run to the next;
3. the warm-up of each decision stage (policy, routing, model, secret, clients: what the
   SnapStart before-snapshot hook or the first invocation does), on moto, measured separately.

Usage: ``python bench/coldstart.py [RUNS]`` (default 7 runs per handler, interleaved).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from lendguard import deployment
from lendguard.offline import project

ROOT = project.project_root()
sys.path.insert(0, str(ROOT))  # tests.infra.lambda_artifact builds the deps layer's virtualenv

from tests.infra.lambda_artifact import deps_virtualenv  # noqa: E402

LAYER = ROOT / "layers" / "core" / "python"
REQUIREMENTS = ROOT / "infra" / "layers" / "deps" / "requirements.txt"
TARGET = 1.3
ONLINE = (*deployment.DECISION_FUNCTIONS, deployment.API_FUNCTION, deployment.AUTHORIZER_FUNCTION)

# Runs inside the fresh interpreter: time the import (the interpreter's own start is the same for
# every function and is not ours to fix), print milliseconds and the heavy modules it loaded.
CHILD = """
import sys, time, json
sys.path[:0] = json.loads(sys.argv[1])
started, cpu = time.perf_counter(), time.process_time()
{body}
elapsed = (time.perf_counter() - started) * 1000
cpu = (time.process_time() - cpu) * 1000
heavy = sorted(m for m in ("numpy", "yaml", "cryptography", "pandas", "xgboost") if m in sys.modules)
print(json.dumps({{"ms": elapsed, "cpu_ms": cpu, "heavy": heavy}}))
"""
FLOOR = """
import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
Logger(); Metrics(); Tracer()
"""


def environment() -> dict[str, str]:
    """What Lambda sets (X-Ray on, so Tracer patches botocore as it does there), no credentials."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "lendguard-coldstart",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "_X_AMZN_TRACE_ID": "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0",
        "POWERTOOLS_SERVICE_NAME": "lendguard",
        "POWERTOOLS_METRICS_NAMESPACE": "LendGuard",
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        # The authorizer reads its provider at import (its own configuration, no network).
        deployment.ENV_OIDC_ISSUER: "https://issuer.example",
        deployment.ENV_OIDC_AUDIENCE: "lendguard",
        deployment.ENV_OIDC_JWKS_URI: "https://issuer.example/jwks.json",
    }


def timed_import(python: Path, paths: list[str], body: str, cwd: Path) -> dict:
    out = subprocess.run(
        [str(python), "-I", "-S", "-c", CHILD.format(body=body), json.dumps(paths)],
        cwd=cwd, env=environment(), capture_output=True, text=True, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"import failed in {cwd}:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


Times = tuple[float, float]  # median wall ms, median CPU ms


def _medians(results: list[dict]) -> Times:
    return statistics.median(r["ms"] for r in results), statistics.median(r["cpu_ms"] for r in results)


def import_times(runs: int) -> tuple[Times, dict[str, tuple[Times, list[str]]]]:
    python, site_packages = deps_virtualenv(REQUIREMENTS, ROOT / ".lendguard")
    floor: list[dict] = []
    samples: dict[str, list[dict]] = {spec.name: [] for spec in ONLINE}
    heavy: dict[str, list[str]] = {}
    for _ in range(runs):  # interleaved, so the machine's noise falls on all alike
        floor.append(timed_import(python, [str(site_packages)], FLOOR, ROOT))
        for spec in ONLINE:
            folder = project.function_dir(spec)
            result = timed_import(
                python, [str(folder), str(LAYER), str(site_packages)], "import handler", folder
            )
            samples[spec.name].append(result)
            heavy[spec.name] = result["heavy"]
    return _medians(floor), {name: (_medians(results), heavy[name]) for name, results in samples.items()}


def warm_up_times() -> dict[str, float]:
    """Milliseconds of each decision stage's warm-up on a local (moto) runtime, first call."""
    import time

    from lendguard.decision import warmup
    from lendguard.offline.local.runtime import LocalRuntime

    times: dict[str, float] = {}
    with LocalRuntime():
        for spec in deployment.DECISION_FUNCTIONS:
            warmup.reset()
            started = time.perf_counter()
            warmup.warm(spec.name)
            times[spec.name] = (time.perf_counter() - started) * 1000
    return times


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    (floor, floor_cpu), handlers = import_times(runs)
    print(f"floor (import boto3 + Powertools Logger, Metrics, Tracer): {floor:.0f} ms wall, "
          f"{floor_cpu:.0f} ms CPU (medians of {runs} fresh interpreters)")  # fmt: skip
    worst = worst_cpu = 0.0
    for name, ((ms, cpu), heavy) in handlers.items():
        ratio, cpu_ratio = ms / floor, cpu / floor_cpu
        worst, worst_cpu = max(worst, ratio), max(worst_cpu, cpu_ratio)
        print(f"  {name:15s} import {ms:6.0f} ms  {ratio:4.2f}x floor   CPU {cpu:6.0f} ms  "
              f"{cpu_ratio:4.2f}x   heavy modules: {', '.join(heavy) or 'none'}")  # fmt: skip
    print(f"worst handler {worst:.2f}x floor wall, {worst_cpu:.2f}x CPU "
          f"(target <= {TARGET}x: {'met' if worst <= TARGET else 'NOT met'})")  # fmt: skip
    print(
        "warm-up per container (moto, first call; SnapStart's before-snapshot hook or the first invocation):"
    )
    for name, ms in warm_up_times().items():
        print(f"  {name:15s} {ms:7.1f} ms")


if __name__ == "__main__":
    main()
