import copy
import json

import pytest

from lendguard.core.application import MAX_PAYLOAD_BYTES, parse_application
from lendguard.core.errors import InvalidInput
from lendguard.offline.project import default_policy_path
from lendguard.policy.loader import load_policy

PRODUCTS = load_policy(default_policy_path()).products


def errors_of(payload, products=PRODUCTS) -> dict[str, str]:
    with pytest.raises(InvalidInput) as exc:
        parse_application(payload, products)
    return {d.field: d.message for d in exc.value.details}


def test_valid_application_is_normalised(examples):
    raw = copy.deepcopy(examples["approve"])
    raw["applicant"]["phone"] = "+86 138 0013 8000"
    app = parse_application(json.dumps(raw), PRODUCTS)
    assert app.applicant.phone == "13800138000"
    assert app.applicant.bank_card == "6222021234567894"  # spaces of "6222 0212 3456 7894" dropped
    assert app.requested_amount == 5000


def test_the_payout_card_is_optional(examples):
    raw = copy.deepcopy(examples["approve"])
    del raw["applicant"]["bank_card"]
    assert parse_application(raw, PRODUCTS).applicant.bank_card is None


def test_every_bad_field_is_named(examples):
    errors = errors_of(examples["invalid"])
    assert set(errors) == {"requested_amount", "applicant.id_number", "applicant.phone", "promo_code"}
    assert errors["promo_code"] == "unknown field"
    assert "check digit" in errors["applicant.id_number"]


@pytest.mark.parametrize(
    ("path", "value", "field", "message"),
    [
        (("applicant", "monthly_income"), "lots", "applicant.monthly_income", "valid number"),
        (("applicant", "employment"), "astronaut", "applicant.employment", "Input should be"),
        (("device", "ip"), "999.1.1.1", "device.ip", "IP"),
        (("consents", "bureau"), True, "consents.bureau", "must be a consent record"),
        (("submitted_at",), "2026-11-22T10:00:00", "submitted_at", "UTC offset"),
        (("requested_amount",), 100.123, "requested_amount", "two decimal places"),
        (("application_id",), "bad id!", "application_id", "pattern"),
        (("applicant", "bank_card"), "6222021234567895", "applicant.bank_card", "check digit"),
        (("applicant", "bank_card"), "6222-abcd", "applicant.bank_card", "only digits"),
        (("applicant", "bank_card"), "1234", "applicant.bank_card", "12-19 digits"),
    ],
)
def test_type_and_range_errors(examples, path, value, field, message):
    raw = copy.deepcopy(examples["approve"])
    node = raw
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    errors = errors_of(raw)
    assert field in errors
    assert message.lower() in errors[field].lower()


def test_missing_required_fields_are_named(examples):
    raw = copy.deepcopy(examples["approve"])
    del raw["applicant"]["id_number"]
    del raw["consents"]
    errors = errors_of(raw)
    assert errors["applicant.id_number"] == "Field required"
    assert errors["consents"] == "Field required"


def test_amount_and_term_are_checked_per_product(examples):
    raw = copy.deepcopy(examples["approve"])
    raw["product"] = "single"
    raw["requested_amount"] = 8000
    raw["term_months"] = 12
    errors = errors_of(raw)
    assert "between 300 and 5000" in errors["requested_amount"]
    assert "[1, 3, 6]" in errors["term_months"]
    raw["product"] = "mortgage"
    assert "unknown product" in errors_of(raw)["product"]


def test_oversized_payload_is_refused_before_parsing(examples):
    body = json.dumps(examples["approve"]) + " " * MAX_PAYLOAD_BYTES
    errors = errors_of(body)
    assert "limit is 262144" in errors["(body)"]


@pytest.mark.parametrize("body", ["not json", "[1, 2]", b"\xff\xfe"])
def test_body_must_be_a_json_object(body):
    assert "(body)" in errors_of(body)
