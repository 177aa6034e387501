"""The third-party "deps" Lambda layer, built with pip on this machine (Docker only as a fallback).

``pip install --platform manylinux… --only-binary=:all:`` downloads the wheels built for Lambda's
ARM64 / CPython 3.12 whatever machine runs the synthesis, so no Docker is needed. If pip cannot be
started at all, CDK falls back to the SAM build image with the same pip command.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from infra.constructs.layer_build import LambdaLayer

DEPS_DIR = Path(__file__).resolve().parents[1] / "layers" / "deps"
REQUIREMENTS = "requirements.txt"
PYTHON_VERSION = "3.12"
BUILD_IMAGE = "public.ecr.aws/sam/build-python3.12"
# manylinux2014 = glibc 2.17; newer wheels (numpy >= 2.3) are manylinux_2_28, which Lambda's
# Amazon Linux 2023 (glibc 2.34) runs. pip accepts both tags.
PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")


def pip_arguments(requirements: str, target: str) -> list[str]:
    """The ``pip install`` arguments used both locally and in the Docker fallback."""
    args = ["install", "--requirement", requirements, "--target", target]
    for platform in PLATFORMS:
        args += ["--platform", platform]
    return [
        *args,
        "--implementation",
        "cp",
        "--python-version",
        PYTHON_VERSION,
        "--only-binary=:all:",
        "--no-compile",
        "--disable-pip-version-check",
        "--no-cache-dir",
        "--quiet",
    ]


def pip_install(requirements: Path, target: Path, *, label: str) -> None:
    """pip install ``requirements`` for Lambda's platform into ``target``, without caches.

    Raises ``RuntimeError`` (``label`` names the layer) with pip's own message when it fails.
    """
    result = subprocess.run(
        [sys.executable, "-m", "pip", *pip_arguments(str(requirements), str(target))],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        # A failed download is not fixed by Docker: say what pip said instead.
        raise RuntimeError(f"{label}: pip install failed ({result.returncode}):\n{result.stderr[-4000:]}")
    for cache in target.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)


def pip_layer_code(source_dir: Path, docker_command: str, local: ILocalBundling) -> lambda_.Code:
    """``source_dir``'s asset bundled by ``local`` (Docker runs ``docker_command`` only as a fallback).

    Hashed from the source (the exact pins) and the bundling options, so the asset's folder is
    known before bundling and a cloud assembly that holds it is not rebuilt: the second
    `cdk synth` into the same cdk.out runs no pip.
    """
    return lambda_.Code.from_asset(
        str(source_dir),
        asset_hash_type=AssetHashType.SOURCE,
        bundling=BundlingOptions(
            image=DockerImage.from_registry(BUILD_IMAGE),
            platform="linux/arm64",
            command=["bash", "-c", docker_command],
            local=local,
        ),
    )


@jsii.implements(ILocalBundling)
class PipLocalBundling:
    """Runs pip on this machine; returns False (so CDK uses Docker) only when pip is unavailable."""

    def __init__(self, source_dir: Path = DEPS_DIR) -> None:
        self._source_dir = source_dir

    def try_bundle(self, output_dir: str, *, image: DockerImage | None = None, **_: object) -> bool:
        pip = [sys.executable, "-m", "pip"]
        try:
            subprocess.run([*pip, "--version"], check=True, capture_output=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            print("deps layer: pip is not available here; falling back to Docker bundling", file=sys.stderr)
            return False
        pip_install(self._source_dir / REQUIREMENTS, Path(output_dir) / "python", label="deps layer")
        return True


class DependencyLayer(LambdaLayer):
    """``lambda.LayerVersion`` holding ``python/<packages>`` from ``infra/layers/deps/requirements.txt``."""

    DESCRIPTION = "lendguard third-party dependencies (infra/layers/deps/requirements.txt)"

    def code(self, runtime: lambda_.Runtime) -> lambda_.Code:
        """The pinned wheels, bundled by :class:`PipLocalBundling`."""
        docker_command = " ".join(["pip", *pip_arguments(REQUIREMENTS, "/asset-output/python")])
        return pip_layer_code(DEPS_DIR, docker_command, PipLocalBundling(DEPS_DIR))
