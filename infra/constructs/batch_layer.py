"""The "batch" Lambda layer: pyarrow for the batch functions, pruned, built with pip (no Docker).

The batch functions carry core + deps + this layer; the online functions never do. pyarrow's
wheel is about 150 MB unzipped; the parts a batch function never loads are removed after pip
(:data:`PRUNE`), which keeps the three layers inside Lambda's 250 MB (``tests/infra`` measures
it). pip downloads the aarch64 / CPython 3.12 wheel whatever machine synthesizes, as for the deps
layer; Docker is only the fallback when pip cannot start.
"""

from __future__ import annotations

from pathlib import Path

import jsii
from aws_cdk import DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from infra.constructs.dependency_layer import REQUIREMENTS, PipLocalBundling, pip_arguments, pip_layer_code
from infra.constructs.layer_build import LambdaLayer, prune_paths

BATCH_DIR = Path(__file__).resolve().parents[1] / "layers" / "batch"
# Relative to python/pyarrow: Arrow Flight (RPC), the S3 filesystem (the batch
# reads and writes bytes through boto3), C++ headers, Cython sources and the test suite. (Substrait
# stays: pyarrow.lib links it.)
# ``pyarrow.fs`` imports the S3 filesystem optionally, so removing it is safe.
PRUNE: tuple[str, ...] = (
    "libarrow_flight.so*", "_flight*.so", "flight.py",
    "libarrow_s3.so*", "_s3fs*.so",
    "include", "src", "tests", "*.pxd", "*.pyx", "includes",
    # The linker loads libarrow_python.so.<major> (its soname); the other two names are copies.
    "libarrow_python.so", "libarrow_python.so.*.*.*",
)  # fmt: skip


def prune(site: Path) -> int:
    """Remove :data:`PRUNE` under ``site/pyarrow``; the bytes freed."""
    return prune_paths(site / "pyarrow", PRUNE)


@jsii.implements(ILocalBundling)
class PrunedPipBundling(PipLocalBundling):
    """The deps layer's pip bundling, then :func:`prune`."""

    def try_bundle(self, output_dir: str, *, image: DockerImage | None = None, **kwargs: object) -> bool:
        if not super().try_bundle(output_dir, image=image, **kwargs):
            return False
        prune(Path(output_dir) / "python")
        return True


def docker_command() -> str:
    """The same pip install and prune inside the SAM build image (only if pip cannot start here)."""
    pip = " ".join(["pip", *pip_arguments(REQUIREMENTS, "/asset-output/python")])
    removals = " ".join(f"/asset-output/python/pyarrow/{p}" for p in PRUNE)
    return f"{pip} && rm -rf {removals}"


class BatchLayer(LambdaLayer):
    """``lambda.LayerVersion`` holding a pruned ``python/pyarrow`` (infra/layers/batch/requirements.txt)."""

    DESCRIPTION = "lendguard batch functions: pyarrow (infra/layers/batch/requirements.txt, pruned)"

    def code(self, runtime: lambda_.Runtime) -> lambda_.Code:
        """The pinned pyarrow, bundled by :class:`PrunedPipBundling`."""
        return pip_layer_code(BATCH_DIR, docker_command(), PrunedPipBundling(BATCH_DIR))
