"""Our own data through the local state machine: a burst from one device, the case history, and
the customer feature job feeding the next decision."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

from lendguard.cases.service import decide
from lendguard.offline.synthetic import synthetic_applications
from lendguard.store import cases, executions


def _entered(execution_arn: str) -> list[str]:
    return [
        e["stateEnteredEventDetails"]["name"]
        for e in executions.history(execution_arn)
        if "stateEnteredEventDetails" in e
    ]


def _send(raw: dict):
    sent = {**raw, "submitted_at": datetime.now(UTC).isoformat()}
    status, response = decide(json.dumps(sent))
    assert status == 200, response
    return response


def test_a_burst_from_one_device_is_rejected_at_internal_data(runtime):
    apps = list(synthetic_applications(5, 23))
    responses = []
    for i, app in enumerate(apps):
        app["application_id"] = f"E2E-BURST-{i}"
        app["device"] = {**app["device"], "device_id": "e2e-ring-device"}
        responses.append(_send(app))
    shared = ["INT_DEVICE_SHARED" in {r.code for r in resp.reasons} for resp in responses]
    assert shared == [False, False, False, True, True]
    for resp in responses[3:]:
        assert resp.decision == "REJECT" and resp.vendor_cost == 0
        entered = _entered(resp.execution_arn)
        assert entered[-4:] == ["InternalData", "InternalDataRejected?", "Finalize", "Done"]
        assert "ExternalData" not in entered
        case = cases.get_case(resp.case_id)
        (rule,) = [r for r in case.trace.rules if r.rule_id == "INT_DEVICE_SHARED"]
        assert rule.outcome == "hit" and rule.observed["internal.ids_on_device_30d"] >= 4


def test_the_case_history_and_feature_job_feed_the_next_decision(runtime, examples):
    from lendguard.internal.job import run_feature_job

    first = copy.deepcopy(examples["black-listed"])
    first["application_id"] = "E2E-HIST-1"
    rejected = _send(first)
    assert rejected.decision == "REJECT"
    result = run_feature_job({})
    assert result["customers"] >= 1
    again = copy.deepcopy(examples["approve"])  # the same ID number, another device
    again["application_id"] = "E2E-HIST-2"
    answer = _send(again)
    facts = {r.rule_id: r.observed for r in cases.get_case(answer.case_id).trace.rules}
    assert facts["INT_RECENT_REJECT"]["internal.previous_rejects"] >= 1
    assert facts["INT_RECENT_REJECT"]["internal.days_since_last_reject"] == 0
    # The job's row for this customer is fresh: precomputed features are read, not missing.
    assert facts["INT_SERIOUS_PAST_ARREARS"]["customer.max_dpd_ever"] == 0
