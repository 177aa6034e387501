"""Deterministic replay on its own local stack: every case of a scenario covering every outcome
(approve, review, a reject at each stage that can reject, a vendor fault) replays identically
under its pinned version, with no vendor called and nothing written."""

from __future__ import annotations

import copy
import json
import os
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from authn import resolve_as

from lendguard import deployment
from lendguard.cases.service import decide
from lendguard.offline import project
from lendguard.offline.synthetic import synthetic_applications
from lendguard.settings import settings
from lendguard.store import cases
from lendguard.store.aws import client

SYNTHETIC = 60  # seed 11 holds rejects at admission, identity, anti-fraud, bureau and decision


def replay_http(case_id: str, body: Any = None, sub: str = "ops") -> tuple[int, dict]:
    data = json.dumps(body if body is not None else {}).encode()
    status, _, text = resolve_as(
        "POST", f"/v1/cases/{case_id}/replay", {"Content-Type": "application/json"}, data, sub=sub
    )
    return status, json.loads(text)


def _stored_objects() -> int:
    s3 = client("s3")
    return sum(
        len(page.get("Contents", []))
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=settings.data_bucket)
    )


@pytest.fixture(scope="module")
def scenario(runtime, examples, tmp_path_factory) -> dict[str, str]:
    """Case id -> label, for a set of cases covering every outcome and a vendor fault."""
    decided: dict[str, str] = {}
    for name in ("approve", "review", "reject-admission", "black-listed"):
        raw = {**copy.deepcopy(examples[name]), "application_id": f"A-REPLAY-{name}"}
        status, r = decide(json.dumps(raw))
        assert status == 200, r
        decided[r.case_id] = name
    for i, raw in enumerate(synthetic_applications(SYNTHETIC, seed=11, now=datetime.now(UTC))):
        # Received now: a synthetic application may be days old, which intake refuses.
        raw = {**raw, "application_id": f"A-REPLAY-SYN-{i}", "submitted_at": datetime.now(UTC).isoformat()}
        status, r = decide(json.dumps(raw))
        if status == 200:
            decided[r.case_id] = f"synthetic-{i}"
    # A vendor fault: the bureau always fails under version 2 (its rules' on_missing apply).
    data = copy.deepcopy(yaml.safe_load(project.default_policy_path().read_text()))
    data["version"] = 2
    bureau = next(v for v in data["vendors"] if v["id"] == "bureau")
    bureau.update({"retries": 0, "cache_ttl_days": 0, "faults": {"error_rate": 1.0}})
    path = tmp_path_factory.mktemp("replay") / "policy-v2.yaml"
    path.write_text(yaml.safe_dump(data))
    runtime.publish_policy(path)
    before = os.environ.get(deployment.ENV_POLICY_VERSION)
    os.environ[deployment.ENV_POLICY_VERSION] = "2"
    try:
        raw = {**copy.deepcopy(examples["approve"]), "application_id": "A-REPLAY-FAULT"}
        status, r = decide(json.dumps(raw))
        assert status == 200, r
        decided[r.case_id] = "vendor-fault"
    finally:
        if before is None:
            os.environ.pop(deployment.ENV_POLICY_VERSION, None)
        else:
            os.environ[deployment.ENV_POLICY_VERSION] = before
    return decided


def test_every_case_replays_identically_under_its_pinned_version(scenario):
    kinds = set()
    objects = _stored_objects()
    for case_id, label in scenario.items():
        status, body = replay_http(case_id)
        assert status == 200, body
        assert body["pinned"] and body["identical"], (label, body["changes"])
        assert body["replay"] == body["original"]
        kinds.add((body["original"]["decision"], body["original"]["halted_at"]))
        if label == "vendor-fault":
            fault = next(v for v in cases.get_case(case_id).trace.vendors if v.vendor == "bureau")
            assert fault.status == "error"
    # The scenario covers every outcome, and every stage that can reject.
    assert {("APPROVE", None), ("REVIEW", None)} <= kinds
    assert {h for d, h in kinds if d == "REJECT"} >= {
        "admission", "lists", "vendor:identity", "vendor:antifraud", "vendor:bureau", "decision",
    }  # fmt: skip
    assert _stored_objects() == objects  # nothing written


def test_a_replay_calls_no_vendor(scenario, monkeypatch):
    from lendguard.vendors.base import SimulatedProvider

    def refuse(*_a: Any, **_k: Any) -> None:
        raise AssertionError("a replay called a vendor")

    monkeypatch.setattr(SimulatedProvider, "fetch", refuse)
    case_id = next(c for c, label in scenario.items() if label == "approve")
    status, body = replay_http(case_id)
    assert status == 200 and body["identical"] and body["original"]["decision"] == "APPROVE"


def test_another_version_shows_what_changes_and_names_data_never_bought(scenario, runtime, tmp_path):
    data = copy.deepcopy(yaml.safe_load(project.default_policy_path().read_text()))
    data["version"] = 3
    data["cutoffs"]["approve_min"] = 10_000  # nobody approves outright: approvals become reviews
    for rule in data["admission"]:
        if rule["id"] == "ADM_MIN_INCOME":
            rule["enabled"] = False  # a low-income reject now reaches the vendors it never paid for
    path = tmp_path / "policy-v3.yaml"
    path.write_text(yaml.safe_dump(data))
    runtime.publish_policy(path)
    approve = next(c for c, label in scenario.items() if label == "approve")
    status, body = replay_http(approve, {"policy": f"{data['id']}@3"})
    assert status == 200 and not body["pinned"]
    assert body["original"]["decision"] == "APPROVE" and body["replay"]["decision"] == "REVIEW"
    assert any(c.startswith("decision:") for c in body["changes"])
    low_income = [c for c in scenario if cases.get_case(c).reasons[:1] and
                  [r.code for r in cases.get_case(c).reasons] == ["ADM_MIN_INCOME"]]  # fmt: skip
    assert low_income, "the scenario has a low-income reject"
    status, body = replay_http(low_income[0], {"policy": f"{data['id']}@3"})
    assert status == 200, body
    assert body["original"]["halted_at"] == "admission" and body["replay"]["halted_at"] != "admission"
    # Never bought: the replay does not guess, it names what the original flow lacks.
    assert "lists" in body["not_archived"] and "vendor identity" in body["not_archived"]


def test_bad_replay_requests_are_refused(scenario):
    case_id = next(iter(scenario))
    status, body = replay_http(case_id, {"policy": "default"})
    assert status == 400 and body["details"][0]["field"] == "policy"
    status, body = replay_http(case_id, {"polcy": "default@1"})
    assert status == 400
    status, _ = replay_http("C-never-decided")
    assert status == 404
    status, _ = replay_http(case_id, sub="only-reviewer")
    assert status == 403


def test_a_backtest_over_the_case_window_counts_cases_it_cannot_evaluate(scenario, runtime, default_model):
    from lendguard.offline.backtest.cases_source import ArchivedCases
    from lendguard.offline.backtest.run import Candidate, run_backtest
    from lendguard.store import archive

    received = [archive.get_header(c).received_at for c in scenario]
    source = ArchivedCases(min(received), max(received), [Candidate(runtime.policy, default_model)])
    report = run_backtest(source, Candidate(runtime.policy, default_model))
    data = report.data
    assert data["kind"] == "case archive" and data["cases_in_window"] >= len(scenario)
    assert (
        report.rows + data["not_evaluable"] + data["failed_cases"] + data["erased_cases"]
        == data["cases_in_window"]
    )
    unknown = {c["case_id"]: c["unknown"] for c in data["not_evaluable_cases"]}
    by_label = {label: c for c, label in scenario.items()}
    # Rejected at admission: neither the lists nor any vendor were ever asked.
    admission = unknown[by_label["reject-admission"]]
    assert "lists.black.any" in admission and any(f.startswith("bureau.") for f in admission)
    # Rejected on a list: the lists are known, the vendors are not.
    listed = unknown[by_label["black-listed"]]
    assert not any(f.startswith("lists.") for f in listed) and any(f.startswith("identity.") for f in listed)
    # Approved, and the vendor fault (the bureau was asked and failed: missing, not unknown).
    assert by_label["approve"] not in unknown and by_label["vendor-fault"] not in unknown
    assert report.rows >= 2


def test_the_cli_shows_a_replay_beside_the_original(scenario, tmp_path):
    import subprocess
    import sys
    import threading

    from authn import token_of, write_users_file

    from lendguard.offline.local.server import make_server

    server = make_server(0, write_users_file(tmp_path / "users.json"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        case_id = next(c for c, label in scenario.items() if label == "review")
        env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "LENDGUARD_TOKEN": token_of("ops")}
        done = subprocess.run(
            [sys.executable, "-m", "lendguard.offline.cli.main", "cases", "replay", case_id,
             "--endpoint", endpoint],
            capture_output=True, text=True, timeout=60, env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"Replay of {case_id}" in done.stdout and "identical" in done.stdout
        assert "REVIEW" in done.stdout
        bad = subprocess.run(
            [sys.executable, "-m", "lendguard.offline.cli.main", "cases", "replay", case_id,
             "--policy", "default", "--endpoint", endpoint],
            capture_output=True, text=True, timeout=60, env=env,
        )  # fmt: skip
        assert bad.returncode == 2 and "policy" in bad.stdout + bad.stderr
    finally:
        server.shutdown()
        server.server_close()
