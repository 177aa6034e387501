"""A deterministic synthetic micro-loan data set (offline: demo, training, benchmarks).

Applications are drawn from a seeded generator with documented shares (below); their vendor
facts come from the same simulated vendors the decision flow calls, and features from the
policy's own formulas, so the model is trained on exactly what it will see online.

Planted default signal (the label): logit(PD) =
    -6.0 + 3.0·r + 0.35·multi_lender_7d + 0.08·multi_lender_30d + 0.015·max_overdue_days
    + 0.9·[dti > 0.5] − 0.6·ln(income / 6000) + 0.04·max(0, 28 − age) + 0.5·thin_file
    − 0.01·phone_tenure_months + N(0, 0.5)
where r is the vendors' hidden latent risk. The default rate lands near 9%.

85% of applications name a payout card (a 16-digit UnionPay-style number with a valid Luhn digit),
drawn from a generator of its own seeded by the phone, so adding cards changed no other draw.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from lendguard.core.identity import luhn_ok, make_resident_id

MODEL_FEATURES = (
    "applicant.age", "applicant.monthly_income", "application.requested_amount", "application.term_months",
    "fraud_score.score", "bureau.multi_lender_7d", "bureau.multi_lender_30d", "bureau.multi_lender_90d",
    "bureau.open_loans", "bureau.overdue_count_24m", "bureau.max_overdue_days", "bureau.phone_tenure_months",
    "features.dti", "features.loan_to_income", "features.lender_velocity",
)  # fmt: skip

# (region code, city): mainland cities, plus Hong Kong for the 1% the licence excludes.
_CITIES = (
    ("330106", "Hangzhou"), ("310101", "Shanghai"), ("110105", "Beijing"), ("440305", "Shenzhen"),
    ("440106", "Guangzhou"), ("510107", "Chengdu"), ("420106", "Wuhan"), ("320106", "Nanjing"),
    ("610113", "Xi'an"), ("500103", "Chongqing"), ("370202", "Qingdao"), ("410105", "Zhengzhou"),
)  # fmt: skip
_EMPLOYMENT = (("employed", 0.70), ("self_employed", 0.18), ("student", 0.04), ("unemployed", 0.03),
               ("retired", 0.02), ("other", 0.03))  # fmt: skip
CST = timezone(timedelta(hours=8))


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    u, acc = rng.random(), 0.0
    for value, weight in weighted:
        acc += weight
        if u < acc:
            return value
    return weighted[-1][0]


def synthetic_application(rng: random.Random, index: int, now: datetime) -> dict[str, Any]:
    """One valid application. Shares: 6% aged outside 22-55, 5% income under 2,000, 7% ineligible
    employment, 2% without bureau consent, 1% outside the licence area, 6% submitted 0-5 a.m."""
    age = rng.randint(18, 62) if rng.random() < 0.2 else rng.randint(23, 50)
    born = (now.astimezone(CST) - timedelta(days=int(age * 365.25) + rng.randint(10, 350))).date()
    region, city = ("810000", "Hong Kong") if rng.random() < 0.01 else rng.choice(_CITIES)
    income = round(math.exp(rng.gauss(math.log(7000), 0.55)), -1)
    if rng.random() < 0.05:
        income = round(rng.uniform(800, 1999), -1)
    product = "revolving" if rng.random() < 0.7 else "single"
    if product == "revolving":
        amount, term = round(rng.uniform(500, 20000), -2), rng.choice([3, 6, 9, 12])
    else:
        amount, term = round(rng.uniform(300, 5000), -1), rng.choice([1, 3, 6])
    hour = rng.randint(0, 4) if rng.random() < 0.06 else rng.randint(7, 23)
    submitted = (now.astimezone(CST) - timedelta(days=rng.randint(0, 6))).replace(
        hour=hour, minute=rng.randint(0, 59), second=0, microsecond=0
    )
    application = {
        "application_id": f"SYN-{index:07d}",
        "product": product,
        "requested_amount": amount,
        "term_months": term,
        "applicant": {
            "name": f"Applicant {index}",
            "id_number": make_resident_id(region, date(born.year, born.month, born.day), rng.randint(0, 999)),
            "phone": f"1{rng.choice('3456789')}{rng.randint(0, 999_999_999):09d}",
            "monthly_income": income,
            "employment": _pick(rng, _EMPLOYMENT),
            "city": city,
        },
        "device": {
            "device_id": f"dev-{rng.getrandbits(64):016x}",
            "ip": f"203.0.113.{rng.randint(1, 254)}",
            "os": rng.choice(["android", "android", "ios"]),
        },
        "channel": rng.choice(["app", "app", "app", "h5", "partner"]),
        "consents": _consents(rng.random() >= 0.02, rng.random() >= 0.1, submitted),
        "submitted_at": submitted.isoformat(),
    }
    card_rng = random.Random(f"card:{application['applicant']['phone']}")
    if card_rng.random() < 0.85:
        application["applicant"]["bank_card"] = _card_number(card_rng)
    # Its own generator, so the fields above stay what they were before kyc blocks existed.
    kyc = synthetic_kyc(random.Random(f"kyc:{application['application_id']}"), application, born, submitted)
    if kyc is not None:
        application["kyc"] = kyc
        if "telco" in application["consents"] and random.Random(f"face:{index}").random() < 0.9:
            application["consents"]["face"] = {**application["consents"]["telco"], "text_id": "face-auth"}
    return application


def synthetic_kyc(
    rng: random.Random, application: dict[str, Any], born: date, submitted: datetime
) -> dict[str, Any] | None:
    """A ``kyc`` block for 92% of applications (the rest come from older app versions): the card
    as OCR read it (1% another name, 0.5% another ID number, 1% expired; issued for 10 years, or
    20 from age 26, long-term from 46) and a liveness session of the policy's ``liveness`` vendor."""
    if rng.random() >= 0.92:
        return None
    applicant = application["applicant"]
    today = submitted.date()
    age = today.year - born.year
    issued = today - timedelta(days=rng.randint(30, 9 * 365))
    issued = max(issued, date(born.year + 16, born.month, min(born.day, 28)))
    years = 20 if age >= 26 else 10
    until: str = "long_term" if age >= 46 else _years_after(issued, years).isoformat()
    u = rng.random()
    name, id_number = applicant["name"], applicant["id_number"]
    if u < 0.01:
        name = f"Other {rng.randint(1, 9999)}"
    elif u < 0.015:
        number = id_number[:14] + f"{(int(id_number[14:17]) + 1) % 1000:03d}"
        id_number = make_resident_id(number[:6], born, int(number[14:17]))
    elif u < 0.025 and until != "long_term":
        issued = date(today.year - years, today.month, min(today.day, 28)) - timedelta(
            days=rng.randint(30, 300)
        )
        until = _years_after(issued, years).isoformat()
    return {
        "id_card": {
            "name": name,
            "id_number": id_number,
            "valid_from": issued.isoformat(),
            "valid_until": until,
            "issuing_authority": f"{applicant['city']} Public Security Bureau",
        },
        "liveness": {"vendor": "liveness", "session_token": f"lv-{rng.getrandbits(96):024x}"},
    }


def _years_after(day: date, years: int) -> date:
    """The same calendar day ``years`` later; a card issued on 29 February expires on the 28th."""
    return date(day.year + years, day.month, min(day.day, 28) if day.month == 2 else day.day)


def _consents(bureau: bool, data: bool, submitted: datetime) -> dict[str, Any]:
    """Consent records per purpose, given a few minutes before submission (one text covers the
    telco and bank-card data purposes)."""
    given = (submitted - timedelta(minutes=3)).isoformat()

    def record(text_id: str) -> dict[str, Any]:
        return {"text_id": text_id, "text_version": "2026.1", "given_at": given, "channel": "app"}

    out: dict[str, Any] = {}
    if bureau:
        out["bureau"] = record("credit-auth")
    if data:
        out["telco"] = out["bank_card"] = record("data-auth")
    return out


def _card_number(rng: random.Random) -> str:
    body = "622848" + "".join(str(rng.randint(0, 9)) for _ in range(9))
    return next(body + d for d in "0123456789" if luhn_ok(body + d))


def synthetic_applications(n: int, seed: int = 7, now: datetime | None = None) -> Iterator[dict[str, Any]]:
    """``n`` applications from one seeded generator (same seed, same applications)."""
    rng = random.Random(seed)
    when = now or datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    for i in range(n):
        yield synthetic_application(rng, i, when)


def planted_default(facts: dict[str, Any], latent: float, rng: random.Random) -> int:
    """Draw the default label for one applicant from the planted signal above."""

    def num(name: str) -> float:
        value = facts.get(name)
        return 0.0 if value is None else float(value)

    income = max(num("applicant.monthly_income"), 100.0)
    logit = (
        -6.0 + 3.0 * latent + 0.35 * num("bureau.multi_lender_7d") + 0.08 * num("bureau.multi_lender_30d")
        + 0.015 * num("bureau.max_overdue_days") + 0.9 * (num("features.dti") > 0.5)
        - 0.6 * math.log(income / 6000) + 0.04 * max(0.0, 28 - num("applicant.age"))
        + 0.5 * num("bureau.thin_file") - 0.01 * num("bureau.phone_tenure_months") + rng.gauss(0, 0.5)
    )  # fmt: skip
    return int(rng.random() < 1 / (1 + math.exp(-logit)))


def training_rows(n: int, seed: int, secret: str) -> list[dict[str, Any]]:
    """``n`` labelled rows of facts (every stage's facts, as the online flow would see them)."""
    from lendguard.core.application import parse_application
    from lendguard.core.vendor_responses import RESPONSE_MODELS
    from lendguard.decision.stages.features import compute
    from lendguard.decision.stages.validate import application_facts, subject_of
    from lendguard.offline.project import default_policy_path
    from lendguard.policy.loader import load_policy
    from lendguard.vendors.simulated import latent_risk, simulate, simulation_key

    policy = load_policy(default_policy_path())
    rng = random.Random(seed + 1)
    rows = []
    for raw in synthetic_applications(n, seed):
        app = parse_application(raw)
        subject = subject_of(app, secret)
        # A synthetic application is received the moment it is submitted.
        assert app.submitted_at is not None
        facts: dict[str, Any] = application_facts(app, app.submitted_at)
        for vendor in policy.vendors:
            response = simulate(vendor.service, simulation_key(vendor.service, subject))
            assert isinstance(response, RESPONSE_MODELS[vendor.service])
            facts.update({f"{vendor.id}.{k}": v for k, v in response.model_dump().items()})
        facts.update(compute(facts, policy))
        facts["default"] = planted_default(facts, latent_risk(subject.id_number), rng)
        rows.append(facts)
    return rows


# ------------------------------------------------------------------------------------- backtests
#
# Planted list entries: each application draws once from a hash of its application id, so the
# same applications always carry the same entries whatever else is generated:
#   1.5% black (device id), 2.5% grey (phone), 2% white (ID number), 0.5% both grey and white.
_LIST_PLAN: tuple[tuple[float, tuple[tuple[str, str], ...]], ...] = (
    (0.015, (("BLACK", "DEVICE_ID"),)),
    (0.040, (("GREY", "PHONE"),)),
    (0.060, (("WHITE", "ID_NUMBER"),)),
    (0.065, (("GREY", "PHONE"), ("WHITE", "ID_NUMBER"))),
)
LABEL_COLUMN = "default"
"""The label column of :func:`backtest_rows` (1 = bad, 0 = good)."""


def planted_list_entries(application: dict[str, Any], secret: str) -> list[tuple[str, str, str, Any]]:
    """``(kind, key type, hash, ListHit)`` for each list entry planted for one application."""
    import hashlib

    from lendguard.lists.entries import ListHit
    from lendguard.lists.keys import KeyType, hash_value

    digest = hashlib.sha256(f"lists:{application['application_id']}".encode()).digest()
    u = int.from_bytes(digest[:4], "big") / 2**32
    plan = next((entries for upper, entries in _LIST_PLAN if u < upper), ())
    values = {
        "DEVICE_ID": application["device"]["device_id"],
        "PHONE": application["applicant"]["phone"],
        "ID_NUMBER": application["applicant"]["id_number"],
    }
    return [
        (kind, key_type, hash_value(KeyType(key_type), values[key_type], secret),
         ListHit(kind=kind, key_type=key_type, reason_code="SYNTHETIC", reason="planted by the generator"))  # type: ignore[arg-type]
        for kind, key_type in plan
    ]  # fmt: skip


def backtest_rows(
    n: int, seed: int, secret: str, policy: Any = None, now: datetime | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[tuple[str, str, str], Any]]:
    """Labelled rows for a backtest: ``(applications, rows, list entries)``.

    ``rows`` hold one dict per application with ``application_id``, every application and list
    fact, our own data's facts (velocity counted in order, as the in-process pipeline counts it), the facts of every vendor of ``policy`` (the default policy if None) as that vendor
    would answer (None where it would be skipped: no consent, no identifier), and the label
    :data:`LABEL_COLUMN` from the planted default signal. Features are not included: a backtest
    computes them with the policy under test. ``list entries`` are ``(kind, key type, hash) →
    ListHit`` for an in-memory list lookup, so the in-process pipeline sees the same hits.
    """
    from lendguard.core.application import parse_application
    from lendguard.core.vendor_responses import SUBJECT_KEYS
    from lendguard.decision.pipeline import MemoryLists
    from lendguard.decision.stages.features import compute
    from lendguard.decision.stages.lists import list_facts, subject_keys
    from lendguard.decision.stages.validate import application_facts, subject_of
    from lendguard.internal.source import MemoryOwnDataRecords, OwnDataReader
    from lendguard.offline.project import default_policy_path
    from lendguard.policy.loader import load_policy
    from lendguard.vendors.simulated import latent_risk, simulate, simulation_key

    policy = policy or load_policy(default_policy_path())
    when = now or datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    rng = random.Random(seed + 1)
    applications = list(synthetic_applications(n, seed, when))
    entries: dict[tuple[str, str, str], Any] = {}
    for raw in applications:
        for kind, key_type, value_hash, hit in planted_list_entries(raw, secret):
            entries[(kind, key_type, value_hash)] = hit
    lookup = MemoryLists(entries)
    # Our own data as the in-process pipeline builds it: each application counted as it opens,
    # in order (IPs are shared between generated applications), no feature job run.
    own = OwnDataReader(MemoryOwnDataRecords())
    rows = []
    for raw in applications:
        app = parse_application(raw)
        subject = subject_of(app, secret)
        facts: dict[str, Any] = {"application_id": app.application_id, **application_facts(app, when)}
        facts.update(list_facts(lookup.find(subject_keys(subject), when)))
        own.record_opening(subject, app.application_id, when)
        facts.update(own.facts(subject, app.application_id, when, when, policy.internal))
        # The label comes from the full picture (every vendor answered), as in training_rows.
        full = dict(facts)
        for vendor in policy.vendors:
            response = simulate(vendor.service, simulation_key(vendor.service, subject)).model_dump()
            consent = vendor.consent_purpose
            skipped = (consent is not None and facts.get(f"consents.{consent.value}") is not True) or any(
                getattr(subject, key) is None for key in SUBJECT_KEYS[vendor.service]
            )
            for name, value in response.items():
                full[f"{vendor.id}.{name}"] = value
                facts[f"{vendor.id}.{name}"] = None if skipped else value
        full.update(compute(full, policy))
        facts[LABEL_COLUMN] = planted_default(full, latent_risk(subject.id_number), rng)
        rows.append(facts)
    return applications, rows, entries
