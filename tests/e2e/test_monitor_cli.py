"""``lendguard monitor`` against ``lendguard serve``: the stack computes the report over its own cases
and their archived facts (``GET /v1/monitor``), the CLI writes the JSON and the HTML page."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from authn import cli_token_env, write_users_file
from served import LENDGUARD, served_stack

from lendguard.monitoring.days import day_of
from lendguard.monitoring.evaluate import MonitorReport

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "applications"


def run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **cli_token_env(args)}
    return subprocess.run([*LENDGUARD, *args], capture_output=True, text=True, timeout=240, env=env, cwd=ROOT)


def test_monitor_reads_the_served_stacks_cases_and_archive(default_model, tmp_path) -> None:
    users = write_users_file(tmp_path / "users.json")
    with served_stack(tmp_path / "serve.log", "--users", str(users)) as url:
        for i, name in enumerate(("approve", "approve", "reject-admission")):
            app = {**json.loads((EXAMPLES / f"{name}.json").read_text()), "application_id": f"MON-{i}"}
            path = tmp_path / f"app{i}.json"
            path.write_text(json.dumps(app))
            decided = run("decide", str(path), "--endpoint", url)
            assert decided.returncode == 0, decided.stdout + decided.stderr
        today = day_of(datetime.now(UTC)).isoformat()
        out = tmp_path / "report"
        done = run("monitor", "--date", today, "--out", str(out), "--endpoint", url)
        assert done.returncode == 0, done.stdout + done.stderr
        report = MonitorReport.model_validate_json((out / "monitor.json").read_text())
        assert report.cases == 3
        # feature values came from the archive: the approved cases' model inputs are there
        income = next(f for f in report.figures if f.name == "psi:applicant.monthly_income" and f.arm is None)
        assert income.value is not None
        assert "Early delinquency" in (out / "monitor.html").read_text()
        bad = run("monitor", "--from", today, "--out", str(out), "--endpoint", url)
        assert bad.returncode == 2 and "--to" in bad.stdout + bad.stderr
