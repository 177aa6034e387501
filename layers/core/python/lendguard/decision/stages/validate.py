"""Open a case: the validated application becomes the first facts and the hashed subject."""

from __future__ import annotations

from datetime import datetime

from lendguard.core.application import DECISION_TIMEZONE, Application
from lendguard.core.consents import Purpose
from lendguard.core.hashing import keyed_hash
from lendguard.core.kyc import kyc_facts
from lendguard.decision.state import DecisionState, StageTrace, Subject
from lendguard.lists.keys import KeyType, hash_value
from lendguard.policy.schema import Policy

LIVENESS_SESSION_KEY = "LIVENESS_SESSION"


def subject_of(app: Application, secret: str) -> Subject:
    """Keyed hashes of the identifiers lists and caches are keyed by.

    Each value goes through the lists' own normalisation (``lendguard.lists.keys``), so an
    application hits an entry however either of them wrote the identifier.
    """
    return Subject(
        id_number=hash_value(KeyType.ID_NUMBER, app.applicant.id_number, secret),
        phone=hash_value(KeyType.PHONE, app.applicant.phone, secret),
        device_id=hash_value(KeyType.DEVICE_ID, app.device.device_id, secret),
        ip=hash_value(KeyType.IP, str(app.device.ip), secret),
        bank_card=hash_value(KeyType.BANK_CARD, app.applicant.bank_card, secret)
        if app.applicant.bank_card
        else None,
        # The liveness session keys the liveness and face answers: each session is one capture.
        liveness_session=keyed_hash(LIVENESS_SESSION_KEY, app.kyc.liveness.session_token, secret)
        if app.kyc is not None and app.kyc.liveness is not None
        else None,
    )


def application_facts(app: Application, received_at: datetime) -> dict[str, float | int | str | bool | None]:
    """The facts every rule may read from the application itself.

    Time facts come from ``received_at``, the server's receive time, in the borrowers' time zone:
    never from the client's ``submitted_at``, which a client could set to any date.
    """
    rid = app.applicant.resident_id()
    local = received_at.astimezone(DECISION_TIMEZONE)
    return {
        "applicant.age": rid.age_on(local.date()),
        "applicant.sex": rid.sex,
        "applicant.province": rid.province_code,
        "applicant.monthly_income": app.applicant.monthly_income,
        "applicant.employment": app.applicant.employment,
        "applicant.city": app.applicant.city,
        "applicant.bank_card_given": app.applicant.bank_card is not None,
        "application.requested_amount": app.requested_amount,
        "application.term_months": app.term_months,
        "application.product": app.product,
        "application.channel": app.channel,
        # The borrower's local hour: 2-5 a.m. applications are a known fraud signal.
        "application.local_hour": local.hour,
        "device.os": app.device.os,
        **{f"consents.{purpose.value}": app.consents.given(purpose) for purpose in Purpose},
        **kyc_facts(app.kyc, app.applicant.name, app.applicant.id_number, local.date()),
    }


def open_case(
    app: Application,
    policy: Policy,
    case_id: str,
    received_at: datetime,
    secret: str,
    elapsed_ms: float = 0.0,
) -> DecisionState:
    """The initial state of a case."""
    state = DecisionState(
        case_id=case_id,
        application=app.model_dump(mode="json"),
        received_at=received_at,
        policy=policy.ref,
        subject=subject_of(app, secret),
        facts=application_facts(app, received_at),
    )
    state.trace.stages.append(StageTrace(stage="validate", elapsed_ms=elapsed_ms))
    return state
