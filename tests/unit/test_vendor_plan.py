"""Per-vendor plans (issue 19): derived once per vendor object, equal to what each call derived."""

from __future__ import annotations

import hashlib

import pytest

from lendguard.core.vendor_responses import RESPONSE_MODELS, SUBJECT_KEYS, response_facts
from lendguard.decision.state import Subject
from lendguard.policy.schema import Vendor
from lendguard.vendors.base import SimulatedProvider
from lendguard.vendors.plan import build_plan, plan_of
from lendguard.vendors.simulated import simulate

SUBJECT = Subject(id_number="id-hash", phone="phone-hash", device_id="device-hash", liveness_session="s-hash")


def _vendor(service: str, **extra) -> Vendor:
    return Vendor.model_validate({"id": f"v_{service}", "service": service, "cost": 1.0, **extra})


@pytest.mark.parametrize("service", sorted(RESPONSE_MODELS))
def test_a_plan_gives_the_facts_model_dump_gives(service):
    vendor = _vendor(service)
    plan = plan_of(vendor)
    response = simulate(service, "some-subject-hash")
    assert plan.facts_of(response) == {f"{vendor.id}.{k}": v for k, v in response.model_dump().items()}
    assert list(plan.facts_of(response)) == list(plan.missing) == response_facts(vendor.id, service)
    assert set(plan.missing.values()) == {None}
    assert plan.subject_keys == SUBJECT_KEYS[service]


def test_a_plan_is_kept_per_vendor_object_and_a_changed_vendor_gets_its_own(default_policy):
    vendor = default_policy.vendor_by_id["bureau"]
    assert plan_of(vendor) is plan_of(vendor)
    cheaper = vendor.model_copy(update={"pricing": "per_hit"})
    assert plan_of(cheaper) is not plan_of(vendor)
    assert plan_of(vendor).per_query and not plan_of(cheaper).per_query


def test_consent_and_identifiers_a_call_needs(default_policy):
    bureau = build_plan(default_policy.vendor_by_id["bureau"])
    assert (bureau.consent_fact, bureau.no_consent) == ("consents.bureau", "no bureau consent")
    assert build_plan(default_policy.vendor_by_id["identity"]).consent_fact is None
    card = build_plan(default_policy.vendor_by_id["bank_card"])
    assert card.absent(SUBJECT) == ["bank_card"]
    assert card.absent(SUBJECT.model_copy(update={"bank_card": "card-hash"})) == []
    assert build_plan(default_policy.vendor_by_id["face"]).biometric


@pytest.mark.parametrize("service", sorted(RESPONSE_MODELS))
def test_a_simulated_answer_is_its_raw_payload_parsed(service):
    response, raw = SimulatedProvider(_vendor(service)).fetch(SUBJECT, {})
    assert RESPONSE_MODELS[service].model_validate_json(raw) == response


def test_simulated_draws_read_the_sha256_stream_word_by_word_across_digests():
    from lendguard.vendors.simulated import _Draws

    digest = hashlib.sha256(b"salt:subject").digest()
    stream = digest + hashlib.sha256(digest).digest()
    expected = [int.from_bytes(stream[i : i + 4], "big") / 2**32 for i in range(0, 64, 4)]
    draws = _Draws("subject", "salt")
    assert [draws.next() for _ in range(16)] == expected
