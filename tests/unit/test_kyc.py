"""The application's kyc block: validation with field errors, the own match facts, masking."""

import copy
from datetime import UTC, date, datetime

import pytest

from lendguard.cases.masking import masked_application
from lendguard.core.application import parse_application
from lendguard.core.errors import InvalidInput
from lendguard.core.facts import APPLICATION_FACTS, KYC_FACTS
from lendguard.core.hashing import LOCAL_SECRET
from lendguard.core.kyc import comparable_name, kyc_facts
from lendguard.decision.stages.validate import application_facts, subject_of

RECEIVED = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


def with_kyc(examples, **card_changes):
    raw = copy.deepcopy(examples["approve"])
    raw["kyc"]["id_card"].update(card_changes)
    return raw


def field_errors(raw) -> dict[str, str]:
    with pytest.raises(InvalidInput) as info:
        parse_application(raw, received_at=RECEIVED)
    return {d.field: d.message for d in info.value.details}


def test_a_kyc_block_parses_and_is_optional(examples):
    app = parse_application(examples["approve"], received_at=RECEIVED)
    assert app.kyc is not None and app.kyc.id_card is not None and app.kyc.liveness is not None
    assert app.kyc.id_card.valid_until == date(2036, 5, 20)
    raw = copy.deepcopy(examples["approve"])
    del raw["kyc"]
    assert parse_application(raw, received_at=RECEIVED).kyc is None


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"id_number": "330106199103140113"}, "kyc.id_card.id_number", "check digit does not match"),
        ({"name": ""}, "kyc.id_card.name", "at least 1 item"),
        ({"name": "Wang\u202eFang"}, "kyc.id_card.name", "invisible formatting character"),
        ({"valid_from": 20160520}, "kyc.id_card.valid_from", "ISO 8601 date string"),
        ({"valid_from": "2016-13-01"}, "kyc.id_card.valid_from", "valid date"),
        ({"valid_from": "1990-01-01"}, "kyc.id_card.valid_from", "before the birth date"),
        ({"valid_until": "2015-01-01"}, "kyc.id_card.valid_until", "must be after valid_from"),
        ({"valid_until": "2046-05-21"}, "kyc.id_card.valid_until", "at most 20 years"),
        ({"valid_until": "forever"}, "kyc.id_card.valid_until", "'long_term'"),
        ({"issuing_authority": "x"}, "kyc.id_card.issuing_authority", "at least 2 items"),
        ({"photo": "/9j/4AAQSkZJRg"}, "kyc.id_card.photo", "unknown field"),
    ],
)
def test_every_bad_card_field_is_named(examples, change, field, message):
    errors = field_errors(with_kyc(examples, **change))
    assert field in errors and message in errors[field], errors


def test_errors_never_quote_the_id_number(examples):
    raw = with_kyc(examples, id_number="330106199103140113")
    with pytest.raises(InvalidInput) as info:
        parse_application(raw, received_at=RECEIVED)
    assert "330106199103140113" not in str(info.value)


@pytest.mark.parametrize("claimed", ["score", "passed", "similarity"])
def test_a_result_sent_by_the_app_is_refused_with_why(examples, claimed):
    raw = copy.deepcopy(examples["approve"])
    raw["kyc"]["liveness"][claimed] = 99
    errors = field_errors(raw)
    assert "fetched from the vendor with session_token" in errors["kyc.liveness"]
    raw = copy.deepcopy(examples["approve"])
    raw["kyc"][claimed] = 99
    assert "fetched from the vendor" in field_errors(raw)["kyc"]


def test_the_invalid_kyc_example_is_refused(examples):
    errors = field_errors(examples["invalid-kyc-score"])
    assert list(errors) == ["kyc.liveness"]


@pytest.mark.parametrize(
    ("session", "field"),
    [
        ({"vendor": "Liveness", "session_token": "abcdefgh12"}, "kyc.liveness.vendor"),
        ({"vendor": "liveness", "session_token": "short"}, "kyc.liveness.session_token"),
        ({"vendor": "liveness", "session_token": "has spaces in it"}, "kyc.liveness.session_token"),
        ({"vendor": "liveness"}, "kyc.liveness.session_token"),
    ],
)
def test_a_bad_liveness_session_is_named(examples, session, field):
    raw = copy.deepcopy(examples["approve"])
    raw["kyc"]["liveness"] = session
    assert field in field_errors(raw)


def test_names_compare_across_width_case_and_separators():
    assert (
        comparable_name("阿依古丽·买买提")
        == comparable_name("阿依古丽•买买提")
        == comparable_name("阿依古丽买买提")
    )
    assert comparable_name("ＷＡＮＧ Fang") == comparable_name("wang fang")
    assert comparable_name("王芳") != comparable_name("王方")


def test_the_own_checks_become_the_catalogued_facts(examples):
    raw = examples["approve"]
    app = parse_application(raw, received_at=RECEIVED)
    facts = application_facts(app, RECEIVED)
    assert set(KYC_FACTS) <= set(APPLICATION_FACTS)
    assert {k: facts[k] for k in KYC_FACTS} == {
        "kyc.id_card_read": True, "kyc.liveness_session": True, "kyc.ocr_name_match": True,
        "kyc.ocr_id_match": True, "kyc.id_card_expired": False, "kyc.id_card_not_yet_valid": False,
        "kyc.id_card_days_left": (date(2036, 5, 20) - date(2026, 11, 22)).days,
    }  # fmt: skip
    assert facts["applicant.bank_card_given"] is True


def test_mismatches_expiry_and_a_missing_block_are_told_apart(examples):
    today = date(2026, 11, 22)
    other = parse_application(with_kyc(examples, name="Li Wei", id_number="330106199103140139"))
    facts = kyc_facts(other.kyc, other.applicant.name, other.applicant.id_number, today)
    assert facts["kyc.ocr_name_match"] is False and facts["kyc.ocr_id_match"] is False
    expired = parse_application(with_kyc(examples, valid_from="2006-05-20", valid_until="2026-05-20"))
    facts = kyc_facts(expired.kyc, expired.applicant.name, expired.applicant.id_number, today)
    assert facts["kyc.id_card_expired"] is True and facts["kyc.id_card_days_left"] < 0
    long_term = parse_application(with_kyc(examples, valid_until="long_term"))
    facts = kyc_facts(long_term.kyc, long_term.applicant.name, long_term.applicant.id_number, today)
    assert facts["kyc.id_card_expired"] is False and facts["kyc.id_card_days_left"] is None
    facts = kyc_facts(None, "Wang Fang", "330106199103140112", today)
    assert facts["kyc.id_card_read"] is False and facts["kyc.liveness_session"] is False
    assert facts["kyc.ocr_name_match"] is None and facts["kyc.id_card_expired"] is None


def test_the_session_token_is_kept_only_hashed_in_the_subject(examples):
    app = parse_application(examples["approve"])
    subject = subject_of(app, LOCAL_SECRET)
    token = examples["approve"]["kyc"]["liveness"]["session_token"]
    assert subject.liveness_session and token not in subject.model_dump_json()
    raw = copy.deepcopy(examples["approve"])
    del raw["kyc"]
    assert subject_of(parse_application(raw), LOCAL_SECRET).liveness_session is None


def test_a_masked_application_shows_no_card_number_name_or_session_token(examples):
    raw = parse_application(examples["approve"]).model_dump(mode="json")
    masked = masked_application(raw)
    text = str(masked)
    assert "330106199103140112" not in text and "Wang Fang" not in text
    assert raw["kyc"]["liveness"]["session_token"] not in text
    assert masked["kyc"]["id_card"]["id_number"] == "3301************12"
    assert masked["kyc"]["id_card"]["valid_until"] == "2036-05-20"
    assert masked["kyc"]["liveness"] == {"vendor": "liveness", "session_token": "(not shown)"}
