"""Warm-up of an online function, once per container, and its SnapStart runtime hooks.

Importing a handler does no I/O and parses nothing (``bench/coldstart.py`` holds it near the
floor of boto3 plus Powertools). What a stage reads on every case is loaded here instead: the
deployment's policy version (YAML parsed, expressions compiled), the routing, the scoring model,
the hash secret, the boto3 clients and the vendor adapters.

Where Lambda SnapStart is on, the runtime offers the ``snapshot_restore_py`` module: the warm-up
then runs in the before-snapshot hook, so it is paid once per published version, and the
after-restore hook refreshes what must not be shared between the containers restored from one
snapshot (random state) or what is bound to time or to connections (clients, the routing cache,
cached vendor secrets, circuit breakers). Without SnapStart the first invocation warms up; later
invocations only check a flag.
"""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Callable
from importlib import import_module
from typing import Any

_warmed: set[str] = set()
_lock = threading.Lock()


def _policy() -> Any:
    from lendguard.settings import settings
    from lendguard.store import artifacts

    policy_id, version = settings.policy
    return artifacts.get_policy(policy_id, version)


def _clients(*services: str) -> None:
    from lendguard.store.aws import client

    for service in services:
        client(service)


def _validate() -> None:
    from lendguard.core import application  # noqa: F401 - the parser and its models
    from lendguard.decision.stages import validate  # noqa: F401
    from lendguard.settings import settings
    from lendguard.store.policies import cached_routing
    from lendguard.store.secrets import hash_secret

    _clients("s3", "dynamodb", "ssm")
    hash_secret()
    _policy()
    cached_routing(settings.policy[0])


def _scoring() -> None:
    from lendguard.decision.stages import scoring  # noqa: F401
    from lendguard.store import artifacts

    _clients("s3")
    ref = _policy().scoring.model
    model = artifacts.get_model(ref.id, ref.version)
    if model.metadata.kind == "xgboost":  # the single-row code, compiled once per container
        model.ensemble().compile_single_row()


def _external_data() -> None:
    from lendguard.decision.stages import external_data  # noqa: F401
    from lendguard.decision.wiring import vendor_registry

    _clients("s3", "dynamodb", "secretsmanager")
    _policy()
    vendor_registry()


def _stage(module: str, *services: str) -> Callable[[], None]:
    def warm() -> None:
        import_module(f"lendguard.decision.stages.{module}")
        _clients("s3", *services)
        _policy()

    return warm


def _internal_data() -> None:
    from lendguard.internal import source  # noqa: F401
    from lendguard.store import own_data  # noqa: F401

    _stage("internal_data", "dynamodb")()


def _finalize() -> None:
    from lendguard.cases import archive, record, review  # noqa: F401
    from lendguard.store import archive as archive_store  # noqa: F401

    _clients("s3", "dynamodb", "kms", "stepfunctions")
    _policy()


def _api() -> None:
    # The HTTP routes import their services on first use; the warm-up imports the decision
    # route's (the one on a customer's wait) and its clients, so a restored API skips both.
    from lendguard.cases import record, service  # noqa: F401
    from lendguard.store import cases, executions  # noqa: F401

    _clients("s3", "dynamodb", "stepfunctions")


WARMERS: dict[str, Callable[[], None]] = {
    "validate": _validate,
    "admission": _stage("admission"),
    "lists": _stage("lists", "dynamodb"),
    "internal_data": _internal_data,
    "external_data": _external_data,
    "features": _stage("features"),
    "scoring": _scoring,
    "decision": _stage("decision"),
    "finalize": _finalize,
    "record_failure": lambda: _clients("s3", "dynamodb", "kms"),
    "api": _api,
}


def warm(function: str) -> None:
    """Load what ``function`` reads on every case (an unknown name warms the clients only), then
    build the validators of every model the container has imported (deferred at import)."""
    from lendguard.core.base_model import build_models

    try:
        WARMERS.get(function, lambda: _clients("s3", "dynamodb"))()
    finally:  # also when a store is not reachable yet: the models need no store
        build_models()


def ensure_warm(function: str) -> None:
    """Warm ``function`` unless this container already has (the per-invocation cost is a set lookup).

    Tried once per container: a warm-up that fails (a store not reachable yet, the deployment's
    policy version not stored) is logged by its error type and never fails the invocation, whose
    own reads load what it needs or fail with their own errors.
    """
    if function in _warmed:
        return
    with _lock:
        if function in _warmed:
            return
        _warmed.add(function)
        try:
            warm(function)
        except Exception as exc:
            import logging

            logging.getLogger(__name__).warning(
                "warm-up incomplete", extra={"function": function, "error": type(exc).__name__}
            )


def reset() -> None:
    """Forget that this container warmed up (tests and the cold-start bench)."""
    _warmed.clear()
    from lendguard.store import artifacts

    artifacts.clear_caches()
    after_restore()


def after_restore() -> None:
    """What a container restored from a snapshot must not share with its siblings or its past.

    Random state is re-seeded (every restored container would otherwise draw the same jitter);
    boto3 clients are dropped (their pooled connections died with the snapshot); the routing
    cache is dropped (its age was measured on a clock that stopped at the snapshot, and a routing
    changed since must take effect at once); cached vendor secrets and the vendor adapters with
    their circuit breakers are rebuilt on first use. Policies and models stay: they are immutable.
    """
    random.seed(os.urandom(32))
    from lendguard.decision.wiring import vendor_registry
    from lendguard.store.aws import reset_clients
    from lendguard.store.policies import clear_routing_cache
    from lendguard.store.vendor_secrets import clear_cache

    reset_clients()
    clear_routing_cache()
    clear_cache()
    vendor_registry.cache_clear()


def register_runtime_hooks(function: str) -> bool:
    """Register the SnapStart hooks when the runtime offers them; True if it did.

    Lambda's Python runtime provides ``snapshot_restore_py`` (``register_before_snapshot``,
    ``register_after_restore``); elsewhere the module is missing and the first invocation warms up.
    """
    try:
        hooks = import_module("snapshot_restore_py")
    except ImportError:
        return False
    hooks.register_before_snapshot(lambda: ensure_warm(function))
    hooks.register_after_restore(after_restore)
    return True
