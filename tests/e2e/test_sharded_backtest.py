"""The backtest machine on moto: a window of archived cases evaluated in shards through the
Distributed Map gives the one-process backtest's report (same counts, rates, swap set)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from lendguard.cases.service import decide
from lendguard.offline import batch_runs, project
from lendguard.offline.backtest.cases_source import ArchivedCases
from lendguard.offline.backtest.run import Candidate, run_backtest
from lendguard.offline.backtest.sharded import BacktestStart, cases_key
from lendguard.offline.backtest.sharded_run import read_report, read_summary, start_backtest
from lendguard.offline.synthetic import synthetic_applications
from lendguard.store import archive, batch_objects
from lendguard.store import batch_runs as runs_table

SYNTHETIC = 24  # seed 11 holds approvals, reviews and rejects at several stages


@pytest.fixture(scope="module")
def window(runtime, examples) -> str:
    """FROM..TO around the cases decided here (every outcome, and cases not evaluable)."""
    decided = []
    for name in ("approve", "review", "reject-admission", "black-listed"):
        raw = {**copy.deepcopy(examples[name]), "application_id": f"A-SHARD-{name}"}
        status, r = decide(json.dumps(raw))
        assert status == 200, r
        decided.append(r.case_id)
    for i, raw in enumerate(synthetic_applications(SYNTHETIC, seed=11, now=datetime.now(UTC))):
        raw = {**raw, "application_id": f"A-SHARD-SYN-{i}", "submitted_at": datetime.now(UTC).isoformat()}
        status, r = decide(json.dumps(raw))
        if status == 200:
            decided.append(r.case_id)
    received = [archive.get_header(c).received_at for c in decided]
    return f"{min(received).isoformat()}..{max(received).isoformat()}"


@pytest.fixture(scope="module")
def stricter(runtime, tmp_path_factory) -> Candidate:
    """Version 9 of the default policy with a higher approval cut-off: some accepted cases swap out."""
    data = copy.deepcopy(yaml.safe_load(project.default_policy_path().read_text()))
    data["version"] = 9
    # Today's review band (and the bottom of the approvals) is rejected under version 9.
    cut = data["cutoffs"]
    cut["review_min"], cut["approve_min"] = cut["approve_min"] + 25, cut["approve_min"] + 60
    path = tmp_path_factory.mktemp("sharded") / "policy-v9.yaml"
    path.write_text(yaml.safe_dump(data))
    runtime.publish_policy(path)
    from lendguard.policy.loader import load_policy

    return Candidate(load_policy(path), runtime_model())


def runtime_model() -> Any:
    """The model the local stack published (what the shards read)."""
    from lendguard.offline.project import default_policy_path
    from lendguard.policy.loader import load_policy
    from lendguard.store import artifacts

    ref = load_policy(default_policy_path()).scoring.model
    return artifacts.get_model(ref.id, ref.version)


def _run(request: dict[str, Any]) -> tuple[dict[str, Any], batch_runs.Started]:
    started = start_backtest(BacktestStart.model_validate(request))
    seen: list[batch_runs.Progress] = []
    execution = batch_runs.wait(started, on_progress=seen.append, poll_s=0.05, timeout_s=600)
    return execution, started


def _comparable(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k != "generated_at"}


def test_the_sharded_report_equals_the_one_process_report(runtime, window, stricter):
    policy = runtime.policy
    base = Candidate(policy, runtime_model())
    start, stop = (datetime.fromisoformat(t) for t in window.split(".."))
    one = run_backtest(ArchivedCases(start, stop, [base, stricter]), base, stricter)

    execution, started = _run(
        {
            "cases": window,
            "policy": f"{policy.id}@{policy.version}",
            "compare": f"{policy.id}@9",
            "shard_cases": 5,
        }
    )
    assert execution["status"] == "SUCCEEDED", batch_runs.failure(execution)
    sharded = read_report(started.run_id)
    assert sharded is not None
    expected = json.loads(one.model_dump_json())
    assert _comparable(sharded) == _comparable(expected)
    # The window really was split, and the comparison has swaps to agree on.
    summary = read_summary(started.run_id)
    assert summary["shards_expected"] == summary["shards_written"] > 2
    assert summary["status"] == "SUCCEEDED" and runs_table.get_run(started.run_id).status == "SUCCEEDED"
    assert sharded["comparison"]["swap_out"]["n"] > 0
    assert sharded["rows"] > 0 and sharded["data"]["not_evaluable"] > 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"policy": "default@77"}, "policy"),
        ({"compare": "nope"}, "compare"),
        ({"cases": "2001-01-01..2001-01-02"}, "cases"),
        ({"cases": "2001-01-05..2001-01-02"}, "cases"),
        ({"shard_cases": 0}, "shard_cases"),
    ],
)
def test_bad_starts_fail_at_the_plan_naming_the_field_and_write_nothing(runtime, window, change, field):
    from lendguard.batch import layout

    request = {"cases": window, "policy": f"{runtime.policy.id}@{runtime.policy.version}", **change}
    try:
        start = BacktestStart.model_validate(request)
    except ValueError as exc:  # the CLI's own check (exit 2) before any start
        assert field in str(exc)
        return
    execution, started = _run(start.model_dump(exclude_none=True))
    assert execution["status"] == "FAILED"
    cause = batch_runs.failure(execution)
    assert cause.startswith("InvalidInput") and f"{field}:" in cause
    assert list(batch_objects.keys(layout.run_prefix(started.run_id))) == []
    assert batch_objects.get(cases_key(started.run_id, 0)) is None
    assert runs_table.get_run(started.run_id) is None


def test_a_window_of_unevaluable_cases_fails_without_a_report(runtime, window):
    # Only the case rejected at admission: its lists and vendors were never asked, so not evaluable.
    headers = sorted(
        (h for h in archive.iter_headers() if h.application_id == "A-SHARD-reject-admission"),
        key=lambda h: h.received_at,
    )
    when = headers[0].received_at
    narrow = f"{when.isoformat()}..{(when + timedelta(microseconds=1)).isoformat()}"
    execution, started = _run({"cases": narrow, "policy": f"{runtime.policy.id}@{runtime.policy.version}"})
    assert execution["status"] == "FAILED"
    assert "no evaluable case" in batch_runs.failure(execution)
    assert read_report(started.run_id) is None
    assert read_summary(started.run_id)["status"] == "FAILED"


def test_a_shard_that_keeps_failing_fails_the_run_without_a_report(runtime, window, monkeypatch):
    from lendguard.offline.backtest import sharded

    real = sharded.evaluate_cases

    def failing(plan, headers):
        if any(h.application_id == "A-SHARD-approve" for h in headers):
            raise RuntimeError("injected shard failure")
        return real(plan, headers)

    monkeypatch.setattr(sharded, "evaluate_cases", failing)
    execution, started = _run(
        {"cases": window, "policy": f"{runtime.policy.id}@{runtime.policy.version}", "shard_cases": 4}
    )
    assert execution["status"] == "FAILED"
    assert "BatchRunFailed" in batch_runs.failure(execution)
    summary = read_summary(started.run_id)
    assert summary["status"] == "FAILED" and len(summary["missing_shards"]) == 1
    assert summary["shards_written"] == summary["shards_expected"] - 1
    assert read_report(started.run_id) is None
    assert runs_table.get_run(started.run_id).status == "FAILED"
