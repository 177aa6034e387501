"""Open a case: the validated application becomes the first facts and the hashed subject."""

from __future__ import annotations

from datetime import datetime
from ipaddress import IPv4Address

from lendguard.core.application import DECISION_TIMEZONE, Application
from lendguard.core.consents import Purpose
from lendguard.core.hashing import keyed_hash
from lendguard.core.identity import parts_of_valid_id
from lendguard.core.kyc import kyc_facts
from lendguard.core.trusted import trusted
from lendguard.decision.state import DecisionState, StageTrace, Subject
from lendguard.lists.keys import KeyType, normalize
from lendguard.policy.schema import Policy

LIVENESS_SESSION_KEY = "LIVENESS_SESSION"
# Plain strings, read once per case: an enum member's ``.value`` is a descriptor call.
_ID_NUMBER, _PHONE, _DEVICE_ID, _IP, _BANK_CARD = (
    KeyType.ID_NUMBER.value, KeyType.PHONE.value, KeyType.DEVICE_ID.value, KeyType.IP.value,
    KeyType.BANK_CARD.value,
)  # fmt: skip
_CONSENT_FACTS = tuple((f"consents.{purpose.value}", purpose.value) for purpose in Purpose)


def subject_of(app: Application, secret: str) -> Subject:
    """Keyed hashes of the identifiers lists and caches are keyed by, each hashed once per case.

    Lists hash every value in the lists' own normalised form (``lendguard.lists.keys.normalize``),
    so an application hits an entry however either of them wrote the identifier. A validated
    application already holds that form (its validators are the same normalisers), so it is hashed
    as it stands; only the device id is lower-cased and an IPv6 address canonicalised, as
    ``normalize`` does (``tests/unit/test_hot_path_state.py`` holds the two paths equal).
    """
    applicant, device = app.applicant, app.device
    ip = device.ip
    return trusted(
        Subject,
        id_number=keyed_hash(_ID_NUMBER, applicant.id_number, secret),
        phone=keyed_hash(_PHONE, applicant.phone, secret),
        device_id=keyed_hash(_DEVICE_ID, device.device_id.lower(), secret),
        # An IPv4 address prints canonically; an IPv6 one may map an IPv4 address (or carry a
        # zone index, which normalize refuses), so it goes through normalize.
        ip=keyed_hash(
            _IP, str(ip) if isinstance(ip, IPv4Address) else normalize(KeyType.IP, str(ip)), secret
        ),
        bank_card=keyed_hash(_BANK_CARD, applicant.bank_card, secret) if applicant.bank_card else None,
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
    applicant = app.applicant
    rid = parts_of_valid_id(applicant.id_number)
    local = received_at.astimezone(DECISION_TIMEZONE)
    today = local.date()
    consents = app.consents
    return {
        "applicant.age": rid.age_on(today),
        "applicant.sex": rid.sex,
        "applicant.province": rid.province_code,
        "applicant.monthly_income": applicant.monthly_income,
        "applicant.employment": applicant.employment,
        "applicant.city": applicant.city,
        "applicant.bank_card_given": applicant.bank_card is not None,
        "application.requested_amount": app.requested_amount,
        "application.term_months": app.term_months,
        "application.product": app.product,
        "application.channel": app.channel,
        # The borrower's local hour: 2-5 a.m. applications are a known fraud signal.
        "application.local_hour": local.hour,
        "device.os": app.device.os,
        **{fact: getattr(consents, purpose) is not None for fact, purpose in _CONSENT_FACTS},
        **kyc_facts(app.kyc, applicant.name, applicant.id_number, today),
    }


def open_case(
    app: Application,
    policy: Policy,
    case_id: str,
    received_at: datetime,
    secret: str,
    elapsed_ms: float = 0.0,
    subject: Subject | None = None,
) -> DecisionState:
    """The initial state of a case.

    ``subject`` is the application's :func:`subject_of` when the caller already hashed it (the
    validate function does, to route the case): each identifier is hashed once per case.
    """
    # Every value below was validated with the application or computed from it here.
    state = trusted(
        DecisionState,
        case_id=case_id,
        application=app.model_dump(mode="json"),
        received_at=received_at,
        policy=policy.ref,
        subject=subject if subject is not None else subject_of(app, secret),
        facts=application_facts(app, received_at),
    )
    state.trace.stages.append(trusted(StageTrace, stage="validate", elapsed_ms=elapsed_ms))
    return state
