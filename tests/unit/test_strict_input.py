"""Issue 11, "input that cannot slip through": every reproducer of the corpus gets a 4xx that
names the field and the problem, and nothing in an error echoes personal data."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest

from lendguard.core import strict_json
from lendguard.core.application import parse_application
from lendguard.core.errors import InvalidInput, json_object
from lendguard.core.identity import make_resident_id, parse_resident_id
from lendguard.decision.stages.validate import application_facts
from lendguard.offline.project import default_policy_path
from lendguard.policy.loader import load_policy

PRODUCTS = load_policy(default_policy_path()).products
RECEIVED = datetime(2026, 11, 29, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai


def body_problem(body: str | bytes) -> str:
    with pytest.raises(InvalidInput) as caught:
        json_object(body, "invalid application")
    [detail] = caught.value.details
    assert detail.field == "(body)"
    return detail.message


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('{"a": 1, "a": 2}', "duplicate key 'a'"),
        (b'\xef\xbb\xbf{"a": 1}', "byte order mark"),
        ('\ufeff{"a": 1}', "byte order mark"),
        (b'{"a": "\xff"}', "not valid UTF-8 (byte 7)"),
        ("[" * 100_000 + "]" * 100_000, "nested 100000 levels deep; the limit is 32"),
        ('{"a":' * 5000 + "1" + "}" * 5000, "nested 5000 levels deep"),
        ('{"a": ' + "9" * 5000 + "}", "an integer has 5000 digits; the limit is 18"),
        ('{"a": 1e400}', "overflows to infinity"),
        ('{"a": NaN}', "NaN is not JSON"),
        ('{"a": -Infinity}', "-Infinity is not JSON"),
        ('{"a": 0.' + "1" * 100 + "}", "the limit is 40"),
    ],
)
def test_json_the_lenient_parser_would_take_or_crash_on_is_refused_by_name(body, problem):
    assert problem in body_problem(body)


def test_brackets_inside_strings_do_not_count_as_nesting():
    text = json.dumps({"note": "[" * 1000 + '\\"{' * 100})
    assert json_object(text, "x") == {"note": "[" * 1000 + '\\"{' * 100}
    assert strict_json.nesting_depth('{"a": [[1]], "b": "]]]]"}') == 3


def test_limits_are_inclusive():
    deep = "[" * strict_json.MAX_DEPTH + "]" * strict_json.MAX_DEPTH
    assert strict_json.loads(deep) is not None
    assert strict_json.loads("-" + "9" * strict_json.MAX_INTEGER_DIGITS) == -int("9" * 18)


def errors_of(raw: dict, received_at: datetime | None = None) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        parse_application(json.dumps(raw), PRODUCTS, received_at=received_at)
    return {d.field: d.message for d in caught.value.details}


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("requested_amount",), "5000", "requested_amount"),
        (("requested_amount",), "5e3", "requested_amount"),
        (("requested_amount",), True, "requested_amount"),
        (("term_months",), 6.0, "term_months"),
        (("term_months",), "6", "term_months"),
        (("applicant", "monthly_income"), True, "applicant.monthly_income"),
        (("applicant", "monthly_income"), "12000", "applicant.monthly_income"),
        (("consents", "bureau"), "yes", "consents.bureau"),
        (("consents", "telco"), 1, "consents.telco"),
        (("submitted_at",), 1764383400, "submitted_at"),
    ],
)
def test_json_types_are_not_coerced(examples, path, value, field):
    raw = copy.deepcopy(examples["approve"])
    node = raw
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert field in errors_of(raw)


def test_an_integer_amount_is_a_number(examples):
    raw = {**copy.deepcopy(examples["approve"]), "requested_amount": 5000}
    assert parse_application(raw, PRODUCTS).requested_amount == 5000.0


def test_digits_of_other_scripts_are_a_400_naming_the_field_and_full_width_digits_are_accepted(examples):
    raw = copy.deepcopy(examples["approve"])
    raw["applicant"]["phone"] = "13٨٠٠١٣٨٠٠٠"  # Arabic-Indic digits
    errors = errors_of(raw)
    assert "digits of other scripts" in errors["applicant.phone"]
    number = raw["applicant"]["id_number"]
    raw["applicant"]["id_number"] = number[:5] + "٣" + number[6:]
    raw["applicant"]["phone"] = "１３８００１３８０００"  # full-width, as CJK input methods type them
    errors = errors_of(raw)
    assert (
        set(errors) == {"applicant.id_number"} and "digits of other scripts" in errors["applicant.id_number"]
    )
    raw["applicant"]["id_number"] = "".join(chr(ord(c) + 0xFEE0) for c in number)  # full-width
    app = parse_application(raw, PRODUCTS)
    assert (app.applicant.phone, app.applicant.id_number) == ("13800138000", number)


@pytest.mark.parametrize(
    "bad",
    ["Zhang\x00San", "Zhang\x1b[31mSan", "Zhang\u202eSan", "Zhang\u200bSan", "Zhang\u2066San", "\ufeffZhang"],
)
def test_names_refuse_control_bidi_and_zero_width_characters(examples, bad):
    raw = copy.deepcopy(examples["approve"])
    raw["applicant"]["name"] = bad
    raw["applicant"]["city"] = bad
    errors = errors_of(raw)
    assert "must not contain" in errors["applicant.name"] and "must not contain" in errors["applicant.city"]
    assert "Zhang" not in errors["applicant.name"]


def test_id_number_errors_never_quote_the_number():
    number = make_resident_id("110101", datetime(1990, 1, 1).date(), 123)
    for bad in (
        "99" + number[2:],  # region
        number[:10] + "13" + number[12:],  # month 13
        number[:6] + "2999" + number[10:],  # future birth date
        number[:17] + ("0" if number[17] != "0" else "1"),  # check digit
    ):
        with pytest.raises(ValueError) as caught:
            parse_resident_id(bad)
        message = str(caught.value)
        assert not any(bad[i : i + 4] in message for i in range(len(bad) - 3)), message


def test_submitted_at_outside_the_window_around_received_at_is_refused(examples):
    raw = {**copy.deepcopy(examples["approve"]), "submitted_at": "2040-06-02T10:00:00+08:00"}
    assert "5 minutes after" in errors_of(raw, RECEIVED)["submitted_at"]
    raw["submitted_at"] = (RECEIVED - timedelta(hours=25)).isoformat()
    assert "24 hours before" in errors_of(raw, RECEIVED)["submitted_at"]
    raw["submitted_at"] = (RECEIVED - timedelta(hours=23)).isoformat()
    kept = parse_application(raw, PRODUCTS, received_at=RECEIVED)
    assert kept.submitted_at == RECEIVED - timedelta(hours=23)


def test_age_and_local_hour_come_from_received_at_in_shanghai_never_from_the_claim(examples):
    # The reproducer: born 2012, claiming to apply in 2040 (28 years old then).
    raw = copy.deepcopy(examples["approve"])
    raw["applicant"]["id_number"] = make_resident_id("110101", datetime(2012, 6, 1).date(), 7)
    raw["submitted_at"] = "2040-06-02T10:00:00+08:00"
    app = parse_application(raw, PRODUCTS)  # without received_at: no window (offline tools)
    facts = application_facts(app, RECEIVED)
    assert facts["applicant.age"] == 14
    assert facts["application.local_hour"] == 10  # 02:30 UTC is 10:30 in Shanghai
    late = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)  # 02:00 on 29 November in Shanghai
    assert application_facts(app, late)["application.local_hour"] == 2
