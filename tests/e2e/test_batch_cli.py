"""``lendguard batch run|show`` with the real loan-book jobs: on a running ``lendguard serve`` over a
seeded book (``lendguard book seed``), and in-process over a generated snapshot."""

from __future__ import annotations

import json
import os
import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from served import LENDGUARD, served_stack
from typer.testing import CliRunner

from lendguard.batch.dates import today
from lendguard.offline.cli.main import app
from lendguard.offline.project import project_root

runner = CliRunner()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LENDGUARD, *args], capture_output=True, text=True, cwd=project_root(), timeout=600,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )  # fmt: skip


def test_seed_then_run_rerun_dry_run_and_show_on_the_served_stack(tmp_path: Path) -> None:
    day = (today() - timedelta(days=1)).isoformat()
    log = tmp_path / "serve.log"
    with served_stack(log):
        moto_port = re.search(r"AWS \(moto\) on\s+http://127\.0\.0\.1:(\d+)", log.read_text()).group(1)
        seeded = _cli("book", "seed", "-n", "120", "--as-of", day, "--moto-port", moto_port)
        assert seeded.returncode == 0, seeded.stderr
        run = _cli("batch", "run", "inloan", "--date", day, "--moto-port", moto_port, "--shard-rows", "50",
                   "--json")  # fmt: skip
        assert run.returncode == 0, run.stderr
        summary = json.loads(run.stdout)
        acted = summary["accounts"] - summary["counts"]["by_action"].get("NONE", 0)
        assert summary["status"] == "SUCCEEDED" and summary["shards_written"] == 3
        assert summary["applied"]["applied"] == acted > 0
        assert summary["applied"]["published"] > 0  # limit changes and freezes went to the bus
        # The same day again: found done, nothing applied twice.
        again = _cli("batch", "run", "inloan", "--date", day, "--moto-port", moto_port)
        assert again.returncode == 0, again.stderr
        assert "already done by inloan-" in again.stdout and "nothing scored or applied again" in again.stdout
        dry = _cli("batch", "run", "postloan", "--date", day, "--moto-port", moto_port, "--dry-run", "--json")
        assert dry.returncode == 0, dry.stderr
        dry_summary = json.loads(dry.stdout)
        assert dry_summary["run_id"] == f"postloan-{day}-dry-run" and not dry_summary.get("applied")
        assert set(dry_summary["counts"]["by_segment"]) - {"none"}
    shown = _cli("batch", "show", f"inloan-{day}", "--top", "5")
    assert shown.returncode == 0, shown.stderr
    assert "top actions (" in shown.stdout and "by_action" in shown.stdout
    assert f"applied {acted}" in shown.stdout


def test_in_process_run_over_a_generated_snapshot_then_show(tmp_path: Path) -> None:
    day = (today() - timedelta(days=3)).isoformat()
    snapshot = tmp_path / "book.parquet"
    generated = runner.invoke(app, ["book", "generate", "-n", "30", "--as-of", day, "--out", str(snapshot)])
    assert generated.exit_code == 0, generated.output
    result = runner.invoke(
        app, ["batch", "run", "postloan", "--date", day, "--dry-run", "--snapshot", str(snapshot),
              "--shard-rows", "12"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    run_id = f"postloan-{day}-dry-run"
    assert "3 of 3 written" in result.output
    shown = runner.invoke(app, ["batch", "show", run_id, "--top", "3", "--json"])
    assert shown.exit_code == 0, shown.output
    summary = json.loads(shown.output)
    assert summary["accounts"] == 30 and sum(summary["counts"]["by_segment"].values()) == 30


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["batch", "run", "midloan"], "JOB"),
        (["batch", "run", "inloan", "--date", "2026-13-01"], "--date"),
        (["batch", "run", "inloan", "--date", (today() + timedelta(days=1)).isoformat()], "--date"),
        (["batch", "run", "inloan", "--snapshot", "/nonexistent.parquet"], "--snapshot"),
        (["batch", "show", "inloan-1999-01-01"], "RUN"),
    ],
)
def test_bad_input_exits_2_naming_the_option(args, field) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert field in result.output


@pytest.mark.parametrize("command", [["batch", "run", "inloan"], ["book", "seed", "-n", "5"]])
def test_no_served_stack_on_the_moto_port_exits_2_naming_it(command: list[str]) -> None:
    from served import free_port

    before = dict(os.environ)
    result = runner.invoke(app, [*command, "--moto-port", str(free_port())])
    assert result.exit_code == 2, result.output
    assert "--moto-port" in result.output and "lendguard serve" in result.output
    assert dict(os.environ) == before  # the attached environment is undone
