"""Environment every suite needs: fake AWS credentials and Powertools settings (never real AWS)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

for key, value in {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "POWERTOOLS_SERVICE_NAME": "lendguard",
    "POWERTOOLS_METRICS_NAMESPACE": "LendGuard",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
}.items():
    os.environ.setdefault(key, value)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "applications"


@pytest.fixture(scope="session")
def examples() -> dict[str, dict]:
    """The example applications by file stem (approve, review, reject-admission, ...)."""
    return {p.stem: json.loads(p.read_text()) for p in EXAMPLES.glob("*.json")}


@pytest.fixture(scope="session")
def default_policy():
    from lendguard.offline.project import default_policy_path
    from lendguard.policy.loader import load_policy

    return load_policy(default_policy_path())


@pytest.fixture(scope="session")
def default_model():
    """The default synthetic model (trained once into .lendguard/ and reused)."""
    from lendguard.models.artifact import ModelArtifact
    from lendguard.offline.local.runtime import default_home, ensure_default_model

    return ModelArtifact.load(ensure_default_model(default_home()))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print what tests/infra/test_artifact.py measured (cold imports, sizes), also from xdist
    workers. Here, not in tests/infra/conftest.py: under xdist only this conftest is loaded by the
    process that prints the summary."""
    lines = [
        value
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "call"
        for name, value in getattr(report, "user_properties", [])
        if name == "artifact_report"
    ]
    if lines:
        terminalreporter.section("deployed artifact")
        for line in lines:
            terminalreporter.write_line(line)
