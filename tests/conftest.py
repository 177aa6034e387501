"""Environment every suite needs: fake AWS credentials, Powertools settings (never real AWS), and a
private ``$LENDGUARD_HOME`` holding the committed default model (tests never train it)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
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
# The policy's model (default-xgb v1) and its challenger scorecard, trained once and committed:
# see tests/data/models/README.md.
MODELS = ROOT / "tests" / "data" / "models"
MODEL_FIXTURE = MODELS / "default-xgb" / "v1"
SCORECARD_FIXTURE = MODELS / "default-scorecard" / "v1"

_home: Path | None = None
_saved_home: str | None = None


def pytest_sessionstart(session: pytest.Session) -> None:
    """Point ``$LENDGUARD_HOME`` at a fresh folder seeded with the committed model.

    Runs before collection in every process (each xdist worker too), so the local runtime, the
    CLI subprocesses the tests start and ``ensure_default_model`` all find the model there:
    nothing trains, and no test reads or writes the checkout's ``.lendguard``.
    """
    global _home, _saved_home
    _home = Path(tempfile.mkdtemp(prefix="lendguard-test-home-"))
    shutil.copytree(MODEL_FIXTURE, _home / "models" / "default-xgb" / "v1")
    _saved_home = os.environ.get("LENDGUARD_HOME")
    os.environ["LENDGUARD_HOME"] = str(_home)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _saved_home is None:
        os.environ.pop("LENDGUARD_HOME", None)
    else:
        os.environ["LENDGUARD_HOME"] = _saved_home
    if _home is not None:
        shutil.rmtree(_home, ignore_errors=True)


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
    """The policy's model, loaded from the committed fixture (never trained in a test run)."""
    from lendguard.models.artifact import ModelArtifact

    return ModelArtifact.load(MODEL_FIXTURE)


@pytest.fixture(scope="session")
def default_scorecard():
    """The default points scorecard (``default-scorecard`` v1), loaded from the committed fixture."""
    from lendguard.models.artifact import ModelArtifact

    return ModelArtifact.load(SCORECARD_FIXTURE)


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


CHROMIUM = "/usr/bin/chromium"  # Debian's package (scripts/ensure-chromium.sh installs it)


@pytest.fixture
def browser():
    """Headless Debian Chromium driven by Playwright (no browser download)."""
    assert shutil.which("chromium") or Path(CHROMIUM).exists(), "run scripts/ensure-chromium.sh"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()
