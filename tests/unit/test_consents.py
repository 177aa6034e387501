"""Consents with purpose: records per purpose, a catalogue of texts, vendors skipped without one."""

import copy
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from lendguard.core.application import parse_application
from lendguard.core.consents import CONSENT_TEXTS, Consents, ConsentText, Purpose, _check_catalogue
from lendguard.core.errors import InvalidInput
from lendguard.core.facts import APPLICATION_FACTS
from lendguard.decision.stages import validate
from lendguard.policy.schema import Vendor

FACE = {
    "text_id": "face-auth",
    "text_version": "2026.1",
    "given_at": "2026-11-22T09:58:00+08:00",
    "channel": "app",
}


def errors_of(raw):
    with pytest.raises(InvalidInput) as caught:
        parse_application(raw)
    return {d.field: d.message for d in caught.value.details}


def test_an_unknown_consent_version_is_a_field_error(examples):
    raw = copy.deepcopy(examples["approve"])
    raw["consents"]["bureau"]["text_version"] = "1999.9"
    errors = errors_of(raw)
    assert "unknown" in errors["consents.bureau"] and "2026.1" in errors["consents.bureau"]


def test_a_text_of_another_purpose_is_refused(examples):
    raw = copy.deepcopy(examples["approve"])
    raw["consents"]["face"] = {**FACE, "text_id": "data-auth"}  # a bundled text cannot cover biometrics
    assert "not a consent text for face" in errors_of(raw)["consents.face"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("given_at", "2026-11-22T09:58:00", "UTC offset"),
        ("channel", "fax", "Input should be"),
        ("text_id", "", "at least 1"),
    ],
)
def test_a_consent_record_names_its_bad_field(examples, field, value, message):
    raw = copy.deepcopy(examples["approve"])
    raw["consents"]["bureau"][field] = value
    assert message.lower() in errors_of(raw)[f"consents.bureau.{field}"].lower()


def test_a_purpose_left_out_is_not_consented_and_every_purpose_is_a_fact(examples):
    app = parse_application(examples["review-no-face-consent"])
    facts = validate.application_facts(app, datetime.now(UTC))
    assert {f"consents.{p.value}" for p in Purpose} <= set(APPLICATION_FACTS)
    assert facts["consents.bureau"] is True and facts["consents.face"] is False
    assert app.consents.references() == {
        "bureau": "credit-auth@2026.1", "telco": "data-auth@2026.1", "bank_card": "data-auth@2026.1"
    }  # fmt: skip
    with_face = parse_application(examples["approve"])
    assert validate.application_facts(with_face, datetime.now(UTC))["consents.face"] is True
    assert with_face.consents.references()["face"] == "face-auth@2026.1"


def test_the_catalogue_refuses_a_biometric_purpose_bundled_with_another():
    bundled = ConsentText(text_id="all-in-one", version="1", purposes=frozenset({Purpose.FACE, Purpose.BUREAU}),
                          published=CONSENT_TEXTS[0].published)  # fmt: skip
    with pytest.raises(RuntimeError, match="own consent"):
        _check_catalogue((*CONSENT_TEXTS, bundled))
    assert Consents().references() == {}


def test_a_vendor_cannot_declare_a_purpose_other_than_its_service_needs():
    with pytest.raises(ValidationError, match="needs consent bureau"):
        Vendor(id="bureau", service="bureau_report", cost=1, needs_consent="marketing")
    assert Vendor(id="bureau", service="bureau_report", cost=1).consent_purpose is Purpose.BUREAU
    assert Vendor(id="fs", service="fraud_score", cost=1).consent_purpose is None
