"""What every lendguard Lambda layer construct shares: the ``LayerVersion`` and pruning a pip tree.

The core, deps, batch and backtest layers differ only in their code asset and description; the
construct around them (one ``LayerVersion`` named ``Layer``, for one runtime and architecture) is
:class:`LambdaLayer`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

from aws_cdk import RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from constructs import Construct


def prune_paths(root: Path, patterns: Iterable[str]) -> int:
    """Remove every path under ``root`` matching one of the glob ``patterns``; the bytes freed."""
    freed = 0
    for pattern in patterns:
        for path in root.glob(pattern):
            if path.is_dir():
                freed += sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
                shutil.rmtree(path)
            elif path.exists():
                freed += path.stat().st_size
                path.unlink()
    return freed


class LambdaLayer(Construct):
    """A construct holding ``self.layer``: one ``lambda.LayerVersion`` (id ``Layer``).

    Subclasses say what the layer holds by :meth:`code` and :attr:`DESCRIPTION`.
    """

    DESCRIPTION: str = ""

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
            code=self.code(runtime),
            compatible_runtimes=[runtime],
            compatible_architectures=[architecture],
            description=self.DESCRIPTION,
            removal_policy=removal_policy,
        )

    def code(self, runtime: lambda_.Runtime) -> lambda_.Code:
        """The layer's asset for ``runtime``; every subclass defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define code()")
