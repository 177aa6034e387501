"""CDK tests import ``infra.*`` from the repo root and run jsii on Node 20 without its banner."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print what test_artifact.py measured (cold imports, sizes), also from xdist workers."""
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
