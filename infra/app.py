"""The lendguard CDK app: one ``LendGuard-<env>`` stack, checked by cdk-nag (AwsSolutions).

    npx --yes aws-cdk@2.1148.1 synth -c env=dev        # env: dev (default), staging, prod
    npx --yes aws-cdk@2.1148.1 deploy -c env=staging

Settings come from ``infra/config/<env>.json`` (see ``infra/settings.py``). Tests call
``build_app("dev", bundle=False)``, which skips the pip bundling of the deps layer.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

_INFRA_DIR = Path(__file__).resolve().parent
_REPO_ROOT = _INFRA_DIR.parent
if __name__ == "__main__":
    # Run as a script (cdk.json): put the repo root, not infra/, on sys.path, so `infra.*` imports
    # work and infra/constructs never shadows the `constructs` library.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _INFRA_DIR]
    sys.path.insert(0, str(_REPO_ROOT))

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from infra.settings import ConfigError, EnvConfig, load_config  # noqa: E402
from infra.stacks.lendguard_stack import LendGuardStack  # noqa: E402

DEFAULT_ENV = "dev"
CDK_JSON = _REPO_ROOT / "cdk.json"
# With this context set to [] CDK bundles no asset: the deps layer needs no pip and no network.
BUNDLING_STACKS = "aws:cdk:bundling-stacks"


def stack_name(env_name: str) -> str:
    return f"LendGuard-{env_name}"


def _cdk_json_context() -> dict[str, Any]:
    """Feature flags from cdk.json, so an app built in a test behaves like one the CLI runs."""
    try:
        return dict(json.loads(CDK_JSON.read_text()).get("context", {}))
    except FileNotFoundError:
        return {}


def build_app(
    env_name: str | None = None,
    *,
    bundle: bool = True,
    outdir: str | None = None,
    context: dict[str, Any] | None = None,
    config: EnvConfig | None = None,
) -> cdk.App:
    """Build the app for ``env_name`` (default: ``-c env=NAME``, else dev); nothing is synthesized yet.

    ``config`` replaces ``infra/config/<env>.json`` (tests synthesize variants, e.g. a China region).
    Raises ``infra.settings.ConfigError`` for an unknown environment or an invalid config file.
    """
    app_context = _cdk_json_context()
    if not bundle:
        app_context[BUNDLING_STACKS] = []
    app_context.update(context or {})
    app = cdk.App(context=app_context, outdir=outdir)
    name = env_name or app.node.try_get_context("env") or DEFAULT_ENV
    config = config or load_config(name)
    env = cdk.Environment(
        account=config.account or os.environ.get("CDK_DEFAULT_ACCOUNT"),
        region=config.region or os.environ.get("CDK_DEFAULT_REGION"),
    )
    stack = LendGuardStack(
        app,
        stack_name(name),
        env_name=name,
        config=config,
        env=env if (env.account or env.region) else None,
        description=f"lendguard loan-decision engine ({name})",
        termination_protection=config.termination_protection,
    )
    cdk.Tags.of(stack).add("project", "lendguard")
    cdk.Tags.of(stack).add("environment", name)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


def main() -> None:
    try:
        app = build_app()
    except ConfigError as exc:
        sys.exit(f"lendguard infra: {exc}")
    app.synth()


if __name__ == "__main__":
    main()
