from datetime import date

import pytest

from lendguard.core.identity import check_digit, make_resident_id, normalize_phone, parse_resident_id


def test_check_digit_of_the_standard_example():
    # GB 11643-1999's worked example: 11010519491231002 → X.
    assert check_digit("11010519491231002") == "X"
    assert parse_resident_id("11010519491231002x").number == "11010519491231002X"


def test_parts_of_an_id_number():
    rid = parse_resident_id("330106199103140112")
    assert rid.province_code == "33"
    assert rid.birth_date == date(1991, 3, 14)
    assert rid.sex == "M"  # 17th digit 1 is odd
    assert rid.age_on(date(2026, 3, 13)) == 34
    assert rid.age_on(date(2026, 3, 14)) == 35


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("12345", "must be 18 characters"),
        ("990106199103140112", "not a valid province code"),
        ("330106199102300112", "not a valid date"),
        ("330106209103140112", "not plausible"),
        ("330106199103140113", "check digit does not match"),
    ],
)
def test_invalid_id_numbers_say_why(value, message):
    with pytest.raises(ValueError, match=message):
        parse_resident_id(value, today=date(2026, 11, 22))


def test_made_ids_are_valid():
    for seq in (0, 7, 999):
        number = make_resident_id("440305", date(1988, 2, 29), seq)
        assert parse_resident_id(number).birth_date == date(1988, 2, 29)


@pytest.mark.parametrize("raw", ["13800138000", "+86 138 0013 8000", "0086-138-0013-8000", "8613800138000"])
def test_phone_normalisation(raw):
    assert normalize_phone(raw) == "13800138000"


@pytest.mark.parametrize("raw", ["12800138000", "1380013800", "+1 415 555 0100", "phone"])
def test_bad_phones(raw):
    with pytest.raises(ValueError, match="mainland mobile"):
        normalize_phone(raw)
