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
