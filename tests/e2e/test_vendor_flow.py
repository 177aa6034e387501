"""Vendors through the real state machine on moto: payloads in S3, cache, no double charge, faults."""

import copy
import json
import os
from datetime import UTC, datetime

import pytest
import yaml

from lendguard import deployment
from lendguard.cases.service import decide, new_case_id
from lendguard.core.application import parse_application
from lendguard.decision.state import DecisionState
from lendguard.offline import project
from lendguard.settings import settings
from lendguard.store import cases, executions
from lendguard.store.aws import client


def submit(body: dict):
    status, response = decide(json.dumps(body))
    assert status == 200, response
    return response, cases.get_case(response.case_id)


def run_flow(body: dict):
    """One execution of the decision state machine as a new case (what a re-decision starts)."""
    application = parse_application(json.dumps(body), runtime_policy().products).model_dump(mode="json")
    now = datetime.now(UTC)
    case_id = new_case_id(now)
    result = executions.run_decision(
        case_id, {"case_id": case_id, "application": application, "received_at": now.isoformat()}
    )
    assert result.status == "SUCCEEDED", result.error
    return DecisionState.model_validate(result.output), cases.get_case(case_id)


def runtime_policy():
    from lendguard.store import artifacts

    return artifacts.get_policy(
        os.environ[deployment.ENV_POLICY_ID], int(os.environ[deployment.ENV_POLICY_VERSION])
    )


def test_a_replayed_application_reuses_its_first_answers_and_pays_nothing(cold_cache, examples):
    # The API answers a repeated application_id from its idempotency record without a new case;
    # a new execution for the same application (a re-decision, a restarted workflow) reaches
    # the vendors, and must get the first answers back instead of paying again.
    body = {**examples["approve"], "application_id": "VF-REPLAY-1"}
    first, first_case = run_flow(body)
    again, again_case = run_flow(body)
    assert first.case_id != again.case_id
    assert first.vendor_cost == pytest.approx(0.2 + 0.3 + 0.4 + 0.1 + 0.6 + 0.8 + 3.0 + 0.6)
    assert again.vendor_cost == 0
    assert again.decision == first.decision and again.offer.credit_limit == first.offer.credit_limit
    calls = again_case.trace.vendors
    assert [v.vendor for v in calls] == [
        "liveness", "identity", "telco3", "phone_status", "face", "fraud_blacklist", "fraud_score", "bureau",
        "bank_card",
    ]  # fmt: skip
    assert all(v.replayed and v.cost == 0 and v.source_case_id == first.case_id for v in calls)
    # The replay points at the payloads archived by the first case; they are in S3.
    assert [v.payload_ref for v in calls] == [v.payload_ref for v in first_case.trace.vendors]
    for ref in (v.payload_ref for v in calls):
        bucket, key = ref.removeprefix("s3://").split("/", 1)
        assert bucket == settings.data_bucket and key.startswith(f"raw/{first.case_id}/")
        assert json.loads(client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


def test_another_application_of_the_same_person_is_served_from_the_cache(cold_cache, examples):
    first, _ = submit({**examples["approve"], "application_id": "VF-CACHE-1"})
    second, case = submit({**examples["approve"], "application_id": "VF-CACHE-2"})
    # Liveness and face answers belong to one capture: never cached, asked again (and paid).
    policy = runtime_policy()
    uncached = {v.id for v in policy.vendors if v.cache_ttl_days == 0}
    assert uncached == {"liveness", "face"}
    assert first.vendor_cost > 0
    assert second.vendor_cost == pytest.approx(sum(policy.vendor_by_id[v].cost for v in uncached))
    cached = [v for v in case.trace.vendors if v.vendor not in uncached]
    assert all(v.cache_hit and not v.replayed and v.attempts == 0 for v in cached)
    items = client("dynamodb").scan(TableName=runtime_table())["Items"]
    kinds = {i["kind"]["S"] for i in items}
    assert kinds == {"DATA", "CHARGE"}
    # Keys hold hashes only: no clear identifier reaches the cache table.
    assert examples["approve"]["applicant"]["id_number"] not in json.dumps(items)


def runtime_table() -> str:
    return os.environ[deployment.ENV_CACHE_TABLE]


@pytest.fixture
def fresh_breakers():
    """Breakers live per container (here: per process); leave no failures behind for other tests."""
    from lendguard.decision import wiring as service

    service.vendor_registry().reset()
    yield
    service.vendor_registry().reset()


def test_a_failing_vendor_is_reported_and_its_rules_decide(
    runtime, cold_cache, examples, tmp_path, monkeypatch, fresh_breakers
):
    # Under the published policy, the applicant's identity and anti-fraud answers get cached.
    submit({**examples["approve"], "application_id": "VF-FAULT-0"})
    data = yaml.safe_load((project.default_policy_path()).read_text())
    data = copy.deepcopy(data)
    data["version"] = 2
    bureau = next(v for v in data["vendors"] if v["id"] == "bureau")
    # No cache for the bureau: the report cached above would (rightly) be served.
    bureau.update({"retries": 1, "backoff_base_ms": 0, "backoff_max_ms": 0, "cache_ttl_days": 0,
                   "faults": {"error_rate": 1.0}})  # fmt: skip
    path = tmp_path / "policy-v2.yaml"
    path.write_text(yaml.safe_dump(data))
    runtime.publish_policy(path)
    monkeypatch.setenv(deployment.ENV_POLICY_VERSION, "2")
    response, case = submit({**examples["approve"], "application_id": "VF-FAULT-1"})
    bureau_call = next(v for v in case.trace.vendors if v.vendor == "bureau")
    assert (
        bureau_call.status == "error" and bureau_call.error_type == "http_5xx" and bureau_call.attempts == 2
    )
    # Identity and anti-fraud come from the cache (filled above); the failed bureau is free. Only
    # the liveness session and the face comparison (one capture each, never cached) are paid.
    uncached = sum(runtime_policy().vendor_by_id[v].cost for v in ("liveness", "face"))
    assert bureau_call.cost == 0 and response.vendor_cost == pytest.approx(uncached)
    unavailable = next(r for r in case.trace.rules if r.rule_id == "BUR_UNAVAILABLE")
    assert unavailable.outcome == "hit" and unavailable.effect == "review"
    tenure = next(r for r in case.trace.rules if r.rule_id == "BUR_SHORT_PHONE_TENURE")
    assert (tenure.outcome, tenure.on_missing, tenure.effect) == ("missing", "skip", "none")
    assert response.decision in ("REVIEW", "REJECT")


def test_the_funnel_report_reads_the_case_records(runtime, examples):
    from lendguard.offline.funnel import report
    from lendguard.store.cases import scan_cases

    submit({**examples["approve"], "application_id": "VF-FUNNEL-1"})
    records = [c.model_dump(mode="json") for c in scan_cases()]
    result = report(records, runtime.policy)
    policy = runtime.policy
    assert result.current_order == [g.id for g in (*policy.groups_before_model, *policy.groups_after_model)]
    assert result.optimal_order[-1] == "payout"  # called after the model, whatever its cost
    assert result.applications == len(records) and result.groups[0].reach == len(records)
    assert result.spend == pytest.approx(sum(c["vendor_cost"] for c in records))
