"""``lendguard demo``: synthetic applications through the real state machine on moto."""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

from lendguard.cases.record import CaseRecord
from lendguard.cases.response import DecisionResponse
from lendguard.core.application import parse_application
from lendguard.core.base_model import Model
from lendguard.core.hashing import keyed_hash
from lendguard.core.stages import STAGE_NAMES, rejecting_stages
from lendguard.offline.synthetic import synthetic_applications
from lendguard.policy.schema import Action, Policy, Pricing
from lendguard.store.secrets import hash_secret
from lendguard.vendors.simulated import simulate

# Where a case can stop: every stage that may reject, then the end of the flow.
STAGE_ORDER = (*rejecting_stages(), STAGE_NAMES[-1])


class DemoReport(Model):
    n: int
    outcomes: dict[str, int]
    funnel: dict[str, int]
    vendor_spend: float
    all_vendor_spend: float
    latency_p50_ms: float
    latency_p95_ms: float
    sample: CaseRecord | None
    # Identity-check rules (own OCR checks, liveness, telco, face, payout card) -> cases they
    # rejected or sent to review.
    identity_checks: dict[str, int] = {}


# The vendor services that check who the applicant is; their groups' rules are identity checks.
IDENTITY_SERVICES = frozenset(
    {"identity_check", "liveness_check", "face_compare", "telco_check", "phone_status", "bank_card_check"}
)


def identity_rules(policy: Policy) -> list[str]:
    """Rule ids of the identity checks that reject or review: admission rules on the kyc facts,
    then the rules of every vendor group that calls an identity service, in flow order."""
    rules = [r for r in policy.admission if any(f.startswith("kyc.") for f in r.compiled.facts)]
    for group in [*policy.groups_before_model, *policy.groups_after_model]:
        if any(policy.vendor_by_id[v].service in IDENTITY_SERVICES for v in group.vendors):
            rules.extend(group.rules)
    # Flags and score points give no reason a case could be counted by.
    return [r.id for r in rules if r.action in (Action.REJECT, Action.REVIEW)]


def seed_lists(
    applications: list[dict], every_black: int = 40, every_grey: int = 33, every_white: int = 97
) -> int:
    """Put a deterministic few of the demo's applicants on the lists; returns how many entries."""
    from lendguard.store.lists import DynamoListStore

    store, secret, now, count = DynamoListStore(), hash_secret(), datetime.now(UTC), 0
    for i, raw in enumerate(applications):
        app = parse_application(raw)
        picks = []
        if i % every_black == 5:
            picks.append(
                ("BLACK", "DEVICE_ID", app.device.device_id, "FRAUD_RING", "device seen in a fraud ring")
            )
        if i % every_black == 25 and app.applicant.bank_card:
            picks.append(
                ("BLACK", "BANK_CARD", app.applicant.bank_card, "STOLEN_CARD", "card reported stolen")
            )
        if i % every_grey == 7:
            picks.append(("GREY", "PHONE", app.applicant.phone, "DISPUTE", "disputed a charge"))
        if i % every_white == 11:
            picks.append(("WHITE", "ID_NUMBER", app.applicant.id_number, "STAFF", "staff member"))
        for kind, key_type, value, code, reason in picks:
            store.put(
                kind, key_type, keyed_hash(key_type, value, secret), code, reason, "manual", "demo", now, None
            )
            count += 1
    return count


def all_vendor_spend(policy: Policy, applications: list[dict]) -> float:
    """What every vendor would have cost had every application called every one."""
    secret, total = hash_secret(), 0.0
    for raw in applications:
        subject_hash = keyed_hash("ID_NUMBER", parse_application(raw).applicant.id_number, secret)
        for vendor in policy.vendors:
            if vendor.pricing is Pricing.PER_QUERY or simulate(vendor.service, subject_hash).is_hit():
                total += vendor.cost
    return round(total, 2)


def plant_device_rings(applications: list[dict], every: int = 50, start: int = 18, size: int = 6) -> int:
    """Make a burst of ``size`` applicants (different ID numbers) share one device every ``every``
    applications, as a fraud ring does; the InternalData stage sees the device's distinct ID
    numbers grow with each and rejects from the fourth on. Returns how many applications share."""
    shared = 0
    for i, raw in enumerate(applications):
        # (positions 18-23 of every 50 never meet seed_lists' black-listed devices, i % 40 == 5)
        if start <= i % every < start + size:
            raw["device"] = {**raw["device"], "device_id": f"demo-ring-device-{i // every}"}
            shared += 1
    return shared


def stopped_at(response: DecisionResponse) -> str:
    for stage in response.stages:
        if stage.outcome == "reject":
            return stage.stage
    return STAGE_NAMES[-1] if response.decision else "failed"


def run_demo(n: int, seed: int, policy: Policy, on_progress: Callable[[], None] = lambda: None) -> DemoReport:
    """Seed the lists, run ``n`` applications through the state machine, and summarise."""
    from lendguard.cases.service import decide
    from lendguard.store.cases import get_case

    applications = list(synthetic_applications(n, seed))
    plant_device_rings(applications)
    seed_lists(applications)
    responses: list[DecisionResponse] = []
    latencies: list[float] = []
    for raw in applications:
        started = time.perf_counter()
        # Sent now: the API decides on its receive time and refuses a submitted_at days old.
        sent = {**raw, "submitted_at": datetime.now(UTC).isoformat()}
        _, response = decide(json.dumps(sent))
        latencies.append((time.perf_counter() - started) * 1000)
        responses.append(response)
        on_progress()
    outcomes = Counter(r.decision or r.status for r in responses)
    funnel = Counter(stopped_at(r) for r in responses)
    sample_response = next((r for r in responses if r.decision == "REVIEW"), None) or next(
        (r for r in responses if r.decision == "APPROVE"), None
    )
    reasons = Counter(reason.code for r in responses for reason in r.reasons)
    q = statistics.quantiles(latencies, n=20) if len(latencies) >= 2 else [latencies[0]] * 19
    return DemoReport(
        n=n,
        outcomes=dict(outcomes),
        funnel={
            stage: funnel.get(stage, 0)
            for stage in (*STAGE_ORDER, "failed")
            if funnel.get(stage) or stage != "failed"
        },
        vendor_spend=round(sum(r.vendor_cost for r in responses), 2),
        all_vendor_spend=all_vendor_spend(policy, applications),
        latency_p50_ms=round(statistics.median(latencies), 1),
        latency_p95_ms=round(q[18], 1),
        sample=get_case(sample_response.case_id) if sample_response else None,
        identity_checks={rule: reasons.get(rule, 0) for rule in identity_rules(policy)},
    )
