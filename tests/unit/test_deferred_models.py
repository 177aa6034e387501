"""Models are declared at import and built by the warm-up (lendguard.core.base_model)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lendguard import deployment

ROOT = Path(__file__).resolve().parents[2]
# The authorizer validates its provider's settings at import on purpose: a misconfigured one fails
# its first start, not a sign-in.
BUILT_AT_IMPORT = {"authorizer": ["OidcSettings"]}
CHECK = """
import sys
sys.path[:0] = [{function!r}, {layer!r}]
import handler
from lendguard.core.base_model import Model, _subclasses, build_models
from lendguard.decision import warmup
imported = _subclasses(Model)
built = sorted(m.__qualname__ for m in imported if m.__pydantic_complete__)
assert built == {expected!r}, f"built at import: {{built}}"
warmup.warm("no-such-function")  # its clients only; the models are built even if that fails
left = sorted(m.__qualname__ for m in _subclasses(Model) if not m.__pydantic_complete__)
assert not left, f"not built by the warm-up: {{left}}"
print(len(imported))
"""


@pytest.mark.parametrize("function", [f.name for f in deployment.ONLINE_FUNCTIONS])
def test_a_handler_import_builds_no_model_and_the_warm_up_builds_them_all(function: str) -> None:
    code = CHECK.format(
        function=str(ROOT / "functions" / function),
        layer=str(ROOT / "layers/core/python"),
        expected=BUILT_AT_IMPORT.get(function, []),
    )
    env = {"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin",
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           # The authorizer reads its provider's configuration at import (no network).
           deployment.ENV_OIDC_ISSUER: "https://issuer.example", deployment.ENV_OIDC_AUDIENCE: "lendguard",
           deployment.ENV_OIDC_JWKS_URI: "https://issuer.example/jwks.json"}  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    if function in {f.name for f in deployment.DECISION_FUNCTIONS}:  # they parse the state at once
        assert int(done.stdout.split()[-1]) > 10
