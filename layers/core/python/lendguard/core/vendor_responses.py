"""Typed vendor responses. Each field of a response becomes a fact ``<vendor id>.<field>``."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from lendguard.core.base_model import Model


class VendorResponse(Model):
    model_config = ConfigDict(extra="ignore", frozen=True)

    def is_hit(self) -> bool:
        """Whether the vendor had a record for the subject (what per-hit pricing bills)."""
        return True


class IdentityCheck(VendorResponse):
    """Two-factor identity verification: does the name match the ID number on the register."""

    match: bool
    name_match: bool


class FraudBlacklist(VendorResponse):
    """An industry fraud black list; billed per hit."""

    hit: bool
    hit_type: str | None = Field(
        default=None, description="e.g. fraud_ring, identity_theft, collection_dispute"
    )

    def is_hit(self) -> bool:
        return self.hit


class FraudScore(VendorResponse):
    """An anti-fraud score, 0 (clean) to 100 (almost certainly fraud)."""

    score: float = Field(ge=0, le=100)
    device_risk: bool = False


class BureauReport(VendorResponse):
    """A credit bureau report reduced to the fields the policy reads."""

    thin_file: bool
    multi_lender_7d: int = Field(ge=0)
    multi_lender_30d: int = Field(ge=0)
    multi_lender_90d: int = Field(ge=0)
    open_loans: int = Field(ge=0)
    monthly_debt: float = Field(ge=0)
    overdue_count_24m: int = Field(ge=0)
    max_overdue_days: int = Field(ge=0)
    phone_tenure_months: int | None = Field(default=None, ge=0)


class TelcoCheck(VendorResponse):
    """Mobile operator three-element check (name, ID number, phone) with line tenure and status."""

    three_element_match: bool
    tenure_months: int = Field(ge=0)
    line_status: str = Field(description="active, suspended or cancelled")


class BankCardCheck(VendorResponse):
    """Bank-card four-element check: name, ID number, phone and card number agree at the bank."""

    match: bool
    card_type: str | None = Field(default=None, description="debit or credit; absent when no match")


class DeviceRisk(VendorResponse):
    """Device fingerprint risk: emulators, rooted phones and device farms."""

    emulator: bool
    rooted: bool
    accounts_on_device_30d: int = Field(ge=0)


class LivenessCheck(VendorResponse):
    """A liveness session's result, fetched from the SDK's vendor with the app's session token.

    ``score`` 0 (a photo, mask or replayed video) to 100 (a live person in front of the camera).
    """

    passed: bool
    score: float = Field(ge=0, le=100)
    attack_suspected: bool = Field(default=False, description="presentation attack or injected video")


class FaceCompare(VendorResponse):
    """The liveness capture compared with the identity register's photo of the ID number.

    Biometric: called only with the applicant's separate face consent, and only this similarity
    is kept (never an image; see :data:`BIOMETRIC_SERVICES`).
    """

    similarity: float = Field(ge=0, le=100, description="0 (another person) to 100 (the same face)")


class PhoneStatus(VendorResponse):
    """The phone line's status at the operator: in service, how long held, recently moved."""

    in_service: bool
    line_status: str = Field(description="active, suspended, cancelled or unknown")
    tenure_months: int = Field(ge=0)
    recently_moved: bool = Field(
        description="ported to another operator or re-assigned to a new holder in the last 90 days"
    )


RESPONSE_MODELS: dict[str, type[VendorResponse]] = {
    "identity_check": IdentityCheck,
    "fraud_blacklist": FraudBlacklist,
    "fraud_score": FraudScore,
    "bureau_report": BureauReport,
    "telco_check": TelcoCheck,
    "bank_card_check": BankCardCheck,
    "device_risk": DeviceRisk,
    "liveness_check": LivenessCheck,
    "face_compare": FaceCompare,
    "phone_status": PhoneStatus,
}

# The kind of data each service sells (what dashboards and the funnel group vendors by).
SERVICE_KINDS: dict[str, str] = {
    "identity_check": "identity",
    "fraud_blacklist": "antifraud",
    "fraud_score": "antifraud",
    "bureau_report": "bureau",
    "telco_check": "telco",
    "bank_card_check": "bank_card",
    "device_risk": "device",
    "liveness_check": "identity",
    "face_compare": "identity",
    "phone_status": "telco",
}

# The identifiers a service's answer depends on, so the data cache is keyed by exactly those:
# a bureau report follows the person wherever they apply from, a device verdict follows the
# device, and an anti-fraud score changes when either the phone or the device does.
SUBJECT_KEYS: dict[str, tuple[str, ...]] = {
    "identity_check": ("id_number",),
    "fraud_blacklist": ("id_number",),
    "fraud_score": ("id_number", "phone", "device_id"),
    "bureau_report": ("id_number",),
    "telco_check": ("id_number", "phone"),
    "bank_card_check": ("id_number", "phone", "bank_card"),
    "device_risk": ("device_id",),
    # Each liveness session is one capture: its result belongs to the session, and a face
    # comparison to the session and the register photo of the ID number.
    "liveness_check": ("liveness_session",),
    "face_compare": ("id_number", "liveness_session"),
    "phone_status": ("phone",),
}

# Services that process biometric data: the raw answer is never archived (a vendor may echo the
# captured image or a crop of it); the typed response, which holds only scores, is stored instead.
BIOMETRIC_SERVICES: frozenset[str] = frozenset({"liveness_check", "face_compare"})


def response_facts(vendor_id: str, service: str) -> list[str]:
    """The fact names a vendor of ``service`` yields."""
    return [f"{vendor_id}.{name}" for name in RESPONSE_MODELS[service].model_fields]
