"""Release evidence as a user produces it (issue 14): ``lendguard backtest --compare`` writes
report.json, and ``lendguard policy submit --evidence`` attaches that file as it is."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from authn import token_of
from served import LENDGUARD, served_with_test_users

from lendguard.offline.project import default_policy_path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = default_policy_path()
SUITE = DEFAULT.with_name("default.tests.yaml")


def run(*args: str, who: str = "ops", timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "LENDGUARD_TOKEN": token_of(who)}
    return subprocess.run(
        [*LENDGUARD, *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT
    )


@pytest.fixture(scope="module")
def served(default_model, tmp_path_factory):
    with served_with_test_users(tmp_path_factory.mktemp("serve")) as url:
        yield url


@pytest.fixture(scope="module")
def candidate(tmp_path_factory) -> Path:
    """The default policy as version 2 with a stricter minimum income."""
    doc = yaml.safe_load(DEFAULT.read_text())
    doc["version"] = 2
    for rule in doc["admission"]:
        if "min_income" in rule.get("params", {}):
            rule["params"]["min_income"] = 2500
    path = tmp_path_factory.mktemp("policy") / "default-v2.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def backtest(candidate, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("backtest")
    done = run("backtest", "--synthetic", "2000", "--policy", str(candidate), "--compare", str(DEFAULT),
               "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out / "report.json"


def _variant(report: Path, where: Path, change) -> Path:
    doc = json.loads(report.read_text())
    change(doc)
    path = where / "changed.json"
    path.write_text(json.dumps(doc))
    return path


def test_submit_takes_the_backtest_report_and_refuses_one_of_another_comparison(
    served, candidate, backtest, tmp_path
) -> None:
    pushed = run("policy", "push", str(candidate), "--tests", str(SUITE), "--endpoint", served, who="alice")
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr

    # a report comparing v2 with a version that is not the champion (default v1) is refused
    stale = _variant(backtest, tmp_path, lambda d: d["comparison"]["policy"].update(version=5))
    refused = run(
        "policy", "submit", "default@2", "--evidence", str(stale), "--endpoint", served, who="alice"
    )
    assert refused.returncode == 2 and "evidence.baseline" in refused.stderr + refused.stdout
    # ... and so is one that is not a backtest of this version
    other = _variant(backtest, tmp_path, lambda d: d["policy"].update(version=7))
    refused = run(
        "policy", "submit", "default@2", "--evidence", str(other), "--endpoint", served, who="alice"
    )
    assert refused.returncode == 2 and "evidence.policy" in refused.stderr + refused.stdout
    # ... and one without a comparison
    alone = _variant(backtest, tmp_path, lambda d: d.update(comparison=None))
    refused = run(
        "policy", "submit", "default@2", "--evidence", str(alone), "--endpoint", served, who="alice"
    )
    assert refused.returncode == 2 and "evidence.comparison" in refused.stderr + refused.stdout

    submitted = run(
        "policy", "submit", "default@2", "--evidence", str(backtest), "--endpoint", served, who="alice"
    )
    assert submitted.returncode == 0 and "PENDING_APPROVAL" in submitted.stdout, (
        submitted.stdout + submitted.stderr
    )
    shown = run("policy", "show", "default@2", "--json", "--endpoint", served)
    assert shown.returncode == 0, shown.stderr
    evidence = json.loads(shown.stdout)["version"]["evidence"]
    report = json.loads(backtest.read_text())
    approve = {o["decision"]: o for o in report["outcomes"]}["APPROVE"]
    champion = {o["decision"]: o for o in report["comparison"]["outcomes"]}["APPROVE"]
    assert evidence["baseline"] == {"id": "default", "version": 1}
    assert evidence["rows"] == 2000 and evidence["data"].endswith("synthetic.parquet")
    assert evidence["candidate"] == {"approval_rate": approve["rate"], "bad_rate": approve["bad_rate"],
                                     "vendor_spend_per_1000": report["spend_per_1000"]}  # fmt: skip
    assert evidence["champion"]["approval_rate"] == champion["rate"]
    assert evidence["champion"]["bad_rate"] == champion["bad_rate"] is not None
    assert evidence["candidate"]["approval_rate"] < evidence["champion"]["approval_rate"]  # stricter income
    digest = hashlib.sha256(json.dumps(report, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert evidence["digest"] == digest
