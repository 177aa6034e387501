"""Warm-up runs once per container, in SnapStart's hooks where the runtime offers them."""

from __future__ import annotations

import random
import sys
import types
from collections.abc import Callable, Iterator

import pytest

from lendguard.decision import warmup


class SnapshotRuntime(types.ModuleType):
    """A stand-in for the Lambda runtime's ``snapshot_restore_py``: records the hooks, runs them."""

    def __init__(self) -> None:
        super().__init__("snapshot_restore_py")
        self.before: list[Callable[[], None]] = []
        self.after: list[Callable[[], None]] = []

    def register_before_snapshot(self, hook: Callable[[], None]) -> None:
        self.before.append(hook)

    def register_after_restore(self, hook: Callable[[], None]) -> None:
        self.after.append(hook)

    def snapshot_and_restore(self) -> None:
        for hook in self.before:
            hook()
        for hook in self.after:
            hook()


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Warm-ups recorded instead of reading stores; the container starts cold."""
    calls: list[str] = []
    monkeypatch.setattr(warmup, "warm", calls.append)
    monkeypatch.setattr(warmup, "_warmed", set())
    yield calls


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> SnapshotRuntime:
    module = SnapshotRuntime()
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", module)
    return module


def test_without_snapstart_the_first_invocation_warms_up_and_later_ones_do_not(
    counted: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import fails: no SnapStart
    assert warmup.register_runtime_hooks("scoring") is False
    for _ in range(5):
        warmup.ensure_warm("scoring")
    assert counted == ["scoring"]


def test_snapstart_hooks_warm_before_the_snapshot_and_refresh_after_restore(
    counted: list[str], runtime: SnapshotRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lendguard.decision import wiring
    from lendguard.store import aws, policies, vendor_secrets

    refreshed: list[str] = []
    monkeypatch.setattr(aws, "reset_clients", lambda: refreshed.append("clients"))
    monkeypatch.setattr(policies, "clear_routing_cache", lambda: refreshed.append("routing"))
    monkeypatch.setattr(vendor_secrets, "clear_cache", lambda: refreshed.append("vendor secrets"))
    monkeypatch.setattr(wiring.vendor_registry, "cache_clear", lambda: refreshed.append("vendor registry"))

    assert warmup.register_runtime_hooks("external_data") is True
    assert len(runtime.before) == 1 and len(runtime.after) == 1
    random.seed(1234)
    snapshot_draw = random.random()
    random.seed(1234)  # every container restored from one snapshot starts from this state

    runtime.snapshot_and_restore()

    assert counted == ["external_data"]  # before the snapshot
    assert sorted(refreshed) == ["clients", "routing", "vendor registry", "vendor secrets"]
    assert random.random() != snapshot_draw  # re-seeded on restore
    warmup.ensure_warm("external_data")  # the first invocation after restore
    assert counted == ["external_data"]


def test_after_restore_drops_the_routing_cache_for_real(monkeypatch: pytest.MonkeyPatch) -> None:
    from lendguard.policy.routing import Routing
    from lendguard.store import policies

    reads: list[str] = []

    def get_routing(policy_id: str) -> Routing | None:
        reads.append(policy_id)
        return None

    monkeypatch.setattr(policies, "get_routing", get_routing)
    policies.clear_routing_cache()
    policies.cached_routing("default")
    policies.cached_routing("default")
    assert reads == ["default"]  # cached
    warmup.after_restore()
    policies.cached_routing("default")
    assert reads == ["default", "default"]  # read again after the restore


def test_a_failed_warm_up_never_fails_the_invocation(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[str] = []

    def broken(function: str) -> None:
        attempts.append(function)
        raise ConnectionError("store not reachable")

    monkeypatch.setattr(warmup, "warm", broken)
    monkeypatch.setattr(warmup, "_warmed", set())
    warmup.ensure_warm("lists")
    warmup.ensure_warm("lists")
    assert attempts == ["lists"]  # tried once per container


def test_every_stage_that_serves_a_case_has_a_warm_up() -> None:
    from lendguard import deployment

    assert {spec.name for spec in deployment.DECISION_FUNCTIONS} <= set(warmup.WARMERS)


def test_stage_handlers_register_the_hooks(runtime: SnapshotRuntime, counted: list[str]) -> None:
    from lendguard.decision.handlers import stage_handler

    stage_handler("scoring")
    assert len(runtime.before) == 1
    runtime.before[0]()
    assert counted == ["scoring"]


API_PROBE = """
import json, sys
from lendguard.decision import warmup
from lendguard.http import app  # every route registered
lazy = sorted(m for m in ("lendguard.cases.service", "lendguard.store.executions",
                          "lendguard.lifecycle.service", "yaml") if m in sys.modules)
made = []
warmup._clients = lambda *services: made.extend(services)
warmup.warm("api")
warm = sorted(m for m in ("lendguard.cases.service", "lendguard.store.executions") if m in sys.modules)
print(json.dumps({"at_import": lazy, "after_warm_up": warm, "clients": made}))
"""


def test_api_routes_import_services_lazily_and_the_warm_up_imports_the_decision_routes() -> None:
    """In a fresh interpreter: the API's import loads no route service; the warm-up loads the
    decision route's (what SnapStart's before-snapshot hook runs)."""
    import json
    import os
    import subprocess

    out = subprocess.run(
        [sys.executable, "-c", API_PROBE], capture_output=True, text=True, check=True,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
    )  # fmt: skip
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["at_import"] == []
    assert seen["after_warm_up"] == ["lendguard.cases.service", "lendguard.store.executions"]
    assert {"dynamodb", "stepfunctions"} <= set(seen["clients"])
