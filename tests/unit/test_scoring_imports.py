"""The online scoring function stays light: no pandas, scikit-learn, xgboost or scipy on import.

Each check runs in a fresh interpreter, because this test process has imported all of them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "sklearn", "xgboost", "scipy")

_PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("scoring_handler", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
import lendguard.decision.wiring, lendguard.decision.stages.scoring, lendguard.models.scorecard, lendguard.models.registry
import lendguard.store.artifacts
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})))
"""


@pytest.mark.parametrize("function", ["scoring"])
def test_the_scoring_handler_imports_no_heavy_library(function: str) -> None:
    handler = ROOT / "functions" / function / "handler.py"
    env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true"}
    probe = _PROBE.format(path=str(handler), heavy=set(HEAVY))
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_scoring_a_model_loads_no_heavy_library(default_model) -> None:
    """Loading an artifact and scoring a row stays in the standard library (not even numpy)."""
    from lendguard.offline.local.runtime import default_home, ensure_default_model

    directory = ensure_default_model(default_home())
    probe = (
        "import sys, json\n"
        "from lendguard.models.artifact import ModelArtifact\n"
        f"a = ModelArtifact.load({str(directory)!r})\n"
        "row, missing = a.encode_row({})\n"
        "a.ensemble().predict_proba(row); a.ensemble().contributions(row)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {set(HEAVY) | {'numpy'}!r})))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
