"""Deterministic simulated vendors for local use, tests and demos.

Each answer is a pure function of the keyed hash of the applicant's ID number, so the same
applicant always gets the same answer, nothing personal is needed, and the distributions are
documented here rather than hidden in data:

- A latent risk ``r`` in [0, 1) is read from the hash; every bureau and fraud field rises with it,
  so vendor data carries real signal for the model.
- identity_check: 2% of subjects fail (name or ID mismatch).
- fraud_blacklist: hit when r > 0.97 (about 3%); hit types cycle through three kinds.
- fraud_score: 100 * r**3 plus hash noise of ±5, clipped to [0, 100].
- bureau_report: 8% thin files (no history). Multi-lender counts are Poisson-like in r
  (7d ≤ 30d ≤ 90d); overdue counts and days grow with r; monthly debt scales with open loans;
  phone tenure is absent for 5% and otherwise falls with r.
- telco_check: 3% fail the three-element match; tenure 1-120 months, falling with r; 2% of
  lines suspended and 1% cancelled.
- bank_card_check: 4% fail the four-element match; 70% of matching cards are debit cards.
- device_risk: emulator with probability 0.01 + 0.05·r, rooted 0.02 + 0.05·r; accounts seen
  on the device in 30 days Poisson with mean 0.2 + 3·r³.
- liveness_check (read from the liveness session, not the ID number: one applicant may fail one
  session and pass the next): 3% spoofed sessions (score 5-45, failed, an attack suspected in
  half), 2% poor captures (score 45-70, failed), the rest live (score 75-99, passed).
- face_compare (read from the session and the ID number): 2% another person (similarity 10-50),
  5% doubtful (60-80), the rest the same person (80-99).
- phone_status: 1% of lines cancelled and 2% suspended (not in service); tenure 1-120 months,
  falling with r; 4% + 10%·r recently moved.

Fault injection (latency, 5xx, malformed payloads) is not here: it is per vendor configuration
and lives in :class:`lendguard.vendors.base.SimulatedProvider`.
"""

from __future__ import annotations

import hashlib
import math
import struct
from typing import TYPE_CHECKING

from lendguard.core.vendor_responses import (
    BankCardCheck,
    BureauReport,
    DeviceRisk,
    FaceCompare,
    FraudBlacklist,
    FraudScore,
    IdentityCheck,
    LivenessCheck,
    PhoneStatus,
    TelcoCheck,
    VendorResponse,
)

if TYPE_CHECKING:
    from lendguard.decision.state import Subject


_WORDS = struct.Struct(">8I")  # a SHA-256 digest as eight big-endian 32-bit words


class _Draws:
    """Uniform draws in [0, 1) read from a SHA-256 stream seeded by the subject hash and a salt."""

    __slots__ = ("_digest", "_i", "_words")

    def __init__(self, subject_hash: str, salt: str):
        self._digest = hashlib.sha256(f"{salt}:{subject_hash}".encode()).digest()
        self._words = _WORDS.unpack(self._digest)
        self._i = 0

    def next(self) -> float:
        """The next uniform draw: the digest's next 32-bit word over 2**32, then the next digest's."""
        if self._i == 8:
            self._digest = hashlib.sha256(self._digest).digest()
            self._words = _WORDS.unpack(self._digest)
            self._i = 0
        value = self._words[self._i] / 2**32
        self._i += 1
        return value


def latent_risk(subject_hash: str) -> float:
    """The applicant's hidden riskiness in [0, 1), shared by every simulated vendor."""
    return _Draws(subject_hash, "latent").next()


def _count(u: float, mean: float) -> int:
    # Inverse-CDF of a Poisson with the given mean, from one uniform draw.
    k, p = 0, math.exp(-mean)
    cumulative = p
    while u > cumulative and k < 60:
        k += 1
        p *= mean / k
        cumulative += p
    return k


def identity_check(subject_hash: str) -> IdentityCheck:
    """Two-factor identity check: 2% mismatch (1% on the name too)."""
    d = _Draws(subject_hash, "identity")
    u = d.next()
    return IdentityCheck(match=u >= 0.02, name_match=u >= 0.01)


def fraud_blacklist(subject_hash: str) -> FraudBlacklist:
    """Industry black list: a hit for the riskiest 3%."""
    r = latent_risk(subject_hash)
    if r <= 0.97:
        return FraudBlacklist(hit=False)
    kinds = ("fraud_ring", "identity_theft", "collection_dispute")
    return FraudBlacklist(hit=True, hit_type=kinds[int(_Draws(subject_hash, "bl").next() * 3)])


def fraud_score(subject_hash: str) -> FraudScore:
    """Anti-fraud score 100·r³ ± 5, with a device-risk flag more likely as r grows."""
    r = latent_risk(subject_hash)
    d = _Draws(subject_hash, "fraudscore")
    score = min(100.0, max(0.0, 100 * r**3 + (d.next() - 0.5) * 10))
    return FraudScore(score=round(score, 2), device_risk=d.next() < 0.02 + 0.1 * r)


def bureau_report(subject_hash: str) -> BureauReport:
    """Bureau report whose counts and overdue history grow with the latent risk."""
    r = latent_risk(subject_hash)
    d = _Draws(subject_hash, "bureau")
    thin = d.next() < 0.08
    m7 = _count(d.next(), 0.1 + 2.5 * r**3)
    m30 = m7 + _count(d.next(), 0.3 + 4.0 * r**2)
    m90 = m30 + _count(d.next(), 0.5 + 5.0 * r**2)
    tenure = None if d.next() < 0.05 else int(6 + 120 * (1 - r) * d.next())
    if thin:
        return BureauReport(
            thin_file=True, multi_lender_7d=m7, multi_lender_30d=m30, multi_lender_90d=m90, open_loans=0,
            monthly_debt=0.0, overdue_count_24m=0, max_overdue_days=0, phone_tenure_months=tenure,
        )  # fmt: skip
    open_loans = _count(d.next(), 0.5 + 4 * r)
    overdue = _count(d.next(), 3 * r**2)
    max_days = 0 if overdue == 0 else int(5 + 120 * r**2 * d.next())
    debt = round(open_loans * (300 + 1500 * d.next()), 2)
    return BureauReport(
        thin_file=False, multi_lender_7d=m7, multi_lender_30d=m30, multi_lender_90d=m90, open_loans=open_loans,
        monthly_debt=debt, overdue_count_24m=overdue, max_overdue_days=max_days, phone_tenure_months=tenure,
    )  # fmt: skip


def telco_check(subject_hash: str) -> TelcoCheck:
    """Operator three-element check with line tenure and status."""
    r = latent_risk(subject_hash)
    d = _Draws(subject_hash, "telco")
    u = d.next()
    status = "cancelled" if u < 0.01 else "suspended" if u < 0.03 else "active"
    return TelcoCheck(
        three_element_match=d.next() >= 0.03,
        tenure_months=1 + int(119 * (1 - r) * d.next()),
        line_status=status,
    )


def bank_card_check(subject_hash: str) -> BankCardCheck:
    """Bank-card four-element check: 4% mismatch."""
    d = _Draws(subject_hash, "bankcard")
    if d.next() < 0.04:
        return BankCardCheck(match=False)
    return BankCardCheck(match=True, card_type="debit" if d.next() < 0.7 else "credit")


def device_risk(subject_hash: str) -> DeviceRisk:
    """Device fingerprint verdict: emulators, rooted phones, shared devices."""
    r = latent_risk(subject_hash)
    d = _Draws(subject_hash, "device")
    return DeviceRisk(
        emulator=d.next() < 0.01 + 0.05 * r,
        rooted=d.next() < 0.02 + 0.05 * r,
        accounts_on_device_30d=_count(d.next(), 0.2 + 3 * r**3),
    )


def liveness_check(session_hash: str) -> LivenessCheck:
    """Liveness result of one session: 3% spoofed, 2% poor captures, the rest live."""
    d = _Draws(session_hash, "liveness")
    u, v = d.next(), d.next()
    if u < 0.03:
        return LivenessCheck(passed=False, score=round(5 + 40 * v, 1), attack_suspected=d.next() < 0.5)
    if u < 0.05:
        return LivenessCheck(passed=False, score=round(45 + 25 * v, 1))
    return LivenessCheck(passed=True, score=round(75 + 24 * v, 1))


def face_compare(session_hash: str) -> FaceCompare:
    """Similarity of the session's capture to the register photo: 2% another person, 5% doubtful."""
    d = _Draws(session_hash, "face")
    u, v = d.next(), d.next()
    if u < 0.02:
        return FaceCompare(similarity=round(10 + 40 * v, 1))
    if u < 0.07:
        return FaceCompare(similarity=round(60 + 20 * v, 1))
    return FaceCompare(similarity=round(80 + 19 * v, 1))


def phone_status(subject_hash: str) -> PhoneStatus:
    """Line status, tenure and recent moves (porting, re-assignment) at the operator."""
    r = latent_risk(subject_hash)
    d = _Draws(subject_hash, "phonestatus")
    u = d.next()
    status = "cancelled" if u < 0.01 else "suspended" if u < 0.03 else "active"
    return PhoneStatus(
        in_service=status == "active",
        line_status=status,
        tenure_months=1 + int(119 * (1 - r) * d.next()),
        recently_moved=d.next() < 0.04 + 0.1 * r,
    )


SIMULATORS = {
    "identity_check": identity_check,
    "fraud_blacklist": fraud_blacklist,
    "fraud_score": fraud_score,
    "bureau_report": bureau_report,
    "telco_check": telco_check,
    "bank_card_check": bank_card_check,
    "device_risk": device_risk,
    "liveness_check": liveness_check,
    "face_compare": face_compare,
    "phone_status": phone_status,
}

# Answers that belong to a liveness session are read from the session's hash (and the face
# comparison also from the ID number's); every other answer from the ID number's.
_SESSION_SERVICES = {
    "liveness_check": ("liveness_session",),
    "face_compare": ("liveness_session", "id_number"),
}


def simulation_key(service: str, subject: Subject) -> str:
    """The hash a simulated answer of ``service`` for ``subject`` is read from."""
    names = _SESSION_SERVICES.get(service, ("id_number",))
    return ":".join(str(getattr(subject, name)) for name in names)


def simulate(service: str, subject_hash: str) -> VendorResponse:
    """Answer as a vendor of ``service`` would for the subject."""
    return SIMULATORS[service](subject_hash)
