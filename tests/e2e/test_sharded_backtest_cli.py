"""``lendguard backtest --cases W --sharded`` on a running ``lendguard serve``: the machine's report is
the one-process report over the same served archive; bad input exits 2 naming the option."""

from __future__ import annotations

import json
import os
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from served import LENDGUARD, free_port, served_stack
from typer.testing import CliRunner

from lendguard.offline.cli.main import app
from lendguard.offline.project import project_root

ROOT = project_root()
EXAMPLES = ROOT / "examples" / "applications"
TOKENS = {u["sub"]: u["token"] for u in json.loads((ROOT / "examples" / "users.json").read_text())["users"]}
LOAN_APP = TOKENS["arn:aws:iam::000000000000:role/loan-app-backend"]
runner = CliRunner()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LENDGUARD, *args], capture_output=True, text=True, cwd=ROOT, timeout=600,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200", "LENDGUARD_TOKEN": LOAN_APP},
    )  # fmt: skip


def _window() -> str:
    now = datetime.now(UTC)
    return f"{(now - timedelta(days=1)).date().isoformat()}..{(now + timedelta(days=1)).date().isoformat()}"


def test_sharded_and_one_process_reports_agree_on_the_served_archive(default_model, tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    with served_stack(log) as url:
        moto_port = re.search(r"AWS \(moto\) on\s+http://127\.0\.0\.1:(\d+)", log.read_text()).group(1)
        for name in ("approve", "review", "reject-admission", "black-listed"):
            decided = _cli("decide", str(EXAMPLES / f"{name}.json"), "--endpoint", url)
            assert decided.returncode == 0, decided.stderr
        common = ("backtest", "--cases", _window(), "--moto-port", moto_port)
        one = _cli(*common, "--out", str(tmp_path / "one"))
        assert one.returncode == 0, one.stderr
        sharded = _cli(*common, "--sharded", "--shard-cases", "1", "--out", str(tmp_path / "sharded"))
        assert sharded.returncode == 0, sharded.stderr
        assert "shards" in sharded.stderr  # the progress display
        empty = _cli("backtest", "--cases", "2001-01-01..2001-01-02", "--moto-port", moto_port, "--sharded",
                     "--out", str(tmp_path / "empty"))  # fmt: skip
        assert empty.returncode == 2, empty.stderr
        assert "cases: no archived case received" in empty.stderr and not (tmp_path / "empty").exists()

    def report(folder: str) -> dict:
        body = json.loads((tmp_path / folder / "report.json").read_text())
        return {k: v for k, v in body.items() if k != "generated_at"}

    assert report("sharded") == report("one")
    assert report("one")["data"]["cases_in_window"] >= 4
    assert (tmp_path / "sharded" / "report.html").is_file()


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--sharded", "--synthetic", "10"], "--sharded"),
        (["--cases", "2026-01-01..2026-01-02", "--shard-cases", "5"], "--shard-cases"),
        (["--cases", "2026-01-01..2026-01-02", "--sharded", "--shard-cases", "0"], "--shard-cases"),
        (["--cases", "2026-01-05..2026-01-02", "--sharded"], "--cases"),
        (["--cases", "2026-01-01..2026-01-02", "--sharded", "--policy", "no-such-policy.yaml"], "--policy"),
        (["--cases", "2026-01-01..2026-01-02", "--sharded"], "--sharded"),  # no machine in this environment
    ],
)
def test_bad_sharded_options_exit_2_naming_the_option_and_write_nothing(
    default_model, tmp_path: Path, args: list[str], field: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lendguard import deployment

    monkeypatch.delenv(deployment.BACKTEST_STATE_MACHINE.env_var, raising=False)
    out_dir = tmp_path / "out"
    result = runner.invoke(app, ["backtest", *args, "--out", str(out_dir)])
    assert result.exit_code == 2, result.output
    assert field in result.output
    assert not out_dir.exists()


def test_no_served_stack_on_the_moto_port_exits_2_naming_it(default_model, tmp_path: Path) -> None:
    before = dict(os.environ)
    result = runner.invoke(
        app,
        [
            "backtest",
            "--cases",
            _window(),
            "--sharded",
            "--moto-port",
            str(free_port()),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "--moto-port" in result.output and "lendguard serve" in result.output
    assert dict(os.environ) == before
