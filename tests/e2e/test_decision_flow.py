"""The decision state machine end to end on moto, through every Lambda handler."""

import copy
import json
from datetime import UTC, datetime

import pytest

from lendguard.cases.service import decide
from lendguard.core.errors import InvalidInput
from lendguard.core.hashing import keyed_hash
from lendguard.offline.local import lambda_hook
from lendguard.settings import settings
from lendguard.store import cases, executions
from lendguard.store.aws import client
from lendguard.store.lists import DynamoListStore
from lendguard.store.secrets import hash_secret


def states_entered(execution_arn: str) -> list[str]:
    return [
        e["stateEnteredEventDetails"]["name"]
        for e in executions.history(execution_arn)
        if "stateEnteredEventDetails" in e
    ]


def test_approve(cold_cache, examples):
    status, r = decide(json.dumps(examples["approve"]))
    assert status == 200 and r.decision == "APPROVE" and r.status == "DECIDED"
    assert r.credit_limit == 5000 and 0 < r.apr <= 0.24
    assert r.policy == {"id": "default", "version": 1} and r.model == {"id": "default-xgb", "version": 1}
    # Every vendor on the approve path is billed but the per-hit black list, which did not hit.
    assert r.vendor_cost == pytest.approx(0.2 + 0.3 + 0.4 + 0.1 + 0.6 + 0.8 + 3.0 + 0.6)
    case = cases.get_case(r.case_id)
    assert case.status == "DECIDED" and case.offer.credit_limit == 5000
    # Personal identifiers are masked in the record; raw vendor payloads sit in S3, referenced.
    assert examples["approve"]["applicant"]["id_number"] not in case.model_dump_json()
    refs = [v.payload_ref for v in case.trace.vendors if v.payload_ref]
    assert len(refs) == len(case.trace.vendors) == 9
    key = refs[0].split("/", 3)[3]
    assert json.loads(client("s3").get_object(Bucket=settings.data_bucket, Key=key)["Body"].read())
    assert states_entered(r.execution_arn) == [
        "Validate", "Admission", "AdmissionRejected?", "Lists", "ListsRejected?", "InternalData",
        "InternalDataRejected?", "ExternalData", "ExternalDataRejected?", "Features", "Scoring", "Decision",
        "Finalize", "Done",
    ]  # fmt: skip


def test_review(runtime, examples):
    _, r = decide(json.dumps(examples["review"]))
    assert r.decision == "REVIEW" and r.status == "PENDING_REVIEW"
    assert r.reasons[0].code == "PM_HIGH_DTI"
    assert cases.get_case(r.case_id).status == "PENDING_REVIEW"


def test_reject_at_admission_calls_no_vendor(runtime, examples):
    _, r = decide(json.dumps(examples["reject-admission"]))
    assert r.decision == "REJECT" and [x.code for x in r.reasons] == ["ADM_AGE"]
    assert r.vendor_cost == 0
    entered = states_entered(r.execution_arn)
    assert "ExternalData" not in entered and "Lists" not in entered
    assert entered[-2:] == ["Finalize", "Done"]
    assert cases.get_case(r.case_id).trace.vendors == []


def test_black_listed_device_is_rejected_before_any_vendor(runtime, examples):
    raw = examples["black-listed"]
    DynamoListStore().put(
        "BLACK", "DEVICE_ID", keyed_hash("DEVICE_ID", raw["device"]["device_id"], hash_secret()), "FRAUD_RING",
        "device seen in a fraud ring", "manual", "test", datetime.now(UTC), None,
    )  # fmt: skip
    _, r = decide(json.dumps(raw))
    assert r.decision == "REJECT" and r.reasons[0].code == "LST_BLACK" and r.vendor_cost == 0
    assert "ExternalData" not in states_entered(r.execution_arn)
    case = cases.get_case(r.case_id)
    assert case.trace.vendors == [] and case.trace.list_hits[0]["reason_code"] == "FRAUD_RING"


def test_a_failing_stage_records_a_failed_case(runtime, examples):
    raw = copy.deepcopy(examples["approve"])
    raw["application_id"] = "A-FAIL-1"
    lambda_hook.inject_fault(runtime.function_name("scoring"), RuntimeError("model store unreachable"))
    try:
        status, r = decide(json.dumps(raw))
    finally:
        lambda_hook.inject_fault(runtime.function_name("scoring"), None)
    assert status == 502 and r.status == "FAILED" and r.decision is None
    case = cases.get_case(r.case_id)
    assert case.error["cause"] == {"errorType": "RuntimeError", "errorMessage": "model store unreachable"}
    assert case.application_id == "A-FAIL-1"
    assert [s.stage for s in case.trace.stages][-1] == "features"  # the trace up to the failure is kept
    desc = client("stepfunctions").describe_execution(executionArn=case.execution_arn)
    assert desc["status"] == "FAILED" and desc["error"] == "DecisionFailed"


def test_invalid_input_writes_nothing(runtime, examples):
    before_cases = len(cases.scan_cases())
    before_execs = len(executions.list_executions(1000))
    with pytest.raises(InvalidInput) as exc:
        decide(json.dumps(examples["invalid"]))
    assert {d.field for d in exc.value.details} >= {"applicant.id_number", "promo_code"}
    assert len(cases.scan_cases()) == before_cases
    assert len(executions.list_executions(1000)) == before_execs
