"""List key types: normalisation per key type, hashing, and the expiry boundary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from lendguard.core.hashing import LOCAL_SECRET, keyed_hash
from lendguard.core.identity import luhn_ok, make_resident_id
from lendguard.lists.entries import EntryRequest, epoch, is_live
from lendguard.lists.keys import (
    KeyType,
    ListKind,
    hash_value,
    normalize,
    parse_key_type,
    parse_kind,
)

ID = make_resident_id("110105", datetime(1990, 3, 7).date(), 123)
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["black", "BLACK", " Black "])
def test_kinds_are_case_insensitive(text):
    assert parse_kind(text) is ListKind.BLACK


@pytest.mark.parametrize(("text", "expected"), [("phone", KeyType.PHONE), ("id-number", KeyType.ID_NUMBER),
                                                ("Bank_Card", KeyType.BANK_CARD), ("ip", KeyType.IP)])  # fmt: skip
def test_key_types_are_case_insensitive(text, expected):
    assert parse_key_type(text) is expected


def test_unknown_kind_and_key_type_are_named():
    with pytest.raises(ValueError, match=r"unknown list kind 'PURPLE'.*BLACK, GREY, WHITE"):
        parse_kind("PURPLE")
    with pytest.raises(
        ValueError, match=r"unknown key type 'EMAIL'.*ID_NUMBER, PHONE, DEVICE_ID, BANK_CARD, IP"
    ):
        parse_key_type("EMAIL")


@pytest.mark.parametrize(
    "written",
    ["13800138000", "+86 138 0013 8000", "+8613800138000", "0086-138-0013-8000", "8613800138000",
     "(138) 0013 8000", "１３８００１３８０００", "＋８６ １３８００１３８０００"],
)  # fmt: skip
def test_phone_written_any_way_normalises_to_one_value(written):
    assert normalize(KeyType.PHONE, written) == "13800138000"
    assert hash_value(KeyType.PHONE, written, LOCAL_SECRET) == keyed_hash(
        "PHONE", "13800138000", LOCAL_SECRET
    )


@pytest.mark.parametrize("bad", ["12800138000", "1380013800", "+1 415 555 0100", "abc", "", "   "])
def test_bad_phones_are_refused(bad):
    with pytest.raises(ValueError):
        normalize(KeyType.PHONE, bad)


def test_id_number_spaces_and_lower_case_x():
    with_x = next(
        make_resident_id("110105", datetime(1990, 3, 7).date(), s)
        for s in range(1000)
        if make_resident_id("110105", datetime(1990, 3, 7).date(), s).endswith("X")
    )
    spaced = f" {with_x[:6]} {with_x[6:14]} {with_x[14:].lower()} "
    assert normalize(KeyType.ID_NUMBER, spaced) == with_x


def test_id_number_check_digit_and_errors_do_not_echo_the_number():
    wrong = ID[:17] + ("0" if ID[17] != "0" else "1")
    with pytest.raises(ValueError, match="check digit") as exc:
        normalize(KeyType.ID_NUMBER, wrong)
    assert ID[:6] not in str(exc.value)
    bad_region = "99" + ID[2:]
    with pytest.raises(ValueError) as exc:
        normalize(KeyType.ID_NUMBER, bad_region)
    assert "region" in str(exc.value) and "99" not in str(exc.value)


def test_device_ids_are_trimmed_and_lower_cased():
    assert normalize(KeyType.DEVICE_ID, "  DEV-ABCDEF-0001 ") == "dev-abcdef-0001"
    for bad in ("abc", "dev id with spaces", "x" * 129, "dev/slash"):
        with pytest.raises(ValueError):
            normalize(KeyType.DEVICE_ID, bad)


@pytest.mark.parametrize("card", ["4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111"])
def test_bank_cards_keep_digits_only(card):
    assert normalize(KeyType.BANK_CARD, card) == "4111111111111111"


def test_bank_cards_need_a_valid_luhn_digit_and_length():
    assert luhn_ok("4111111111111111") and luhn_ok("5555555555554444")
    assert luhn_ok("79927398713") and not luhn_ok("79927398710")
    with pytest.raises(ValueError, match="Luhn"):
        normalize(KeyType.BANK_CARD, "4111111111111112")
    with pytest.raises(ValueError, match="12-19 digits"):
        normalize(KeyType.BANK_CARD, "4111")
    with pytest.raises(ValueError, match="only digits"):
        normalize(KeyType.BANK_CARD, "4111 1111 abcd 1111")


@pytest.mark.parametrize(
    ("written", "canonical"),
    [(" 203.0.113.7 ", "203.0.113.7"), ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
     ("::ffff:203.0.113.7", "203.0.113.7"), ("2001:db8::0001", "2001:db8::1")],
)  # fmt: skip
def test_ips_take_the_canonical_ipaddress_form(written, canonical):
    assert normalize(KeyType.IP, written) == canonical


@pytest.mark.parametrize("bad", ["203.0.113.256", "example.com", "fe80::1%eth0", "1.2.3"])
def test_bad_ips_are_refused(bad):
    with pytest.raises(ValueError):
        normalize(KeyType.IP, bad)


def test_key_type_is_part_of_the_hash():
    assert hash_value(KeyType.DEVICE_ID, "abcd1234", "s") != keyed_hash("IP", "abcd1234", "s")
    assert hash_value(KeyType.DEVICE_ID, "abcd1234", "s") != hash_value(KeyType.DEVICE_ID, "abcd1234", "t")


def test_expiry_boundary_is_exclusive():
    exp = epoch(NOW)
    assert not is_live(exp, NOW)  # expires_at == now: gone
    assert is_live(exp, NOW - timedelta(seconds=1))  # one second before: still listed
    assert not is_live(exp, NOW + timedelta(microseconds=500_000))
    assert is_live(exp + 1, NOW + timedelta(microseconds=999_999))
    assert is_live(None, NOW + timedelta(days=365 * 50))  # permanent


def test_entry_request_expiry():
    assert EntryRequest(reason_code="FRAUD_RING", added_by="ops").expiry(NOW) is None
    assert EntryRequest(reason_code="X1", ttl_days=90, added_by="ops").expiry(NOW) == epoch(NOW) + 90 * 86_400
    iso = EntryRequest(reason_code="X1", expires_at="2027-01-01T08:00:00+08:00", added_by="ops")
    assert iso.expiry(NOW) == epoch(datetime(2027, 1, 1, tzinfo=UTC))
    for bad in (
        {"ttl_days": 3, "expires_at": 2_000_000_000},
        {"ttl_days": "90"},
        {"ttl_days": 0},
        {"expires_at": "2027-01-01T00:00:00"},
        {"reason_code": "lower case"},
        {"added_by": ""},
        {"colour": "red"},
    ):
        with pytest.raises(ValidationError):
            EntryRequest.model_validate({"reason_code": "X1", "added_by": "ops", **bad})


def test_the_keyed_hash_is_plain_hmac_sha256_whatever_secret_came_before() -> None:
    import hashlib
    import hmac

    for secret in ("first-secret", "second-secret", "first-secret"):
        expected = hmac.new(secret.encode(), b"PHONE:13800138000", hashlib.sha256).hexdigest()
        assert keyed_hash("phone", "13800138000", secret) == expected
