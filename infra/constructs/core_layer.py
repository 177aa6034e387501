"""The core Lambda layer: exactly the runtime part of the ``lendguard`` package, nothing offline.

``RUNTIME_ENTRIES`` is the one list of what the layer ships (top-level subpackages and modules
of ``lendguard``). Everything else under ``layers/core`` is excluded from the asset, derived
from that list: ``lendguard/offline`` (CLI, local runtime, training, evaluation, reports,
generators), install metadata (``*.egg-info``) and caches. A new top-level runtime module must
be added here; ``tests/infra/test_artifact.py`` imports every handler from the synthesized
layer, so a forgotten entry fails there, not in Lambda.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from lendguard.offline import project

PACKAGE = "lendguard"
# Lambda mounts a layer at /opt; Python layers put packages under python/ (/opt/python).
LAYER_PYTHON_DIR = "python"
RUNTIME_ENTRIES: frozenset[str] = frozenset(
    {
        "__init__.py",
        "py.typed",
        "deployment.py",
        "settings.py",
        "core",
        "policy",
        "decision",
        "vendors",
        "lists",
        "cases",
        "models",
        "store",
        "http",
        "outcomes",
        "book",
        "internal",
        "lifecycle",
        "monitoring",
        # Batch runs over the loan book (their functions add the pyarrow "batch" layer).
        "batch",
    }
)
CACHE_EXCLUDES = ("**/__pycache__", "**/*.pyc")


def source_dir() -> Path:
    """``layers/core``: the asset's root, holding ``python/lendguard``."""
    return project.project_root() / "layers" / "core"


def asset_excludes(root: Path | None = None) -> list[str]:
    """Glob excludes (relative to ``root``) that leave only ``python/lendguard/<RUNTIME_ENTRIES>``."""
    root = root or source_dir()
    python_dir = root / LAYER_PYTHON_DIR
    package_dir = python_dir / PACKAGE
    if not package_dir.is_dir():
        raise FileNotFoundError(f"core layer: no package at {package_dir}")
    excludes = [*CACHE_EXCLUDES]
    excludes += sorted(p.name for p in root.iterdir() if p.name != LAYER_PYTHON_DIR)
    excludes += sorted(f"{LAYER_PYTHON_DIR}/{p.name}" for p in python_dir.iterdir() if p.name != PACKAGE)
    excludes += sorted(
        f"{LAYER_PYTHON_DIR}/{PACKAGE}/{p.name}"
        for p in package_dir.iterdir()
        if p.name not in RUNTIME_ENTRIES
    )
    return excludes


class CoreLayer(Construct):
    """``lambda.LayerVersion`` with ``python/lendguard/`` limited to ``RUNTIME_ENTRIES``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        runtime: lambda_.Runtime,
        architecture: lambda_.Architecture,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=lambda_.Code.from_asset(str(source_dir()), exclude=asset_excludes()),
            compatible_runtimes=[runtime],
            compatible_architectures=[architecture],
            description="lendguard runtime package (layers/core/python/lendguard, offline/ excluded)",
            removal_policy=removal_policy,
        )
