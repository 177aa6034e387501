"""The core Lambda layer: exactly the runtime part of the ``lendguard`` package, nothing offline.

``RUNTIME_ENTRIES`` is the one list of what the layer ships (top-level subpackages and modules
of ``lendguard``). Everything else under ``layers/core`` is excluded from the asset, derived
from that list: ``lendguard/offline`` (CLI, local runtime, training, evaluation, reports,
generators), install metadata (``*.egg-info``) and caches. A new top-level runtime module must
be added here; ``tests/infra/test_artifact.py`` imports every handler from the synthesized
layer, so a forgotten entry fails there, not in Lambda.

The layer ships bytecode for the Lambda runtime's Python (``__pycache__/*.cpython-312.pyc``,
unchecked-hash) when an interpreter of that version is on the synthesizing machine
(:func:`find_runtime_python`); otherwise it ships source only and every cold start outside
SnapStart compiles what it imports.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from infra.constructs.layer_build import LambdaLayer
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
# Where Lambda mounts the package: compiled code names its source there (tracebacks).
LAMBDA_PACKAGE_DIR = f"/opt/{LAYER_PYTHON_DIR}/{PACKAGE}"
# Names the interpreter to compile with when it is not on PATH as ``python3.12``.
ENV_LAYER_PYTHON = "LENDGUARD_LAYER_PYTHON"


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


def runtime_version(runtime: lambda_.Runtime) -> str:
    """``"3.12"`` for ``Runtime.PYTHON_3_12``."""
    return runtime.name.removeprefix("python")


def _reports_version(python: str, version: str) -> bool:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and out.stdout.strip() == version


def find_runtime_python(version: str) -> str | None:
    """An interpreter of the Lambda runtime's Python version on this machine, or None.

    Bytecode is only valid for the version that wrote it, so the layer is compiled only by an
    interpreter that reports exactly ``version``: ``$LENDGUARD_LAYER_PYTHON``, ``python3.12`` on
    PATH (a pyenv shim for a version not selected fails the check and is skipped), or a pyenv
    installation of that version.
    """
    candidates = [os.environ.get(ENV_LAYER_PYTHON), shutil.which(f"python{version}")]
    if sys.version_info[:2] == tuple(int(part) for part in version.split(".")):
        candidates.insert(0, sys.executable)
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += sorted(str(p) for p in pyenv.glob(f"{version}.*/bin/python{version}"))
    return next((c for c in candidates if c and _reports_version(c, version)), None)


def copy_runtime_package(root: Path, output_dir: Path) -> Path:
    """Copy ``python/lendguard/<RUNTIME_ENTRIES>`` (no caches) into ``output_dir``; the package dir."""
    target = output_dir / LAYER_PYTHON_DIR / PACKAGE
    target.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for entry in sorted((root / LAYER_PYTHON_DIR / PACKAGE).iterdir()):
        if entry.name not in RUNTIME_ENTRIES:
            continue
        if entry.is_dir():
            shutil.copytree(entry, target / entry.name, ignore=ignore)
        else:
            shutil.copy2(entry, target / entry.name)
    return target


def compile_package(python: str, package_dir: Path) -> None:
    """Write ``__pycache__/*.cpython-3XX.pyc`` beside every module, as the runtime would on import.

    ``unchecked-hash`` bytecode is used without looking at the source's timestamp: a layer is
    immutable, and the zip's timestamps say nothing about when the bytecode was written.
    """
    result = subprocess.run(
        [python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash",
         "-d", LAMBDA_PACKAGE_DIR, str(package_dir)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"core layer: compileall failed:\n{(result.stdout + result.stderr)[-4000:]}")


@jsii.implements(ILocalBundling)
class CompiledLayerBundling:
    """Copies the runtime entries and compiles them with the runtime's Python, on this machine."""

    def __init__(self, python: str, root: Path) -> None:
        self._python, self._root = python, root

    def try_bundle(self, output_dir: str, *, image: DockerImage | None = None, **_: object) -> bool:
        compile_package(self._python, copy_runtime_package(self._root, Path(output_dir)))
        return True


def layer_code(runtime: lambda_.Runtime) -> lambda_.Code:
    """The layer's asset: compiled for ``runtime`` when its interpreter is here, else source only.

    Without bytecode every cold start outside SnapStart compiles each imported module again (the
    layer is read-only, so nothing is cached); with it a cold import only unmarshals.
    """
    root = source_dir()
    excludes = asset_excludes(root)
    python = find_runtime_python(runtime_version(runtime))
    if python is None:
        return lambda_.Code.from_asset(str(root), exclude=excludes)
    return lambda_.Code.from_asset(
        str(root),
        exclude=excludes,
        # Hashed from the (excluded-filtered) source and the bundling options: the bytecode is a
        # function of them, and an unchanged package keeps its asset (and layer version).
        asset_hash_type=AssetHashType.SOURCE,
        bundling=BundlingOptions(
            # Local bundling always succeeds when an interpreter was found; the image is required
            # by the API and names what would compile the same bytecode.
            image=DockerImage.from_registry(f"public.ecr.aws/sam/build-python{runtime_version(runtime)}"),
            command=[
                "bash",
                "-c",
                f"cp -r /asset-input/{LAYER_PYTHON_DIR} /asset-output/ && python -m compileall -q "
                f"--invalidation-mode unchecked-hash -d {LAMBDA_PACKAGE_DIR} /asset-output/{LAYER_PYTHON_DIR}/{PACKAGE}",
            ],
            local=CompiledLayerBundling(python, root),
        ),
    )


class CoreLayer(LambdaLayer):
    """``lambda.LayerVersion`` with ``python/lendguard/`` limited to ``RUNTIME_ENTRIES``."""

    DESCRIPTION = "lendguard runtime package (layers/core/python/lendguard, offline/ excluded)"

    def code(self, runtime: lambda_.Runtime) -> lambda_.Code:
        """:func:`layer_code` for ``runtime``."""
        return layer_code(runtime)
