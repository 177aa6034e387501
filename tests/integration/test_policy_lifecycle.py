"""The policy lifecycle through the API's resolver on the local stack (moto): push, submit,
approve, activate, decide under the routing, roll back; and every refusal changes nothing."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from authn import call_json as call
from authn import token_of, write_users_file
from policy_docs import variant
from typer.testing import CliRunner

from lendguard.offline.project import default_policy_path
from lendguard.policy.loader import load_policy

DEFAULT = default_policy_path()
SUITE = DEFAULT.with_name("default.tests.yaml")
# The default policy's enabled rules: the suite covers every one.
RULES = sum(rule.enabled for rule in load_policy(DEFAULT).all_rules())


def evidence(version: int, baseline: int, approval_delta: float = 0.01) -> dict[str, Any]:
    """A backtest report in the minimal evidence schema."""
    side = {"approval_rate": 0.60, "bad_rate": 0.05, "vendor_spend_per_1000": 3500.0}
    return {
        "policy": {"id": "default", "version": version}, "baseline": {"id": "default", "version": baseline},
        "data": "synthetic seed 7", "rows": 10000, "champion": side,
        "candidate": {**side, "approval_rate": 0.60 + approval_delta}, "extra": {"ignored": True},
    }  # fmt: skip


def release(version: int, text: str, baseline: int) -> None:
    """Push (alice), submit with evidence, approve (bob)."""
    status, body = call("POST", "/v1/policies", {"policy": text, "tests": SUITE.read_text()}, "alice")
    assert status == 201, body
    status, body = call("POST", f"/v1/policies/default/versions/{version}/submit", {"evidence": evidence(version, baseline)}, "alice")  # fmt: skip
    assert status == 200, body
    status, body = call("POST", f"/v1/policies/default/versions/{version}/approve", {"note": "ok"}, "bob")
    assert status == 200 and body["status"] == "APPROVED", body


@pytest.fixture(scope="module")
def released(runtime, examples) -> Any:
    # Before any routing exists the deployment's configured version decides.
    runtime.unrouted = decide(examples, "LC-0")["policy"]
    release(1, DEFAULT.read_text(), 1)  # the deployed version, taken into the store
    release(2, variant(2, min_income=2500), 1)
    return runtime


def routing() -> Any:
    return call("GET", "/v1/policies/default/routing")[1]


def champion() -> int:
    current = routing()["routing"]
    return current["champion"] if current else 1


def revision() -> int:
    current = routing()["routing"]
    return current["revision"] if current else 0


def decide(examples: dict[str, Any], application_id: str) -> dict[str, Any]:
    status, body = call("POST", "/v1/decisions", {**examples["approve"], "application_id": application_id})
    assert status == 200, body
    return body


def test_versions_are_recorded_with_hash_author_approver_and_evidence(released):
    status, body = call("GET", "/v1/policies/default/versions/2")
    assert status == 200
    v = body["version"]
    assert (v["status"], v["author"], v["approver"]) == ("APPROVED", "alice", "bob")
    assert v["tests"]["cases"] == v["tests"]["passed"] > 0 and v["tests"]["uncovered"] == []
    assert v["evidence"]["baseline"] == {"id": "default", "version": 1} and len(v["evidence"]["digest"]) == 64
    assert "min_income: 2500" in body["body"]
    import hashlib

    assert hashlib.sha256(body["body"].encode()).hexdigest() == v["content_hash"]
    assert [n["action"] for n in v["notes"]] == ["push", "submit", "approve"]


def test_activate_decide_and_rollback(released, examples):
    assert released.unrouted == {"id": "default", "version": 1}  # no routing: the deployment's version
    start = revision()
    status, r1 = call(
        "PUT", "/v1/policies/default/routing", {"champion": 2, "reason": "raise min income"}, "carol"
    )
    assert status == 200 and r1["revision"] == start + 1
    pinned = decide(examples, "LC-1")["policy"]
    assert pinned == {"id": "default", "version": 2, "routing_revision": start + 1, "arm": "champion"}
    status, r2 = call("PUT", "/v1/policies/default/routing", {
        "champion": 1, "experiment": "income-test", "reason": "A/B",
        "arms": [{"name": "control", "version": 1, "percent": 50}, {"name": "treatment", "version": 2, "percent": 50}],
        "conditions": [{"name": "web", "when": "application.channel == \"web\"", "version": 2}],
    }, "carol")  # fmt: skip
    assert status == 200 and r2["revision"] == start + 2
    web = call("POST", "/v1/decisions", {**examples["approve"], "application_id": "LC-2", "channel": "web"})[
        1
    ]
    assert (web["policy"]["version"], web["policy"]["arm"], web["policy"]["experiment"]) == (
        2,
        "web",
        "income-test",
    )
    app = decide(examples, "LC-3")["policy"]
    assert app["arm"] in ("control", "treatment") and app["routing_revision"] == start + 2
    assert decide(examples, "LC-4")["policy"]["arm"] == app["arm"]  # same person, same arm
    status, r3 = call("POST", "/v1/policies/default/routing/rollback", {"reason": "A/B paused"}, "carol")
    assert status == 200 and (r3["revision"], r3["restored_from"], r3["champion"]) == (
        start + 3,
        start + 1,
        2,
    )
    history = routing()["history"]
    assert [h["revision"] for h in history][-3:] == [start + 1, start + 2, start + 3]
    assert history[-1]["changed_by"] == "carol" and history[-1]["reason"] == "A/B paused"
    status, report = call("GET", "/v1/policies/default/experiments")
    arms = {(a["version"], a["arm"]) for a in report["arms"]}
    assert {(2, "champion"), (2, "web")} <= arms and report["outcomes_available"] is False


@pytest.mark.parametrize(
    ("method", "target", "body", "actor", "status", "field"),
    [
        ("POST", "/v1/policies", {"policy": "id: default\nversion: 9\n"}, "alice", 400, "policy"),
        ("POST", "/v1/policies", {"policy": "x", "colour": 1}, "alice", 400, "colour"),
        ("GET", "/v1/policies/default/versions/99", None, None, 404, None),
        ("POST", "/v1/policies/default/versions/99/approve", {"note": "x"}, "bob", 404, None),
        ("PUT", "/v1/policies/default/routing", {"champion": 99}, "carol", 400, "champion"),
        ("PUT", "/v1/policies/default/routing", {"champion": 1, "experiment": "e", "arms": [
            {"name": "a", "version": 1, "percent": 60}, {"name": "b", "version": 2, "percent": 30}]}, "carol", 400, "arms"),
        ("PUT", "/v1/policies/default/routing", {"champion": 1, "conditions": [
            {"name": "web", "when": "application.channel == \"web\"", "version": 2},
            {"name": "big", "when": "application.requested_amount > 1000", "version": 2}]}, "carol", 400, "conditions.1.when"),
        ("PUT", "/v1/policies/default/routing", {"champion": 1, "conditions": [
            {"name": "x", "when": "bureau.thin_file", "version": 2}]}, "carol", 400, "conditions.0.when"),
    ],
)  # fmt: skip
def test_bad_input_names_the_field_and_changes_nothing(released, method, target, body, actor, status, field):
    before = routing()
    versions = call("GET", "/v1/policies/default/versions")[1]
    got, answer = call(method, target, body, actor)
    assert got == status, answer
    if field is not None:
        assert field in [d["field"] for d in answer["details"]], answer
    assert routing() == before and call("GET", "/v1/policies/default/versions")[1] == versions


def test_maker_checker_evidence_and_unapproved_versions(released):
    status, body = call("POST", "/v1/policies", {"policy": variant(3, min_age=21), "tests": SUITE.read_text()}, "alice")  # fmt: skip
    assert status == 201 and body["version"]["status"] == "DRAFT"
    status, body = call("PUT", "/v1/policies/default/routing", {"champion": 3}, "carol")
    assert status == 400 and "DRAFT" in body["details"][0]["message"]
    status, body = call(
        "POST", "/v1/policies/default/versions/3/submit", {"evidence": evidence(3, 99)}, "alice"
    )
    assert status == 400 and body["details"][0]["field"] == "evidence.baseline"
    status, body = call(
        "POST", "/v1/policies/default/versions/3/submit", {"evidence": {"policy": {}}}, "alice"
    )
    assert status == 400 and "evidence.rows" in [d["field"] for d in body["details"]]
    wide = evidence(3, champion(), approval_delta=0.2)
    status, body = call("POST", "/v1/policies/default/versions/3/submit", {"evidence": wide}, "alice")
    assert status == 200 and body["version"]["status"] == "PENDING_APPROVAL"
    status, body = call("POST", "/v1/policies/default/versions/3/approve", {"note": "mine"}, "alice")
    assert status == 403 and body["details"][0]["field"] == "actor"
    status, body = call("POST", "/v1/policies/default/versions/3/approve", {"note": "ok"}, "bob")
    assert status == 400 and body["details"][0]["field"] == "evidence.approval_rate"
    status, body = call("POST", "/v1/policies/default/versions/3/approve",
                        {"note": "ok", "override_reason": "planned growth"}, "bob")  # fmt: skip
    assert status == 200 and body["approval"]["override_reason"] == "planned growth"
    assert call("POST", "/v1/policies/default/versions/3/approve", {"note": "again"}, "bob")[0] == 409


def test_offer_changing_split_needs_a_compliance_acknowledgement(released):
    doc = yaml.safe_load(DEFAULT.read_text())
    doc["version"] = 4
    doc["limits"]["table"][0][0] = 600
    release(4, yaml.safe_dump(doc, sort_keys=False), champion())
    spec = {"champion": 2, "experiment": "limits", "arms": [
        {"name": "a", "version": 2, "percent": 90}, {"name": "b", "version": 4, "percent": 10}]}  # fmt: skip
    status, body = call("PUT", "/v1/policies/default/routing", spec, "carol")
    assert status == 400 and body["details"][0]["field"] == "compliance_ack"
    ack = {"by": "dana", "reference": "COMP-2026-17"}
    status, body = call("PUT", "/v1/policies/default/routing", {**spec, "compliance_ack": ack}, "carol")
    assert status == 200 and body["compliance_ack"]["reference"] == "COMP-2026-17"


def test_shadow_challengers_are_recorded_with_the_case(released, examples):
    status, _ = call(
        "PUT", "/v1/policies/default/routing", {"champion": 1, "shadows": [2], "reason": "shadow"}, "carol"
    )
    assert status == 200
    answer = decide(examples, "LC-SH")
    assert answer["policy"]["shadows"] == [2] and answer["decision"] == "APPROVE"
    from lendguard.store.functions import wait_for_pending

    wait_for_pending()  # the shadow run is queued after the answer
    status, case = call("GET", f"/v1/cases/{answer['case_id']}")
    assert status == 200
    (shadow,) = case["shadows"]
    assert shadow["policy"] == {"id": "default", "version": 2} and shadow["decision"] == "APPROVE"
    assert shadow["not_bought"] == [] and shadow["error"] is None
    assert case["vendor_cost"] == answer["vendor_cost"]  # nothing bought for the shadow


def test_a_redecision_uses_the_routing_in_force_then_and_says_so(released, examples):
    from lendguard.offline.local import lambda_hook

    lambda_hook.inject_fault(released.function_name("scoring"), RuntimeError("model store unreachable"))
    try:
        status, failed = call("POST", "/v1/decisions", {**examples["approve"], "application_id": "LC-RD"})
    finally:
        lambda_hook.inject_fault(released.function_name("scoring"), None)
    assert status == 502 and failed["status"] == "FAILED"
    status, r = call(
        "PUT", "/v1/policies/default/routing", {"champion": 2, "reason": "before redecide"}, "carol"
    )
    assert status == 200
    status, again = call("POST", f"/v1/cases/{failed['case_id']}/redecide", {"requested_by": "ops"})
    assert status == 200, again
    assert again["policy"] == {
        "id": "default",
        "version": 2,
        "routing_revision": r["revision"],
        "arm": "champion",
    }


# -- CLI --------------------------------------------------------------------------------------------
@pytest.fixture
def endpoint(released, tmp_path_factory) -> Iterator[str]:
    from lendguard.offline.local.server import make_server

    server = make_server(0, write_users_file(tmp_path_factory.mktemp("users") / "users.json"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def lendguard(*args: str) -> Any:
    """The CLI as ``--actor``'s user (the test's shorthand for the token that user would send)."""
    from lendguard.offline.cli.main import app

    args_ = list(args)
    who = "ops"
    if "--actor" in args_:
        i = args_.index("--actor")
        who = args_[i + 1]
        del args_[i : i + 2]
    return CliRunner().invoke(app, args_, env={"LENDGUARD_TOKEN": token_of(who)}, catch_exceptions=False)


def test_cli_push_list_show_diff_and_refusals(endpoint, tmp_path: Path):
    policy = tmp_path / "p.yaml"
    policy.write_text(variant(7, max_multiple=4))
    (tmp_path / "p.tests.yaml").write_text(SUITE.read_text())
    pushed = lendguard("policy", "push", str(policy), "--actor", "erin", "--endpoint", endpoint)
    assert pushed.exit_code == 0, pushed.output
    assert "default v7" in pushed.output and "DRAFT" in pushed.output and f"{RULES}/{RULES}" in pushed.output
    listed = lendguard("policy", "list", "default", "--endpoint", endpoint)
    assert listed.exit_code == 0 and "erin" in listed.output
    diff = lendguard("policy", "diff", "default@1", "default@7", "--json", "--endpoint", endpoint)
    assert diff.exit_code == 0, diff.output
    changes = json.loads(diff.output)["changes"]
    assert changes == [{"path": "admission[ADM_AMOUNT_TO_INCOME].params.max_multiple", "kind": "changed",
                        "old": 5, "new": 4}]  # fmt: skip
    own = lendguard(
        "policy", "approve", "default@7", "--note", "x", "--actor", "erin", "--endpoint", endpoint
    )
    assert own.exit_code == 2 and "PENDING_APPROVAL" in own.output
    unknown = lendguard("policy", "show", "default@77", "--endpoint", endpoint)
    assert unknown.exit_code == 2 and "does not exist" in unknown.output
    bad = lendguard("policy", "activate", "default@1", "--arm", "a=1:70", "--arm", "b=2:20", "--experiment", "e",
                    "--actor", "carol", "--endpoint", endpoint)  # fmt: skip
    assert bad.exit_code == 2 and "arms" in bad.output and "not 100" in bad.output
    broken = tmp_path / "broken.yaml"
    broken.write_text(variant(8).replace("applicant.age < min_age", "applicant.age < "))
    refused = lendguard("policy", "push", str(broken), "--tests", str(SUITE), "--endpoint", endpoint)
    assert refused.exit_code == 2 and "ADM_AGE" in refused.output


def test_cli_release_flow_routing_and_experiments(endpoint, tmp_path: Path):
    policy = tmp_path / "p9.yaml"
    policy.write_text(variant(9, max_age=56))
    assert lendguard("policy", "push", str(policy), "--tests", str(SUITE), "--actor", "erin", "--endpoint", endpoint).exit_code == 0  # fmt: skip
    report = tmp_path / "backtest.json"
    report.write_text(json.dumps(evidence(9, champion())))
    submitted = lendguard("policy", "submit", "default@9", "--evidence", str(report), "--actor", "erin", "--endpoint", endpoint)  # fmt: skip
    assert submitted.exit_code == 0 and "PENDING_APPROVAL" in submitted.output, submitted.output
    approved = lendguard(
        "policy", "approve", "default@9", "--note", "fine", "--actor", "frank", "--endpoint", endpoint
    )
    assert approved.exit_code == 0 and "APPROVED" in approved.output
    first = lendguard("policy", "activate", "default@2", "--actor", "carol", "--endpoint", endpoint)
    assert first.exit_code == 0, first.output
    activated = lendguard("policy", "activate", "default@9", "--shadow", "2", "--reason", "go", "--actor", "carol", "--endpoint", endpoint)  # fmt: skip
    assert activated.exit_code == 0 and "champion v9" in activated.output, activated.output
    rolled = lendguard(
        "policy", "rollback", "default", "--reason", "undo", "--actor", "carol", "--endpoint", endpoint
    )
    assert rolled.exit_code == 0 and "restores" in rolled.output and "champion v2" in rolled.output
    shown = lendguard("policy", "show", "default", "--endpoint", endpoint)
    assert "(in force)" in shown.output and "undo" in shown.output
    experiments = lendguard("experiments", "show", "default", "--json", "--endpoint", endpoint)
    assert experiments.exit_code == 0 and json.loads(experiments.output)["policy_id"] == "default"
    config = lendguard("policy", "release-config", "--approval-rate-change", "0.03", "--approver", "frank",
                       "--actor", "frank", "--endpoint", endpoint)  # fmt: skip
    assert config.exit_code == 0 and json.loads(config.output)["approvers"] == ["frank"]
    denied = lendguard("policy", "release-config", "--bad-rate-increase", "0.5", "--actor", "erin", "--endpoint", endpoint)  # fmt: skip
    assert denied.exit_code == 2 and "not an approver" in denied.output
    reopened = lendguard("policy", "release-config", "--approver", "frank", "--approver", "bob", "--actor", "frank",
                         "--endpoint", endpoint)  # fmt: skip
    assert reopened.exit_code == 0  # bob approves in the other tests


def test_cli_policy_test_runs_in_process(tmp_path: Path):
    ok = lendguard("policy", "test", str(DEFAULT))
    assert ok.exit_code == 0 and f"{RULES}/{RULES}" in ok.output
    policy = tmp_path / "p.yaml"
    policy.write_text(variant(1, max_multiple=0.3))
    failing = lendguard("policy", "test", str(policy), "--tests", str(SUITE))
    assert failing.exit_code == 1 and "FAIL" in failing.output
    missing = lendguard("policy", "test", str(policy))
    assert missing.exit_code == 2 and "--tests" in missing.output
