"""The identity-check (KYC) block a loan app sends: ID-card OCR results and the liveness session.

The app reads the ID card with OCR and runs a liveness session with a vendor's SDK. It sends what
the OCR read and the session's vendor and token; never a liveness or face score, which the app
(or anyone in between) could forge: those are fetched server-side from the vendor with the token
(services ``liveness_check`` and ``face_compare``). No image ever travels in this block.

The own, free checks (does the card name the declared person, is it still valid) become the facts
:data:`lendguard.core.facts.KYC_FACTS` that admission rules read.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from lendguard.core.base_model import Model
from lendguard.core.identity import parse_resident_id
from lendguard.core.text import SafeName

# Fields a client might use to claim a result itself: refused with a message saying why, rather
# than a bare "unknown field", so an integrator learns the result is fetched server-side.
_CLAIMED_RESULTS = frozenset(
    {"score", "liveness_score", "passed", "result", "is_live", "similarity", "face_score", "confidence"}
)
# Separators written inside the names of some ethnic groups (e.g. 阿依古丽·买买提): OCR and
# typed forms differ in which dot they use, so they are ignored when names are compared.
_NAME_SEPARATORS = dict.fromkeys(map(ord, "·•・.．‧ "), None)
# A resident ID card is issued for 5, 10 or 20 years, or long-term (GB/T 16843 / the Resident
# Identity Card Law, art. 5); anything longer is not a card.
MAX_VALIDITY_YEARS = 20
LONG_TERM = "long_term"


def _iso_date(value: Any) -> Any:
    # JSON has no date type: an ISO 8601 date string, never a number pydantic would read as epoch.
    if not isinstance(value, str | date):
        raise ValueError("must be an ISO 8601 date string, e.g. 2021-03-14")
    return value


class _Strict(Model):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class IdCardOcr(_Strict):
    """What the app's OCR read from the front and back of the resident ID card."""

    name: Annotated[SafeName, Field(min_length=1, max_length=64)]
    id_number: Annotated[str, Field(min_length=1, max_length=32)]
    valid_from: date
    # The card's end of validity, or "long_term" (长期) for cards issued from age 46.
    valid_until: date | Literal["long_term"]
    issuing_authority: Annotated[SafeName, Field(min_length=2, max_length=64)]

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, value: str) -> str:
        return parse_resident_id(value).number

    @field_validator("valid_from", mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        return _iso_date(value)

    @field_validator("valid_until", mode="before")
    @classmethod
    def _until_text(cls, value: Any) -> Any:
        if value == LONG_TERM:
            return value
        if isinstance(value, str) and not value[:1].isdigit():
            raise ValueError(f"must be an ISO 8601 date string or '{LONG_TERM}'")
        return _iso_date(value)

    @field_validator("valid_from")
    @classmethod
    def _after_birth(cls, value: date, info: ValidationInfo) -> date:
        number = info.data.get("id_number")
        if number is not None and value < parse_resident_id(number).birth_date:
            raise ValueError("is before the birth date the card's ID number gives")
        return value

    @field_validator("valid_until")
    @classmethod
    def _period(cls, value: date | str, info: ValidationInfo) -> date | str:
        start = info.data.get("valid_from")
        if isinstance(value, date) and start is not None:
            if value <= start:
                raise ValueError("must be after valid_from")
            if (value - start).days / 365.25 > MAX_VALIDITY_YEARS + 0.1:
                raise ValueError(
                    f"a resident ID card is valid for at most {MAX_VALIDITY_YEARS} years (or '{LONG_TERM}')"
                )
        return value


def _refuse_claimed(data: Any, why: str) -> Any:
    """Refuse a verification result the app sent itself (a score, ``passed``, a similarity)."""
    if isinstance(data, dict):
        claimed = sorted(_CLAIMED_RESULTS & set(data))
        if claimed:
            raise ValueError(f"{', '.join(claimed)}: a result sent by the app is not accepted; {why}")
    return data


class LivenessSession(_Strict):
    """The liveness session the app's SDK ran: which vendor, and the token to fetch its result."""

    vendor: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")]
    session_token: Annotated[str, Field(min_length=8, max_length=512, pattern=r"^[A-Za-z0-9._~+/=\-]+$")]

    @model_validator(mode="before")
    @classmethod
    def _no_claimed_result(cls, data: Any) -> Any:
        return _refuse_claimed(data, "the liveness result is fetched from the vendor with session_token")


class Kyc(_Strict):
    """The optional ``kyc`` block of an application."""

    id_card: IdCardOcr | None = None
    liveness: LivenessSession | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_claimed_result(cls, data: Any) -> Any:
        return _refuse_claimed(data, "liveness and face comparison are fetched from the vendor")


def comparable_name(name: str) -> str:
    """A name as compared with the card: NFKC (full-width letters), separators and spaces dropped,
    case folded."""
    return unicodedata.normalize("NFKC", name).translate(_NAME_SEPARATORS).casefold()


def kyc_facts(
    kyc: Kyc | None, declared_name: str, declared_id_number: str, today: date
) -> dict[str, bool | int | None]:
    """The own identity-check facts (see :data:`lendguard.core.facts.KYC_FACTS`).

    A fact is None (missing) when the part of the block it needs was not sent, so a rule's
    ``on_missing`` decides. ``id_card_days_left`` is None for a long-term card.
    """
    card = kyc.id_card if kyc is not None else None
    facts: dict[str, bool | int | None] = {
        "kyc.id_card_read": card is not None,
        "kyc.liveness_session": kyc is not None and kyc.liveness is not None,
        "kyc.ocr_name_match": None,
        "kyc.ocr_id_match": None,
        "kyc.id_card_expired": None,
        "kyc.id_card_not_yet_valid": None,
        "kyc.id_card_days_left": None,
    }
    if card is None:
        return facts
    facts["kyc.ocr_name_match"] = comparable_name(card.name) == comparable_name(declared_name)
    facts["kyc.ocr_id_match"] = card.id_number == declared_id_number
    facts["kyc.id_card_not_yet_valid"] = card.valid_from > today
    if isinstance(card.valid_until, date):
        facts["kyc.id_card_expired"] = card.valid_until < today
        facts["kyc.id_card_days_left"] = (card.valid_until - today).days
    else:
        facts["kyc.id_card_expired"] = False
    return facts
