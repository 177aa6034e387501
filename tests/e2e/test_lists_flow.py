"""Lists in the whole decision flow: the state machine on moto with lists managed through the API."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest

from lendguard.cases.service import decide
from lendguard.lists.entries import epoch
from lendguard.lists.service import ListService
from lendguard.store import cases
from lendguard.store.lists import DynamoListStore
from lendguard.store.secrets import hash_secret

SKIPPABLE = {"AF_SCORE_HIGH", "AF_SCORE_MEDIUM"}  # rules marked skip_if_white in policies/default.yaml


def lists(clock=None) -> ListService:
    return ListService(DynamoListStore(), hash_secret(), clock or (lambda: datetime.now(UTC)))


def run(raw: dict, application_id: str):
    app = copy.deepcopy(raw)
    app["application_id"] = application_id
    _, response = decide(json.dumps(app))
    return response, cases.get_case(response.case_id)


@pytest.fixture(scope="module")
def approved(runtime, examples) -> dict:
    """An application the flow approves when no list is involved (the precondition of each test)."""
    raw = examples["approve"]
    response, _ = run(raw, "A-LISTS-BASE")
    assert response.decision == "APPROVE", response
    return raw


def test_the_seeded_black_listed_device_is_rejected_with_no_vendor_called(runtime, examples):
    # examples/lists/demo-lists.csv (loaded by LocalRuntime) lists device dev-blacklisted-0001.
    response, case = run(examples["black-listed"], "A-LISTS-BLACK")
    assert response.decision == "REJECT" and [r.code for r in response.reasons] == ["LST_BLACK"]
    assert response.vendor_cost == 0 and case.trace.vendors == []
    assert [s.stage for s in response.stages][-2:] == ["lists", "finalize"]
    (hit,) = case.trace.list_hits
    assert (hit["kind"], hit["key_type"], hit["reason_code"]) == ("BLACK", "DEVICE_ID", "FRAUD_RING")
    assert examples["black-listed"]["device"]["device_id"] not in case.trace.model_dump_json()


def test_black_listed_device_added_through_the_api_rejects_before_vendors(approved):
    raw = copy.deepcopy(approved)
    raw["device"]["device_id"] = "dev-E2E-Ring-0007"
    lists().put("black", "device_id", "DEV-e2e-ring-0007", {"reason_code": "FRAUD_RING", "added_by": "e2e"})
    response, case = run(raw, "A-LISTS-BLACK-2")
    assert response.decision == "REJECT" and response.vendor_cost == 0 and case.trace.vendors == []


def test_a_stolen_payout_card_rejects_before_vendors_and_is_stored_masked(approved):
    raw = copy.deepcopy(approved)
    raw["applicant"]["bank_card"] = "6228 4800 0000 0007"
    lists().put("black", "bank_card", "6228480000000007", {"reason_code": "STOLEN_CARD", "added_by": "e2e"})
    response, case = run(raw, "A-LISTS-CARD")
    assert response.decision == "REJECT" and response.vendor_cost == 0 and case.trace.vendors == []
    (hit,) = case.trace.list_hits
    assert (hit["kind"], hit["key_type"], hit["reason_code"]) == ("BLACK", "BANK_CARD", "STOLEN_CARD")
    assert case.applicant["bank_card"] == "************0007"
    assert "6228480000000007" not in case.model_dump_json()


def test_an_expired_black_entry_no_longer_rejects(approved):
    raw = copy.deepcopy(approved)
    raw["device"]["device_id"] = "dev-expired-0001"
    now = datetime.now(UTC)
    # Written two hours ago to expire one hour ago; DynamoDB TTL would delete it only later.
    lists(lambda: now - timedelta(hours=2)).put(
        "black", "device_id", "dev-expired-0001",
        {"reason_code": "FRAUD_RING", "expires_at": epoch(now - timedelta(hours=1)), "added_by": "e2e"},
    )  # fmt: skip
    response, case = run(raw, "A-LISTS-EXPIRED")
    assert response.decision == "APPROVE" and case.trace.list_hits == []


def test_grey_listed_phone_sends_to_review(approved):
    phone = approved["applicant"]["phone"]
    service = lists()
    service.put("grey", "phone", f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}",
                {"reason_code": "DISPUTE", "ttl_days": 90, "added_by": "e2e"})  # fmt: skip
    try:
        response, case = run(approved, "A-LISTS-GREY")
    finally:
        service.remove("grey", "phone", phone, {"removed_by": "e2e"})
    assert response.decision == "REVIEW"
    rule = next(r for r in case.trace.rules if r.rule_id == "LST_GREY")
    assert rule.outcome == "hit" and rule.effect == "review"
    assert [(h["kind"], h["key_type"]) for h in case.trace.list_hits] == [("GREY", "PHONE")]
    # Grey does not stop the flow: the vendors are still consulted (answers may come from the cache).
    assert "external_data" in [s.stage for s in response.stages] and case.trace.vendors


def test_white_listed_applicant_skips_what_the_policy_allows(approved):
    id_number = approved["applicant"]["id_number"]
    service = lists()
    service.put("white", "id_number", id_number.lower(), {"reason_code": "STAFF", "added_by": "e2e"})
    try:
        response, case = run(approved, "A-LISTS-WHITE")
    finally:
        service.remove("white", "id_number", id_number, {"removed_by": "e2e"})
    outcomes = {r.rule_id: r.outcome for r in case.trace.rules}
    assert {rule for rule, outcome in outcomes.items() if outcome == "skipped_white"} == SKIPPABLE
    assert outcomes["LST_BLACK"] == "no_hit" and outcomes["IDV_MISMATCH"] != "skipped_white"
    assert response.decision == "APPROVE"
