"""Decision throughput in process, and the state machine's overhead on moto.

Prints, from one run (the machine is shared and noisy, so only ratios within a run count):
1. decisions per second of the in-process pipeline (every stage, no AWS), per core;
   target ≥ 2,000/s.
2. p50 latency of the real decision state machine on moto, as a ratio against a no-op state
   machine of the same shape (same ASL, every Lambda returning its input) on the same moto;
   target ≤ 1.5×. Runs alternate between the two so noise hits both alike. Also printed: the
   same ratio from the executions' own start and stop times, which the client's polling
   interval cannot round.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from datetime import UTC, datetime

from lendguard import deployment
from lendguard.core.application import parse_application
from lendguard.core.hashing import LOCAL_SECRET
from lendguard.decision.pipeline import Pipeline
from lendguard.models.artifact import ModelArtifact
from lendguard.offline import project
from lendguard.offline.local import lambda_hook
from lendguard.offline.local.runtime import (
    ROLE_ARN,
    LocalRuntime,
    default_home,
    definition_substitutions,
    ensure_default_model,
)
from lendguard.offline.synthetic import synthetic_applications
from lendguard.policy.loader import load_policy


def in_process(n: int) -> float:
    policy = load_policy(project.default_policy_path())
    model = ModelArtifact.load(ensure_default_model(default_home()))
    pipeline = Pipeline(policy, model, LOCAL_SECRET)
    raws = [json.dumps(a) for a in synthetic_applications(n, seed=11)]
    now = datetime.now(UTC)
    for raw in raws[:50]:  # warm caches and compiled paths
        pipeline.decide(parse_application(raw, policy.products), "warm", now)
    started = time.process_time()  # CPU time of this one thread: decisions per core
    for i, raw in enumerate(raws):
        pipeline.decide(parse_application(raw, policy.products), f"C{i}", now)
    return n / (time.process_time() - started)


def _ms(result) -> float:
    return (result.stopped_at - result.started_at).total_seconds() * 1000


def state_machines(n: int) -> tuple[float, float, float, float]:
    """p50 ms of the real and the no-op machine: as the client saw them, and as the executions ran."""
    from lendguard.store import executions
    from lendguard.store.aws import client

    with LocalRuntime():
        sfn, lam = client("stepfunctions"), client("lambda")
        arns = {}
        for spec in deployment.DECISION_FUNCTIONS:
            name = f"noop-{spec.name}"
            arns[spec.substitution] = lam.create_function(
                FunctionName=name, Runtime="python3.12", Role=ROLE_ARN,
                Handler="handler.handler", Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
            )["FunctionArn"]  # fmt: skip
            lambda_hook.register(name, lambda event, _ctx: {**event, "halted": False})
        definition = project.render_definition(
            deployment.DECISION_STATE_MACHINE, definition_substitutions(arns)
        )
        noop_arn = sfn.create_state_machine(
            name="noop-decision", definition=definition, roleArn=ROLE_ARN, type="EXPRESS"
        )["stateMachineArn"]

        from lendguard.cases.service import decide

        apps = [json.dumps(a) for a in synthetic_applications(n, seed=5)]
        real, noop, real_run, noop_run = [], [], [], []
        for i, raw in enumerate(apps):
            started = time.perf_counter()
            _, response = decide(raw)
            real.append((time.perf_counter() - started) * 1000)
            real_run.append(_ms(executions.wait(response.execution_arn)))
            started = time.perf_counter()
            desc = sfn.start_execution(stateMachineArn=noop_arn, name=f"noop-{i}", input=json.dumps({"i": i}))
            noop_run.append(_ms(executions.wait(desc["executionArn"])))
            noop.append((time.perf_counter() - started) * 1000)
        return tuple(statistics.median(x) for x in (real, noop, real_run, noop_run))


def main() -> None:
    n_fast = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    n_sfn = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    rate = in_process(n_fast)
    real_ms, noop_ms, real_run_ms, noop_run_ms = state_machines(n_sfn)
    print(f"in-process pipeline: {rate:,.0f} decisions/s per core over {n_fast} applications "
          f"(target >= 2,000/s: {'met' if rate >= 2000 else 'NOT met'})")  # fmt: skip
    ratio = real_ms / noop_ms
    print(f"state machine p50 on moto: {real_ms:.1f} ms real vs {noop_ms:.1f} ms no-op of the same shape "
          f"= {ratio:.2f}x (target <= 1.5x: {'met' if ratio <= 1.5 else 'NOT met'})")  # fmt: skip
    print(f"  as the executions ran (start to stop): {real_run_ms:.1f} ms vs {noop_run_ms:.1f} ms "
          f"= {real_run_ms / noop_run_ms:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
