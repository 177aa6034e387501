"""Consents with purpose: what the applicant agreed to, under which text, when and where.

PIPL asks for consent per purpose, and a separate one for sensitive personal information such
as biometrics (Art. 29): a face comparison never rides on the consent to a bureau query. Each
consent names the published text the applicant saw (id and version, from
:data:`CONSENT_TEXTS`), when it was given and through which channel. A purpose without a
record has no consent; a vendor that needs it is skipped as ``no_consent``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from lendguard.core.base_model import Model


class Purpose(StrEnum):
    """Why personal data is processed; a vendor declares the one it needs."""

    BUREAU = "bureau"  # credit bureau query
    TELCO = "telco"  # telco operator data
    BANK_CARD = "bank_card"  # bank-card verification
    FACE = "face"  # face comparison: biometric, sensitive, its own separate consent
    MARKETING = "marketing"


# Purposes whose data is sensitive personal information: their consent text must be a text of
# its own, never one that also covers another purpose.
SEPARATE_CONSENT: frozenset[Purpose] = frozenset({Purpose.FACE})

# Vendor services whose data the law ties to a purpose: a vendor of such a service needs that
# consent even if the policy forgets to say so.
SERVICE_PURPOSES: dict[str, Purpose] = {
    "bureau_report": Purpose.BUREAU,
    "telco_check": Purpose.TELCO,
    "bank_card_check": Purpose.BANK_CARD,
    "phone_status": Purpose.TELCO,
    # Comparing the applicant's face with the register photo is processing biometrics.
    "face_compare": Purpose.FACE,
}

ConsentChannel = Literal["app", "web", "h5", "partner", "paper"]


@dataclass(frozen=True, slots=True)
class ConsentText:
    """One published consent text version and the purposes it covers (a catalogue constant, not
    input: a plain dataclass, so importing the catalogue builds no validator)."""

    text_id: str
    version: str
    purposes: frozenset[Purpose]
    published: date


# The texts legal has published. A new version is appended, never edited: past consents keep
# naming the version the applicant saw.
CONSENT_TEXTS: tuple[ConsentText, ...] = (
    ConsentText(text_id="credit-auth", version="2025.1", purposes=frozenset({Purpose.BUREAU}), published=date(2025, 1, 6)),
    ConsentText(text_id="credit-auth", version="2026.1", purposes=frozenset({Purpose.BUREAU}), published=date(2026, 3, 2)),
    ConsentText(text_id="data-auth", version="2026.1", purposes=frozenset({Purpose.TELCO, Purpose.BANK_CARD}), published=date(2026, 3, 2)),
    ConsentText(text_id="face-auth", version="2026.1", purposes=frozenset({Purpose.FACE}), published=date(2026, 3, 2)),
    ConsentText(text_id="marketing", version="2026.1", purposes=frozenset({Purpose.MARKETING}), published=date(2026, 3, 2)),
)  # fmt: skip


def _check_catalogue(texts: tuple[ConsentText, ...]) -> None:
    seen: set[tuple[str, str]] = set()
    for text in texts:
        if (text.text_id, text.version) in seen:
            raise RuntimeError(f"consent text {text.text_id} {text.version} is listed twice")
        seen.add((text.text_id, text.version))
        if text.purposes & SEPARATE_CONSENT and len(text.purposes) > 1:
            raise RuntimeError(f"consent text {text.text_id} bundles a purpose that needs its own consent")


_check_catalogue(CONSENT_TEXTS)


def known_versions(purpose: Purpose) -> dict[str, list[str]]:
    """Text id -> versions that cover ``purpose``."""
    out: dict[str, list[str]] = {}
    for text in CONSENT_TEXTS:
        if purpose in text.purposes:
            out.setdefault(text.text_id, []).append(text.version)
    return out


class ConsentRecord(Model):
    """One consent as given: which text, when and through which channel."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    text_id: Annotated[str, Field(min_length=1, max_length=64)]
    text_version: Annotated[str, Field(min_length=1, max_length=32)]
    given_at: datetime
    channel: ConsentChannel

    @field_validator("given_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("must include a UTC offset, e.g. 2026-11-22T10:00:00+08:00")
        return value


class Consents(Model):
    """The applicant's consents, one record per purpose; a purpose left out is not consented."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bureau: ConsentRecord | None = None
    telco: ConsentRecord | None = None
    bank_card: ConsentRecord | None = None
    face: ConsentRecord | None = None
    marketing: ConsentRecord | None = None

    @field_validator(*(p.value for p in Purpose), mode="before")
    @classmethod
    def _a_record(cls, value: object) -> object:
        if value is None or isinstance(value, dict | ConsentRecord):
            return value
        raise ValueError(
            "must be a consent record {text_id, text_version, given_at, channel}; "
            "leave the purpose out when the applicant did not consent"
        )

    @field_validator(*(p.value for p in Purpose))
    @classmethod
    def _known_text(cls, record: ConsentRecord | None, info: ValidationInfo) -> ConsentRecord | None:
        if record is None:
            return None
        purpose = Purpose(info.field_name)
        versions = known_versions(purpose).get(record.text_id)
        if versions is None:
            raise ValueError(
                f"text_id {record.text_id!r} is not a consent text for {purpose.value}; "
                f"known: {sorted(known_versions(purpose))}"
            )
        if record.text_version not in versions:
            raise ValueError(
                f"text_version {record.text_version!r} of {record.text_id} is unknown; known: {versions}"
            )
        return record

    def given(self, purpose: Purpose | str) -> bool:
        """Whether the applicant consented to ``purpose``."""
        return getattr(self, Purpose(purpose).value) is not None

    def references(self) -> dict[str, str]:
        """Purpose -> ``text_id@version`` of each consent given (what the archive keeps)."""
        return {
            p.value: f"{r.text_id}@{r.text_version}"
            for p in Purpose
            if (r := getattr(self, p.value)) is not None
        }
