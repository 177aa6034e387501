"""Personal data on its own local stack: history masking, audited reveal, erasure, and one
scenario (approve, review, reject, failed, erased) scanned for the identifiers it submitted."""

from __future__ import annotations

import copy
import json
import os
from datetime import date
from typing import Any

import pytest
from authn import resolve_as
from typer.testing import CliRunner

from lendguard import deployment
from lendguard.core.identity import make_resident_id
from lendguard.offline.local import lambda_hook
from lendguard.store import archive, cases, executions
from lendguard.store import privacy as privacy_store
from lendguard.store.aws import client


def http(method: str, path: str, body: Any = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    status, _, text = resolve_as(method, path, {"Content-Type": "application/json"}, data)
    return status, json.loads(text)


def person(examples, app_id: str, n: int, base: str = "approve") -> dict:
    """An application of a person of our own (their identifiers appear in no other test)."""
    raw = copy.deepcopy(examples[base])
    raw["application_id"] = app_id
    old = raw["applicant"]["id_number"]  # same region and birth date: the same admission outcome
    raw["applicant"]["id_number"] = make_resident_id(
        old[:6], date(int(old[6:10]), int(old[10:12]), int(old[12:14])), 100 + n
    )
    raw["applicant"]["phone"] = f"1391234{n:04d}"
    raw["applicant"]["name"] = f"Zhao Test{chr(65 + n % 26)}"
    raw["device"]["device_id"] = f"pd-device-{n:04d}"
    if "kyc" in raw:  # the card the app read is this person's
        raw["kyc"]["id_card"].update(name=raw["applicant"]["name"], id_number=raw["applicant"]["id_number"])
        raw["kyc"]["liveness"]["session_token"] = f"pd-session-{n:04d}"
    return raw


def identifiers(app: dict) -> list[str]:
    applicant = app["applicant"]
    card = "".join((applicant.get("bank_card") or "").split())
    return [v for v in (applicant["id_number"], applicant["phone"], applicant["name"], card,
                        app["device"]["device_id"]) if v]  # fmt: skip


def decide(app: dict) -> tuple[int, dict]:
    return http("POST", "/v1/decisions", app)


# ---- history, reveal ---------------------------------------------------------------------------


def test_the_history_route_masks_the_application(runtime, examples):
    app = person(examples, "PD-HIST-1", 14)
    status, body = decide(app)
    assert status == 200
    status, history = http("GET", f"/v1/cases/{body['case_id']}/history")
    assert status == 200 and history["events"]
    text = json.dumps(history)
    assert not [v for v in identifiers(app) if v in text]
    assert "139****0014" in text  # masked as case records are


def test_a_reveal_needs_a_reason_and_is_audited(runtime, examples):
    app = person(examples, "PD-REVEAL-1", 15)
    _, body = decide(app)
    case_id = body["case_id"]
    status, err = http("POST", f"/v1/cases/{case_id}/reveal", {"field": "phone", "requested_by": "rev1"})
    assert status == 400 and [d["field"] for d in err["details"]] == ["reason"]
    status, case = http("GET", f"/v1/cases/{case_id}")
    assert status == 200 and app["applicant"]["phone"] not in json.dumps(case)  # opening shows no clear data
    assert not [a for a in privacy_store.list_audit("reveal") if a["case_id"] == case_id]
    status, shown = http(
        "POST",
        f"/v1/cases/{case_id}/reveal",
        {"field": "phone", "requested_by": "rev1", "reason": "call back"},
    )
    assert status == 200 and shown["value"] == app["applicant"]["phone"]
    (audit,) = [a for a in privacy_store.list_audit("reveal") if a["case_id"] == case_id]
    assert (audit["field"], audit["requested_by"], audit["reason"]) == ("phone", "rev1", "call back")
    assert app["applicant"]["phone"] not in json.dumps(audit)


# ---- erasure -----------------------------------------------------------------------------------


def test_an_erasure_of_a_person_with_no_data_is_reported(runtime):
    status, report = http("POST", "/v1/privacy/erasures", {
        "id_number": make_resident_id("330106", date(1980, 1, 1), 999), "requested_by": "dpo", "reason": "ticket 1"})  # fmt: skip
    assert status == 200 and report["found"] is False and report["cases"] == []


def test_a_bad_erasure_request_names_the_field_and_never_echoes_the_number(runtime):
    bad = "330106199913450112"  # month 13
    status, err = http(
        "POST", "/v1/privacy/erasures", {"id_number": bad, "requested_by": "dpo", "reason": "x"}
    )
    assert status == 400 and {d["field"] for d in err["details"]} == {"id_number", "reason"}
    assert "19991345" not in json.dumps(err) and bad not in json.dumps(err)


def test_the_cli_erases_through_the_api_and_exits_0_for_a_person_without_data(runtime, monkeypatch):
    from lendguard.offline.cli import privacy as cli
    from lendguard.offline.cli.main import app

    monkeypatch.setattr(cli, "request", lambda endpoint, method, path, body: http(method, path, body))
    number = make_resident_id("330106", date(1980, 1, 1), 998)
    result = CliRunner().invoke(app, ["privacy", "erase", "--id-number", number, "--reason", "ticket 2"])
    assert result.exit_code == 0 and "no data held" in result.output and number not in result.output


# ---- the scenario --------------------------------------------------------------------------------


def _scan_tables() -> dict[str, str]:
    ddb, out = client("dynamodb"), {}
    for table in deployment.TABLES:
        table_name = os.environ[table.env_var]
        for page in ddb.get_paginator("scan").paginate(TableName=table_name):
            for i, item in enumerate(page["Items"]):
                out[f"{table_name}#{i}:{json.dumps(item)[:60]}"] = json.dumps(item, ensure_ascii=False)
    return out


def _scan_buckets() -> dict[str, str]:
    s3, out = client("s3"), {}
    for bucket in s3.list_buckets()["Buckets"]:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"]):
            for obj in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket["Name"], Key=obj["Key"])["Body"].read()
                out[f"s3://{bucket['Name']}/{obj['Key']}"] = body.decode("utf-8", errors="replace")
    return out


def _scan_standard_executions(runtime) -> dict[str, str]:
    """Histories of STANDARD executions: kept at rest (90 days) by Step Functions. Express
    decision executions keep no history when deployed (logs without execution data: see
    tests/infra), so moto's copy of their payloads is not something the product keeps."""
    sfn, out = client("stepfunctions"), {}
    for spec in deployment.STATE_MACHINES:
        if spec.kind != "STANDARD":
            continue
        arn = runtime.state_machine_arns[spec.logical_id]
        for e in sfn.list_executions(stateMachineArn=arn)["executions"]:
            events = sfn.get_execution_history(executionArn=e["executionArn"])["events"]
            out[e["executionArn"]] = json.dumps(events, default=str, ensure_ascii=False)
    return out


def _scan_logs() -> dict[str, str]:
    logs, out = client("logs"), {}
    for group in logs.describe_log_groups().get("logGroups", []):
        events = logs.filter_log_events(logGroupName=group["logGroupName"]).get("events", [])
        out[group["logGroupName"]] = json.dumps(events, ensure_ascii=False)
    return out


def test_one_scenario_leaves_no_clear_identifier_outside_the_encrypted_archive(
    runtime, examples, capfd, caplog
):
    submitted = {
        "approve": person(examples, "PD-S-APPROVE", 7),  # a person every simulated check approves
        "review": person(examples, "PD-S-REVIEW", 4, base="review"),
        "reject": person(examples, "PD-S-REJECT", 5, base="reject-admission"),
        "failed": person(examples, "PD-S-FAILED", 10),
        "erased": person(examples, "PD-S-ERASED", 12),
    }
    answers = {}
    for name, app in submitted.items():
        if name == "failed":
            lambda_hook.inject_fault(
                runtime.function_name("scoring"), RuntimeError("model store unreachable")
            )
        try:
            answers[name] = decide(app)
        finally:
            lambda_hook.inject_fault(runtime.function_name("scoring"), None)
    assert {k: (s, b.get("decision") or b["status"]) for k, (s, b) in answers.items()} == {
        "approve": (200, "APPROVE"), "review": (200, "REVIEW"), "reject": (200, "REJECT"),
        "failed": (502, "FAILED"), "erased": (200, "APPROVE"),
    }  # fmt: skip
    erased_case = answers["erased"][1]["case_id"]
    payloads = len([v for v in cases.get_case(erased_case).trace.vendors if v.payload_ref])
    status, report = http("POST", "/v1/privacy/erasures", {
        "id_number": submitted["erased"]["applicant"]["id_number"], "requested_by": "dpo", "reason": "PIPL Art. 47 request"})  # fmt: skip
    assert status == 200 and report["found"] and report["cases"] == [erased_case]
    assert report["archive_objects_removed"] == 2 and report["vendor_payloads_removed"] == payloads == 9
    assert report["cache_items_removed"] >= 4 and report["case_records_redacted"] == 1

    # The erased person: the decision and hashed keys stay, nothing that identifies them.
    kept = cases.get_case(erased_case)
    assert kept.decision == "APPROVE" and kept.subject is not None and kept.applicant == {} and kept.erased_at
    assert archive.get_header(erased_case).decision == "APPROVE"
    with pytest.raises(Exception, match="no longer archived"):
        archive.load_application(erased_case)

    captured = capfd.readouterr()
    places = {**_scan_tables(), **_scan_buckets(), **_scan_standard_executions(runtime), **_scan_logs(),
              "stdout": captured.out, "stderr": captured.err, "log records": caplog.text}  # fmt: skip
    # The scan sees every class of place, and would see a clear value (positive control: moto's
    # copy of an Express execution's payloads, which the deployed product does not keep).
    assert any("/archive/personal/" in k for k in places) and any("CasesTable" in k for k in places)
    approve = answers["approve"][1]
    express = json.dumps(executions.history(approve["execution_arn"]), default=str)
    assert submitted["approve"]["applicant"]["id_number"] in express
    hits = [
        (name, where)
        for name, app in submitted.items()
        for value in identifiers(app)
        for where, text in places.items()
        if value in text
    ]
    assert hits == []
    # The archive is where clear data lives, sealed: the other people's records are still there.
    assert (
        archive.load_application(answers["approve"][1]["case_id"])["applicant"]["name"]
        == submitted["approve"]["applicant"]["name"]
    )


# ---- what the borrower may see, and an appeal --------------------------------------------------


def test_a_rejection_tells_the_borrower_plain_reasons_and_never_the_control(runtime, examples):
    listed = copy.deepcopy(examples["black-listed"])
    listed["application_id"] = "PD-BR-1"
    status, body = decide(listed)
    assert status == 200 and body["decision"] == "REJECT"
    assert "LST_BLACK" in [r["code"] for r in body["reasons"]]  # internal, for the lender
    assert [r["code"] for r in body["borrower_reasons"]] == ["overall_assessment"]
    told = json.dumps(body["borrower_reasons"], ensure_ascii=False).lower()
    assert not any(w in told for w in ("black", "fraud", "list", "lst_", "黑名单", "欺诈"))
    young = person(examples, "PD-BR-2", 16, base="reject-admission")
    _, body = decide(young)
    assert body["borrower_reasons"] and all(r["zh"] and r["en"] for r in body["borrower_reasons"])


def test_an_appeal_opens_a_linked_review_case_that_reviewers_answer(runtime, examples):
    import time

    app = person(examples, "PD-APPEAL-1", 17, base="reject-admission")
    _, body = decide(app)
    refused = body["case_id"]
    status, err = http("POST", f"/v1/cases/{refused}/appeal", {"channel": "app"})
    assert status == 400 and [d["field"] for d in err["details"]] == ["reason"]
    status, opened = http("POST", f"/v1/cases/{refused}/appeal", {"reason": "My income has changed since"})
    assert status == 201 and opened["appeal_of"] == refused and opened["status"] == "PENDING_REVIEW"
    assert http("POST", f"/v1/cases/{refused}/appeal", {"reason": "once more please"})[0] == 409
    assert cases.get_case(refused).appealed_as == opened["case_id"]

    deadline = time.monotonic() + 20
    while not (c := cases.get_case(opened["case_id"])).review.pending:
        assert time.monotonic() < deadline, "the review workflow never opened a task"
        time.sleep(0.1)
    assert c.appeal_of == refused and c.appeal["reason"] == "My income has changed since"
    status, answered = http(
        "POST",
        f"/v1/cases/{opened['case_id']}/review",
        {"reviewer": "dave", "decision": "REJECT", "note": "upheld"},
    )
    assert status == 200, answered
    while (c := cases.get_case(opened["case_id"])).status == "PENDING_REVIEW":
        assert time.monotonic() < deadline + 20, "the appeal's review never concluded"
        time.sleep(0.1)
    assert (c.status, c.decision, c.automated_decision) == ("DECIDED", "REJECT", "REJECT")
