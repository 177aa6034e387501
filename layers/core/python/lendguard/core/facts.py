"""The fact catalogue: every fact a rule, feature or model may read, with its type.

Facts are named ``<source>.<name>``: the application (``applicant.age``), the lists
(``lists.black.any``), each vendor (``<vendor id>.<field>``, from the typed responses in
:mod:`lendguard.core.vendor_responses`), features (``features.<name>``) and the score
(``score.pd``). Which facts exist at which point of the flow is declared by the stage registry
(:mod:`lendguard.core.stages`); this module only says what each fact is.
"""

from __future__ import annotations

import types
import typing
from enum import StrEnum

from lendguard.core.consents import Purpose
from lendguard.core.vendor_responses import RESPONSE_MODELS


class FactType(StrEnum):
    """What a fact holds when it is present (any fact may also be missing)."""

    NUMBER = "number"
    STRING = "string"
    BOOLEAN = "boolean"


_N, _S, _B = FactType.NUMBER, FactType.STRING, FactType.BOOLEAN

# The own, free identity checks on the application's ``kyc`` block (lendguard.core.kyc computes
# them): whether a card was read and a liveness session run, whether the card's OCR name and ID
# number are the declared ones, and whether the card is valid on the decision date. All but the
# first two are missing when no card was read; ``id_card_days_left`` also for a long-term card.
KYC_FACTS: dict[str, FactType] = {
    "kyc.id_card_read": _B,
    "kyc.liveness_session": _B,
    "kyc.ocr_name_match": _B,
    "kyc.ocr_id_match": _B,
    "kyc.id_card_expired": _B,
    "kyc.id_card_not_yet_valid": _B,
    "kyc.id_card_days_left": _N,
}

APPLICATION_FACTS: dict[str, FactType] = {
    "applicant.age": _N,
    "applicant.sex": _S,
    "applicant.province": _S,
    "applicant.monthly_income": _N,
    "applicant.employment": _S,
    "applicant.city": _S,
    # Whether the application names a payout card (the card itself is never a fact).
    "applicant.bank_card_given": _B,
    "application.requested_amount": _N,
    "application.term_months": _N,
    "application.product": _S,
    "application.channel": _S,
    "application.local_hour": _N,
    "device.os": _S,
    # One per purpose: whether the applicant gave that consent (the record itself is in the archive).
    **{f"consents.{purpose.value}": _B for purpose in Purpose},
    **KYC_FACTS,
}


class ListKind(StrEnum):
    """Which list: black rejects, grey sends to review, white skips what the policy allows."""

    BLACK = "BLACK"
    GREY = "GREY"
    WHITE = "WHITE"


class KeyType(StrEnum):
    """What kind of identifier a list entry is keyed by."""

    ID_NUMBER = "ID_NUMBER"
    PHONE = "PHONE"
    DEVICE_ID = "DEVICE_ID"
    BANK_CARD = "BANK_CARD"
    IP = "IP"


# Every list fact exists for every case (False when nothing hit), so policies may name any of
# them, including key types a given application does not carry (a payout card is optional).
LIST_FACTS: dict[str, FactType] = {
    f"lists.{kind.lower()}.{key.lower()}": _B for kind in ListKind for key in ("any", *KeyType)
}

SCORE_FACTS: dict[str, FactType] = {"score.pd": _N, "score.points": _N, "score.model_points": _N}

# Our own data (the InternalData stage, lendguard.internal): velocity on hashed identifiers,
# counted when a case opens (this case included), over the last 1 / 7 / 30 days (calendar days
# in Asia/Shanghai, today included).
VELOCITY_WINDOWS: tuple[int, ...] = (1, 7, 30)
# Fact name part -> the Subject attribute whose hash is counted.
VELOCITY_KEYS: dict[str, str] = {
    "id_number": "id_number",
    "phone": "phone",
    "device": "device_id",
    "ip": "ip",
}
# Identifiers on which distinct ID numbers are counted (device sharing: the fraud-ring signal).
SHARED_KEYS: tuple[str, ...] = ("device", "ip")

INTERNAL_FACTS: dict[str, FactType] = {
    **{f"internal.apps_{key}_{w}d": _N for key in VELOCITY_KEYS for w in VELOCITY_WINDOWS},
    **{f"internal.ids_on_{key}_{w}d": _N for key in SHARED_KEYS for w in VELOCITY_WINDOWS},
    # Own case history of this ID number (decided cases before this one, policy internal.history_days).
    "internal.previous_cases": _N,
    "internal.previous_approvals": _N,
    "internal.previous_rejects": _N,
    "internal.last_reject_reason": _S,  # the first reason code of the latest reject
    "internal.days_since_last_reject": _N,
    # The customer's loans with us (from loan outcomes; the loan book will feed the same reader).
    "internal.loans": _N,  # loans drawn
    "internal.loans_good_standing": _N,  # current (0 days past due) or settled, never charged off
    "internal.loans_overdue": _N,  # past due today
    "internal.loans_repaid": _N,  # settled
    "internal.loans_charged_off": _N,
    "internal.max_days_past_due": _N,  # the worst days past due today over the customer's loans
    "internal.repeat_customer": _B,  # has drawn a loan before
}

# Precomputed customer features (the feature table, written by the customer_features job).
CUSTOMER_FEATURE_FIELDS: dict[str, FactType] = {
    "lifetime_cases": _N,
    "lifetime_rejects": _N,
    "loans_drawn": _N,
    "total_drawn": _N,
    "total_repaid": _N,
    "max_dpd_ever": _N,
    "months_since_first_loan": _N,
}
CUSTOMER_FACTS: dict[str, FactType] = {
    # Whether the features were read fresh (max age in the policy); always present.
    "customer.features_fresh": _B,
    "customer.feature_age_hours": _N,
    **{f"customer.{name}": kind for name, kind in CUSTOMER_FEATURE_FIELDS.items()},
}


def _fact_type(annotation: object) -> FactType:
    """The fact type of a response field's annotation (``int | None`` is a number)."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        present = [a for a in args if a is not type(None)]
        return _fact_type(present[0])
    if annotation is bool:
        return _B
    if annotation in (int, float):
        return _N
    return _S


def vendor_facts(vendor_id: str, service: str) -> dict[str, FactType]:
    """The facts a vendor of ``service`` yields, named ``<vendor id>.<field>``."""
    fields = RESPONSE_MODELS[service].model_fields
    return {f"{vendor_id}.{name}": _fact_type(field.annotation) for name, field in fields.items()}


def feature_fact(name: str) -> str:
    return f"features.{name}"
