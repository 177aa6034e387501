"""The decision's hot path in process, what crosses between stages, and the store calls per stage.

Prints, from one run (the machine is shared and noisy, so only ratios within a run count):
1. decisions per second of the in-process pipeline (every stage, full traces, no AWS), per core
   (CPU time of this thread), and its ratio to the floor: parsing and validating the same
   applications alone; target <= 2.5x;
2. the per-stage time split of those decisions;
3. the state's size (JSON, as Step Functions passes it) after each stage for the example
   applications (largest target < 32 KB; the Step Functions limit is 256 KB) and the synthetic ones;
4. the store calls (DynamoDB, S3, Secrets Manager, KMS, SSM) each stage makes per decision on a
   warm container, against the budget declared below (on AWS each is a network round trip);
5. for information only: p50 of the real decision state machine on moto against a no-op machine
   of the same shape (same ASL, every Lambda returning its input). On moto the store calls
   dominate, so this says little about AWS.

Usage: ``python bench/decision.py [N_IN_PROCESS] [N_STATE_MACHINE]`` (defaults 10000 and 20).
"""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

from lendguard import deployment
from lendguard.core.application import parse_application
from lendguard.core.hashing import LOCAL_SECRET
from lendguard.decision.pipeline import Pipeline
from lendguard.decision.state import DecisionState
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

FLOOR_TARGET = 2.5
STATE_TARGET_BYTES = 32 * 1024
STORES = ("dynamodb", "s3", "secretsmanager", "kms", "ssm")
# Store calls per decision on a warm container, per function (the ceiling each may use). The
# policy, model, hash secret and routing are read by the warm-up, then cached (routing for
# ROUTING_CACHE_SECONDS): the decision path itself counts velocity, reads lists, own data and the
# vendor data cache, and writes the case. The vendor stages' ceilings follow the policy's vendor
# groups (budget()).
PER_VENDOR = {"dynamodb": 3, "s3": 1}  # cache read, no-double-charge record, cache write; raw payload
BUDGET: dict[str, dict[str, int]] = {
    # Velocity counted as the case opens (store.own_data.count_opening): the once-marker, one
    # counter per identifier (ID, phone, device, IP) and the day's ID set of the device and of the
    # IP. Separate items, not one transaction: see store/daily.py on moto's transactions.
    "validate": {"dynamodb": 7},
    "admission": {},
    "lists": {"dynamodb": 1},  # one batch read of every identifier's list entries
    # One batch read each: velocity counters, case history, customer features; loan events only
    # for a customer with past cases.
    "internal_data": {"dynamodb": 4},
    "external_data": {},  # budget(): PER_VENDOR for each vendor it may call
    "features": {},
    "scoring": {},
    "decision": {},  # budget(): PER_VENDOR for each after-model vendor
    # The case (first write); the per-day rule statistics: its once-marker and the counters, in two
    # items when more than 40 rules ran (store/daily.py); the case history entry; the archive's
    # sealed parts (application, derived facts, decision) with a data key per sealed part.
    "finalize": {"dynamodb": 5, "s3": 3, "kms": 2},
    # REVIEW cases only (a share of decisions): the task token beside the case.
    "review_task": {"dynamodb": 1},
}


def budget(policy: Any) -> dict[str, dict[str, int]]:
    """BUDGET with the vendor stages' ceilings from the policy: PER_VENDOR for every vendor of the
    groups ExternalData calls, and of the after-model groups the Decision stage calls."""
    out = dict(BUDGET)
    for stage, after in (("external_data", False), ("decision", True)):
        n = sum(len(g.vendors) for g in policy.vendor_groups if g.after_model is after)
        out[stage] = {service: calls * n for service, calls in PER_VENDOR.items()}
    return out


def _setup() -> tuple[Any, Pipeline]:
    policy = load_policy(project.default_policy_path())
    model = ModelArtifact.load(ensure_default_model(default_home()))
    return policy, Pipeline(policy, model, LOCAL_SECRET)


def in_process(n: int) -> tuple[float, float]:
    """Decisions per second per core, and the ratio of a decision's CPU to parsing alone."""
    policy, pipeline = _setup()
    raws = [json.dumps(a) for a in synthetic_applications(n, seed=11)]
    now = datetime.now(UTC)
    for raw in raws[:50]:  # warm caches and compiled paths
        pipeline.decide(parse_application(raw, policy.products), "warm", now)
    floor = full = 0.0
    for _ in range(2):  # alternate, so the machine's noise falls on both alike
        started = time.process_time()  # CPU time of this one thread: per core
        for raw in raws:
            parse_application(raw, policy.products)
        floor += time.process_time() - started
        started = time.process_time()
        for i, raw in enumerate(raws):
            pipeline.decide(parse_application(raw, policy.products), f"C{i}", now)
        full += time.process_time() - started
    return 2 * n / full, full / floor


def stage_split(n: int) -> tuple[dict[str, float], dict[str, dict[str, int]]]:
    """Mean ms per stage over ``n`` synthetic decisions; state bytes after each stage per example."""
    policy, pipeline = _setup()
    now = datetime.now(UTC)
    spent: dict[str, float] = defaultdict(float)
    last = [0.0]

    def timing(stage: str, _state: DecisionState) -> None:
        at = time.perf_counter()
        spent[stage] += at - last[0]
        last[0] = at

    for i, app in enumerate(synthetic_applications(n, seed=13)):
        raw = json.dumps(app)
        last[0] = time.perf_counter()
        pipeline.decide(parse_application(raw, policy.products), f"S{i}", now, observe=timing)
    split = {stage: spent[stage] / n * 1000 for stage in spent}

    sizes: dict[str, dict[str, int]] = {}
    examples = sorted((project.project_root() / "examples" / "applications").glob("*.json"))
    for path in examples:
        try:
            app = parse_application(path.read_text(), policy.products)
        except Exception:  # invalid.json: refused before any state exists
            continue
        row: dict[str, int] = {}
        pipeline.decide(
            app, path.stem, now, observe=lambda s, st, row=row: row.__setitem__(s, len(st.model_dump_json()))
        )
        sizes[path.stem] = row
    largest: dict[str, int] = defaultdict(int)
    for app in synthetic_applications(min(n, 2000), seed=17):
        pipeline.decide(
            parse_application(json.dumps(app), policy.products), "Z", now,
            observe=lambda s, st: largest.__setitem__(s, max(largest[s], len(st.model_dump_json()))),
        )  # fmt: skip
    sizes["synthetic (largest)"] = dict(largest)
    return split, sizes


def store_calls(n: int) -> dict[str, Counter[str]]:
    """Store calls per function per decision, warm, over ``n`` synthetic applications on moto."""
    import botocore.client

    from lendguard.cases.service import decide

    current = threading.local()
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    original = botocore.client.BaseClient._make_api_call

    def counting(self: Any, operation: str, params: Any) -> Any:
        function = getattr(current, "function", None)
        service = self.meta.service_model.service_name
        if function is not None and service in STORES:
            counts[function][service] += 1
            counts[function][f"{service}.{operation}"] += 1
        return original(self, operation, params)

    def attributed(name: str, handler: Any) -> Any:
        def run(event: Any, context: Any) -> Any:
            current.function = name.removeprefix("lendguard-local-")
            try:
                return handler(event, context)
            finally:
                current.function = None

        return run

    apps = [json.dumps(a) for a in synthetic_applications(n + 2, seed=23, now=datetime.now(UTC))]

    def decide_one(raw: str) -> None:  # received when it was submitted (generated up to 6 days back)
        decide(raw, received_at=datetime.fromisoformat(json.loads(raw)["submitted_at"]))

    with LocalRuntime():
        for name, handler in list(lambda_hook._handlers.items()):
            lambda_hook.register(name, attributed(name, handler))
        for raw in apps[:2]:  # warm-up: policy, model, secret, routing, clients
            decide_one(raw)
        botocore.client.BaseClient._make_api_call = counting
        try:
            for raw in apps[2:]:
                decide_one(raw)
        finally:
            botocore.client.BaseClient._make_api_call = original
    return {function: Counter({k: v / n for k, v in c.items()}) for function, c in counts.items()}


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

        apps = [json.dumps(a) for a in synthetic_applications(n, seed=5, now=datetime.now(UTC))]
        real, noop, real_run, noop_run = [], [], [], []
        for i, raw in enumerate(apps):
            started = time.perf_counter()
            _, response = decide(raw, received_at=datetime.fromisoformat(json.loads(raw)["submitted_at"]))
            real.append((time.perf_counter() - started) * 1000)
            real_run.append(_ms(executions.wait(response.execution_arn)))
            started = time.perf_counter()
            desc = sfn.start_execution(stateMachineArn=noop_arn, name=f"noop-{i}", input=json.dumps({"i": i}))
            noop_run.append(_ms(executions.wait(desc["executionArn"])))
            noop.append((time.perf_counter() - started) * 1000)
        return tuple(statistics.median(x) for x in (real, noop, real_run, noop_run))


def main() -> None:
    n_fast = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    n_sfn = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    rate, ratio = in_process(n_fast)
    print(f"in-process decisions: {rate:,.0f}/s per core over {n_fast} applications (full traces, no I/O)")
    print(f"  CPU per decision / CPU of parsing and validating the application alone: {ratio:.2f}x "
          f"(target <= {FLOOR_TARGET}x: {'met' if ratio <= FLOOR_TARGET else 'NOT met'})")  # fmt: skip
    split, sizes = stage_split(min(n_fast, 3000))
    total = sum(split.values())
    print("per-stage time (mean ms per decision, share):")
    for stage, ms in split.items():
        print(f"  {stage:14s} {ms:7.3f} ms  {ms / total:6.1%}")
    print("state size after each stage (bytes of JSON handed to the next Lambda):")
    worst = 0
    for name, row in sizes.items():
        if not name.startswith("synthetic"):
            worst = max(worst, *row.values())
        print(f"  {name:20s} " + "  ".join(f"{s}={b:,}" for s, b in row.items()))
    print(f"  largest for the examples: {worst:,} bytes (target < {STATE_TARGET_BYTES:,}: "
          f"{'met' if worst < STATE_TARGET_BYTES else 'NOT met'})")  # fmt: skip
    if n_sfn <= 0:  # ``decision.py N 0``: the in-process figures only
        return
    calls = store_calls(n_sfn)
    print("store calls per decision on a warm container (measured / budget):")
    over = []
    ceilings = budget(load_policy(project.default_policy_path()))
    for function in (*ceilings, *(f for f in calls if f not in ceilings)):
        measured, ceiling = calls.get(function, Counter()), ceilings.get(function, {})
        cells = []
        for service in STORES:
            m, b = measured.get(service, 0.0), ceiling.get(service, 0)
            if m or b:
                cells.append(f"{service} {m:.1f}/{b}")
                if m > b + 1e-9:
                    over.append(f"{function} {service}")
        print(f"  {function:14s} {', '.join(cells) or 'none'}")
    print(f"  within budget: {'yes' if not over else 'NO (' + ', '.join(over) + ')'}")
    real_ms, noop_ms, real_run_ms, noop_run_ms = state_machines(n_sfn)
    print(f"for information, moto: state machine p50 {real_ms:.1f} ms real vs {noop_ms:.1f} ms no-op "
          f"of the same shape = {real_ms / noop_ms:.2f}x; as the executions ran {real_run_ms:.1f} vs "
          f"{noop_run_ms:.1f} ms = {real_run_ms / noop_run_ms:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
