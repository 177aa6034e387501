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
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from infra.constructs.core_layer import LAYER_PYTHON_DIR, PACKAGE, source_dir
from infra.constructs.dependency_layer import BUILD_IMAGE, REQUIREMENTS, pip_install
from infra.constructs.layer_build import LambdaLayer, prune_paths

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
    return prune_paths(site, PRUNE)


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
        pip_install(BACKTEST_DIR / REQUIREMENTS, site, label="backtest layer")
        prune(site)
        copy_evaluator(site)
        return True


class BacktestLayer(LambdaLayer):
    """``lambda.LayerVersion``: pruned pandas and ``lendguard.offline.backtest`` (the column evaluator)."""

    DESCRIPTION = "lendguard backtest functions: pandas (pruned) and lendguard.offline.backtest"

    def code(self, runtime: lambda_.Runtime) -> lambda_.Code:
        """The pins and the evaluator, hashed by :func:`asset_hash`, bundled by :class:`BacktestBundling`."""
        return lambda_.Code.from_asset(
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
