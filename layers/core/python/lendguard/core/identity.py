"""Mainland China resident identity numbers (GB 11643-1999) and mobile phone numbers."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# First two digits: the province-level division (GB/T 2260).
PROVINCES = {
    "11": "Beijing", "12": "Tianjin", "13": "Hebei", "14": "Shanxi", "15": "Inner Mongolia",
    "21": "Liaoning", "22": "Jilin", "23": "Heilongjiang", "31": "Shanghai", "32": "Jiangsu",
    "33": "Zhejiang", "34": "Anhui", "35": "Fujian", "36": "Jiangxi", "37": "Shandong",
    "41": "Henan", "42": "Hubei", "43": "Hunan", "44": "Guangdong", "45": "Guangxi",
    "46": "Hainan", "50": "Chongqing", "51": "Sichuan", "52": "Guizhou", "53": "Yunnan",
    "54": "Tibet", "61": "Shaanxi", "62": "Gansu", "63": "Qinghai", "64": "Ningxia",
    "65": "Xinjiang", "71": "Taiwan", "81": "Hong Kong", "82": "Macau",
}  # fmt: skip
# ASCII only: ``\d`` would also match the digits of other scripts (Arabic-Indic, Devanagari ...).
_ID_RE = re.compile(r"^[0-9]{17}[0-9X]$")
_PHONE_RE = re.compile(r"^1[3-9][0-9]{9}$")
_OTHER_DIGITS = "digits of other scripts are not accepted"
_CARD_SEPARATORS = re.compile(r"[\s\-]")


@dataclass(frozen=True)
class ResidentId:
    """What a valid 18-digit resident ID number tells: region, birth date and sex."""

    number: str
    province_code: str
    birth_date: date
    sex: str  # "M" or "F"

    def age_on(self, day: date) -> int:
        """Whole years of age on ``day``."""
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


def check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits."""
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def normalize_id_number(value: str) -> str:
    """NFKC (full-width digits become ASCII), spaces stripped and a trailing ``x`` upper-cased:
    the canonical written form."""
    return "".join(unicodedata.normalize("NFKC", value).split()).upper()


def parse_resident_id(value: str, today: date | None = None) -> ResidentId:
    """Validate an ID number and return its parts; raise ``ValueError`` saying what is wrong.

    Messages never quote the number or any part of it (region, birth date): it is personal data.
    """
    number = normalize_id_number(value)
    if not _ID_RE.match(number):
        other = any(c.isdigit() and not c.isascii() for c in number)
        raise ValueError(
            "must be 18 characters: 17 digits 0-9 and a check digit (0-9 or X)"
            + (f"; {_OTHER_DIGITS}" if other else "")
        )
    if number[:2] not in PROVINCES:
        raise ValueError("region code is not a valid province code")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValueError("birth date is not a valid date") from None
    if born > (today or date.today()) or born.year < 1900:
        raise ValueError("birth date is not plausible")
    if check_digit(number[:17]) != number[17]:
        raise ValueError("check digit does not match (GB 11643 MOD 11-2)")
    return ResidentId(number, number[:2], born, "M" if int(number[16]) % 2 else "F")


def parts_of_valid_id(number: str) -> ResidentId:
    """The parts of a number :func:`parse_resident_id` already accepted (its canonical form).

    A validated application carries its ID number in that form; reading its region, birth date
    and sex again needs no second normalisation, pattern, date or check-digit pass.
    """
    return ResidentId(
        number,
        number[:2],
        date(int(number[6:10]), int(number[10:12]), int(number[12:14])),
        "M" if int(number[16]) % 2 else "F",
    )


def make_resident_id(region: str, born: date, sequence: int) -> str:
    """Build a valid ID number (for synthetic data and tests): 6-digit region, birth date, 3-digit sequence."""
    first17 = f"{region}{born:%Y%m%d}{sequence % 1000:03d}"
    return first17 + check_digit(first17)


def normalize_phone(value: str) -> str:
    """Canonical 11-digit mainland mobile number: NFKC, then drops spaces, dashes and a +86 /
    0086 prefix; only ASCII digits are accepted."""
    digits = re.sub(r"[\s\-()]", "", unicodedata.normalize("NFKC", value))
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
            break
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if not _PHONE_RE.match(digits):
        other = any(c.isdigit() and not c.isascii() for c in digits)
        raise ValueError(
            "must be a mainland mobile number: 11 digits 0-9 starting with 13-19 (optionally +86)"
            + (f"; {_OTHER_DIGITS}" if other else "")
        )
    return digits


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check every payment card number carries in its last digit."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def normalize_bank_card(value: str) -> str:
    """Digits only (spaces and dashes dropped), 12-19 long, with a valid Luhn check digit."""
    digits = _CARD_SEPARATORS.sub("", unicodedata.normalize("NFKC", value))
    if not digits.isascii() or not digits.isdigit():
        raise ValueError("must contain only digits (spaces and dashes are ignored)")
    if not 12 <= len(digits) <= 19:
        raise ValueError(f"must be 12-19 digits, got {len(digits)}")
    if not luhn_ok(digits):
        raise ValueError("check digit does not match (Luhn)")
    return digits
