"""List kinds, key types, and the one normalisation every write and every lookup goes through.

A list entry and an application must hash to the same value whatever way the identifier was
written (``+86 138-0013-8000`` and ``13800138000``), so both the management service and the
decision flow's ``subject_of`` call :func:`normalize` and :func:`hash_value` from here.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from enum import StrEnum

from lendguard.core.facts import KeyType, ListKind
from lendguard.core.hashing import keyed_hash
from lendguard.core.identity import normalize_phone, parse_resident_id


class Source(StrEnum):
    """Where an entry came from."""

    MANUAL = "manual"
    IMPORT = "import"
    RULE = "rule"
    VENDOR = "vendor"


_DEVICE_RE = re.compile(r"^[a-z0-9._:\-]{4,128}$")
_CARD_SEPARATORS = re.compile(r"[\s\-]")


def parse_kind(value: str) -> ListKind:
    """``black`` / ``BLACK`` → :class:`ListKind`; ``ValueError`` naming the unknown kind otherwise."""
    try:
        return ListKind(value.strip().upper())
    except ValueError:
        raise ValueError(
            f"unknown list kind '{value[:40]}'; expected one of {', '.join(k.value for k in ListKind)}"
        ) from None


def parse_key_type(value: str) -> KeyType:
    """``phone`` / ``PHONE`` / ``id-number`` → :class:`KeyType`; ``ValueError`` naming it otherwise."""
    try:
        return KeyType(value.strip().upper().replace("-", "_"))
    except ValueError:
        raise ValueError(
            f"unknown key type '{value[:40]}'; expected one of {', '.join(k.value for k in KeyType)}"
        ) from None


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check every payment card number carries in its last digit."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def normalize_device_id(value: str) -> str:
    """Surrounding spaces dropped and lower-cased: device ids (Android ids, IDFV/IDFA UUIDs) are hex."""
    device = value.strip().lower()
    if not _DEVICE_RE.match(device):
        raise ValueError("must be 4-128 characters of letters, digits and . _ : -")
    return device


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


def normalize_ip(value: str) -> str:
    """The canonical ``ipaddress`` form; an IPv4-mapped IPv6 address becomes its IPv4 address."""
    text = value.strip()
    if "%" in text:
        # A zone index names an interface on the client's machine, not an address we could match.
        raise ValueError("must not carry a zone index (%...)")
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise ValueError("must be an IPv4 or IPv6 address") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def normalize_id_number(value: str) -> str:
    """18 characters, spaces dropped, upper-case X; region, birth date and check digit verified.

    An ID number an application could never carry (bad check digit) could never hit, so it is
    refused when listed rather than stored as a dead entry.
    """
    try:
        return parse_resident_id(value).number
    except ValueError as exc:
        # identity's messages quote parts of the number (region, birth date); list errors must not.
        message = str(exc)
        for prefix, generic in _ID_ERRORS:
            if message.startswith(prefix):
                raise ValueError(generic) from None
        raise ValueError("is not a valid resident ID number") from None


_ID_ERRORS = (
    ("must be 18", "must be 18 characters: 17 digits and a check digit (0-9 or X)"),
    ("region code", "region code is not a valid province code"),
    ("birth date", "birth date is not a valid or plausible date"),
    ("check digit", "check digit does not match (GB 11643 MOD 11-2)"),
)


def normalize_phone_number(value: str) -> str:
    """11-digit mainland mobile: spaces, dashes, brackets and a +86 / 0086 / 86 prefix dropped."""
    return normalize_phone(value)


_NORMALIZERS = {
    KeyType.ID_NUMBER: normalize_id_number,
    KeyType.PHONE: normalize_phone_number,
    KeyType.DEVICE_ID: normalize_device_id,
    KeyType.BANK_CARD: normalize_bank_card,
    KeyType.IP: normalize_ip,
}


def normalize(key_type: KeyType, value: str) -> str:
    """The canonical form of ``value``; ``ValueError`` says what is wrong without repeating the value."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must not be empty")
    if len(value) > 256:
        raise ValueError("is longer than 256 characters")
    # NFKC folds full-width digits and signs (１３８, ＋８６) that phone keyboards produce into ASCII.
    folded = unicodedata.normalize("NFKC", value)
    if not folded.isascii():
        raise ValueError("must contain only ASCII letters, digits and separators")
    return _NORMALIZERS[key_type](folded)


def hash_value(key_type: KeyType, value: str, secret: str) -> str:
    """Keyed hash of the normalised value: the only form a list value is ever stored in."""
    return keyed_hash(key_type.value, normalize(key_type, value), secret)


def entry_key(kind: ListKind, key_type: KeyType, value_hash: str) -> str:
    """The lists table's partition key of an entry: ``KIND#KEY_TYPE#hash``."""
    return f"{kind.value}#{key_type.value}#{value_hash}"
