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
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

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
        target = Path(output_dir) / "python"
        result = subprocess.run(
            [*pip, *pip_arguments(str(self._source_dir / REQUIREMENTS), str(target))],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            # A failed download is not fixed by Docker: say what pip said instead.
            raise RuntimeError(
                f"deps layer: pip install failed ({result.returncode}):\n{result.stderr[-4000:]}"
            )
        for cache in target.rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)
        return True


class DependencyLayer(Construct):
    """``lambda.LayerVersion`` holding ``python/<packages>`` from ``infra/layers/deps/requirements.txt``."""

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
        docker_command = " ".join(["pip", *pip_arguments(REQUIREMENTS, "/asset-output/python")])
        code = lambda_.Code.from_asset(
            str(DEPS_DIR),
            # Hashed from requirements.txt (exact pins) and the bundling options, so the asset's
            # folder is known before bundling and a cloud assembly that holds it is not rebuilt:
            # the second `cdk synth` into the same cdk.out runs no pip.
            asset_hash_type=AssetHashType.SOURCE,
            bundling=BundlingOptions(
                image=DockerImage.from_registry(BUILD_IMAGE),
                platform="linux/arm64",
                command=["bash", "-c", docker_command],
                local=PipLocalBundling(DEPS_DIR),
            ),
        )
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=code,
            compatible_runtimes=[runtime],
            compatible_architectures=[architecture],
            description="lendguard third-party dependencies (infra/layers/deps/requirements.txt)",
            removal_policy=removal_policy,
        )
