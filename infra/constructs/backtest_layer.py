"""The "backtest" Lambda layer: pandas and the column evaluator, for the sharded backtest's functions.

The backtest functions carry core + deps + this layer (never pyarrow, never xgboost: the shards are
JSON lines, and the evaluator scores with the project's own tree evaluator). pip downloads the
aarch64 / CPython 3.12 wheels of ``infra/layers/backtest/requirements.txt`` whatever machine
synthesizes; :func:`prune` removes what the deps layer already ships (numpy) and what a function
never loads (pandas' tests, scripts). Then the evaluator package is added as
``python/lendguard/offline/backtest`` (with ``offline/__init__.py``): Lambda extracts every layer
into ``/opt``, so this tree merges with the core layer's ``python/lendguard`` (which has no
``offline``). ``tests/infra/test_artifact.py`` measures the three layers against 250 MB.

The evaluator is copied from this checkout, so the layer is built on this machine only: there is
no Docker fallback (its image could not see the package), and pip must be available.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.constructs.core_layer import LAYER_PYTHON_DIR, PACKAGE, source_dir
from infra.constructs.dependency_layer import BUILD_IMAGE, REQUIREMENTS, pip_arguments

BACKTEST_DIR = Path(__file__).resolve().parents[1] / "layers" / "backtest"
# The runtime package's offline entries the layer ships (relative to python/lendguard).
EVALUATOR_ENTRIES: tuple[str, ...] = ("offline/__init__.py", "offline/backtest")
# Relative to the layer's python/: the deps layer's numpy, console scripts, pandas' test suite.
PRUNE: tuple[str, ...] = ("numpy", "numpy.libs", "numpy-*.dist-info", "bin", "pandas/tests")


def evaluator_files(root: Path | None = None) -> list[Path]:
    """The evaluator's source files, in a stable order (they and the pins make the asset's hash)."""
    package = (root or source_dir()) / LAYER_PYTHON_DIR / PACKAGE
    files: list[Path] = []
    for entry in EVALUATOR_ENTRIES:
        path = package / entry
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return files


def asset_hash() -> str:
    """sha256 of the pins and the evaluator's sources: the layer changes exactly when they do."""
    digest = hashlib.sha256((BACKTEST_DIR / REQUIREMENTS).read_bytes())
    package = source_dir() / LAYER_PYTHON_DIR
    for path in evaluator_files():
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def prune(site: Path) -> int:
    """Remove :data:`PRUNE` under ``site``; the bytes freed."""
    freed = 0
    for pattern in PRUNE:
        for path in site.glob(pattern):
            if path.is_dir():
                freed += sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
                shutil.rmtree(path)
            elif path.exists():
                freed += path.stat().st_size
                path.unlink()
    return freed


def copy_evaluator(site: Path, root: Path | None = None) -> None:
    """``python/lendguard/offline/{__init__.py,backtest/}`` from the checkout (no caches)."""
    package = (root or source_dir()) / LAYER_PYTHON_DIR / PACKAGE
    target = site / PACKAGE
    for entry in EVALUATOR_ENTRIES:
        source, dest = package / entry, target / entry
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, dest)


@jsii.implements(ILocalBundling)
class BacktestBundling:
    """pip install the pins for Lambda's platform, :func:`prune`, :func:`copy_evaluator`."""

    def try_bundle(self, output_dir: str, *, image: DockerImage | None = None, **_: object) -> bool:
        site = Path(output_dir) / LAYER_PYTHON_DIR
        result = subprocess.run(
            [sys.executable, "-m", "pip", *pip_arguments(str(BACKTEST_DIR / REQUIREMENTS), str(site))],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(
                f"backtest layer: pip install failed ({result.returncode}):\n{result.stderr[-4000:]}"
            )
        for cache in site.rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)
        prune(site)
        copy_evaluator(site)
        return True


class BacktestLayer(Construct):
    """``lambda.LayerVersion``: pruned pandas and ``lendguard.offline.backtest`` (the column evaluator)."""

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
        code = lambda_.Code.from_asset(
            str(BACKTEST_DIR),
            asset_hash_type=AssetHashType.CUSTOM,
            asset_hash=asset_hash(),
            bundling=BundlingOptions(
                # Required by the API; never used: local bundling always succeeds or raises.
                image=DockerImage.from_registry(BUILD_IMAGE),
                platform="linux/arm64",
                local=BacktestBundling(),
            ),
        )
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=code,
            compatible_runtimes=[runtime],
            compatible_architectures=[architecture],
            description="lendguard backtest functions: pandas (pruned) and lendguard.offline.backtest",
            removal_policy=removal_policy,
        )
