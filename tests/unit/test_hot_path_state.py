"""The hot path's short cuts give exactly what the long way gives (issue 19).

The decision flow skips work the application's validation already did (normalising and checking
identifiers) and validation of values it built itself; these tests hold each short cut equal to
the long way. Nothing here is timed: the speed is bench/decision.py's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loan_terms import FEE_TERMS, fees_of, irr_flows, loan_terms, schedule_of

from lendguard.core import cost
from lendguard.core.application import parse_application
from lendguard.core.cost import CostOfCredit, cash_flows, comprehensive_cost, monthly_irr
from lendguard.core.errors import InvalidInput
from lendguard.core.hashing import LOCAL_SECRET, keyed_hash
from lendguard.core.identity import parse_resident_id, parts_of_valid_id
from lendguard.core.schedule import build_schedule
from lendguard.core.trusted import trusted
from lendguard.decision.stages import validate
from lendguard.decision.state import DecisionState, Reason, StageTrace, Subject, VendorCall
from lendguard.lists.keys import KeyType, hash_value
from lendguard.offline.synthetic import synthetic_applications
from lendguard.vendors import caller

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _long_way(app, secret: str) -> Subject:
    """Every identifier through the lists' own normalisation, as list entries are written."""
    return Subject(
        id_number=hash_value(KeyType.ID_NUMBER, app.applicant.id_number, secret),
        phone=hash_value(KeyType.PHONE, app.applicant.phone, secret),
        device_id=hash_value(KeyType.DEVICE_ID, app.device.device_id, secret),
        ip=hash_value(KeyType.IP, str(app.device.ip), secret),
        bank_card=hash_value(KeyType.BANK_CARD, app.applicant.bank_card, secret)
        if app.applicant.bank_card
        else None,
        liveness_session=validate.subject_of(app, secret).liveness_session,
    )


@pytest.mark.parametrize(
    ("device_id", "ip", "phone", "card"),
    [
        ("AbC-123:x.Y_z", "203.0.113.9", "+86 138-0013-8000", "6222 0202 0011 2233 446"),
        ("device-0001", "::ffff:198.51.100.7", "008613800138000", None),  # IPv4-mapped IPv6
        ("DEVICE", "2001:DB8::0:1", "(138) 0013 8000", "6222-0202-0011-2233-446"),
    ],
)
def test_the_subject_hashes_what_the_lists_normalisation_hashes(examples, device_id, ip, phone, card):
    raw = dict(examples["approve"])
    raw["device"] = {**raw["device"], "device_id": device_id, "ip": ip}
    raw["applicant"] = {**raw["applicant"], "phone": phone, "bank_card": card}
    raw["applicant"]["id_number"] = raw["applicant"]["id_number"].lower() + " "
    app = parse_application(raw)
    assert validate.subject_of(app, LOCAL_SECRET) == _long_way(app, LOCAL_SECRET)


def test_the_subject_of_synthetic_and_example_applications(examples):
    apps = [parse_application(raw) for raw in synthetic_applications(300, seed=5)]
    for raw in examples.values():
        try:
            apps.append(parse_application(raw))
        except InvalidInput:  # the examples of refused applications
            continue
    for app in apps:
        fast = validate.subject_of(app, "another-secret")
        assert fast == _long_way(app, "another-secret")
        assert fast.model_fields_set == {*Subject.model_fields}


@pytest.mark.parametrize("secret", ["s", LOCAL_SECRET, "k" * 64, "long" * 40, "é" * 40])
def test_the_keyed_hash_is_hmac_sha256(secret):
    for key_type, value in [("phone", "13800138000"), ("ID_NUMBER", "110101199003070011"), ("IP", "")]:
        expected = hmac.new(secret.encode(), f"{key_type.upper()}:{value}".encode(), hashlib.sha256)
        assert keyed_hash(key_type, value, secret) == expected.hexdigest()


def test_the_parts_of_a_valid_id_are_what_parsing_gives():
    for raw in synthetic_applications(200, seed=3):
        number = parse_application(raw).applicant.id_number
        assert parts_of_valid_id(number) == parse_resident_id(number, date(2026, 11, 22))


def test_a_trusted_state_is_the_validated_state(examples, default_policy):
    app = parse_application(examples["review"], default_policy.products)
    state = validate.open_case(app, default_policy, "C-1", NOW, LOCAL_SECRET)
    validated = DecisionState(
        case_id="C-1", application=app.model_dump(mode="json"), received_at=NOW, policy=default_policy.ref,
        subject=validate.subject_of(app, LOCAL_SECRET), facts=validate.application_facts(app, NOW),
    )  # fmt: skip
    validated.trace.stages.append(StageTrace(stage="validate", elapsed_ms=0.0))
    assert state == validated
    assert state.model_fields_set == validated.model_fields_set
    assert state.model_dump_json() == validated.model_dump_json()
    assert json.dumps(state.model_dump(exclude_unset=True), default=str) == json.dumps(
        validated.model_dump(exclude_unset=True), default=str
    )
    assert DecisionState.model_validate_json(state.model_dump_json()) == state


def test_trusted_defaults_are_fresh_per_instance():
    a = trusted(Reason, code="R", message="m")
    assert a == Reason(code="R", message="m") and a.model_fields_set == {"code", "message"}
    subject = Subject(id_number="i", phone="p", device_id="d")
    one = trusted(DecisionState, case_id="1", application={}, received_at=NOW, policy={}, subject=subject)
    two = trusted(DecisionState, case_id="2", application={}, received_at=NOW, policy={}, subject=subject)
    one.reasons.append(a)
    one.trace.rules.append(None)  # type: ignore[arg-type]
    assert two.reasons == [] and two.trace.rules == []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**loan_terms(), **FEE_TERMS, annualisation=st.sampled_from(["irr_x12", "compounded"]))
def test_the_disclosed_cost_is_the_bisections_rounded(
    cents, months, apr, method, upfront, monthly_fee, annualisation
):
    schedule = schedule_of(cents, months, apr, method, fees_of(upfront, monthly_fee))
    flows = irr_flows(schedule)
    if flows is None:
        return
    assert cost._disclosed_irr(flows, annualisation) == cost._disclosed(monthly_irr(flows), annualisation)
    built = comprehensive_cost(schedule, annualisation)
    assert built == CostOfCredit.model_validate(built.model_dump())


@pytest.mark.parametrize("annualisation", ["irr_x12", "compounded"])
def test_a_cost_on_a_rounding_boundary_takes_the_bisection(annualisation, monkeypatch):
    # A monthly IRR of exactly 0.012345675 sits on the 8-place boundary: the bracket straddles it.
    flows = [Decimal(100), Decimal("-101.2345675")]
    ran = []
    monkeypatch.setattr(cost, "monthly_irr", lambda f: ran.append(f) or monthly_irr(f))
    assert cost._disclosed_irr(flows, annualisation) == cost._disclosed(monthly_irr(flows), annualisation)
    assert ran == [flows]
    ran.clear()
    cost._disclosed_irr([Decimal(100), Decimal("-101.5")], annualisation)
    assert ran == []  # far from any boundary: no bisection


def test_a_schedule_from_a_midnight_datetime_is_dated():
    at_midnight = datetime(2026, 1, 31, tzinfo=UTC)
    schedule = build_schedule(Decimal(1000), Decimal("0.24"), 3, at_midnight)  # type: ignore[arg-type]
    assert schedule == build_schedule(Decimal(1000), Decimal("0.24"), 3, date(2026, 1, 31))
    assert type(schedule.start_date) is date


def test_a_trusted_model_is_in_field_order_whatever_the_order_given():
    given = {"stage": "lists", "outcome": "reject", "detail": "x", "elapsed_ms": 1.5}
    built = trusted(StageTrace, **given)
    assert list(built.__dict__) == list(StageTrace.model_fields)
    assert built.model_dump_json() == StageTrace(**given).model_dump_json()
    partial = trusted(StageTrace, elapsed_ms=0.0, stage="lists")
    assert partial.model_dump_json() == StageTrace(stage="lists", elapsed_ms=0.0).model_dump_json()
    assert partial.model_fields_set == {"stage", "elapsed_ms"}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    **loan_terms(max_cents=100_000_000, max_months=60),
    upfront=FEE_TERMS["upfront"],
    offset=st.sampled_from(["0", "1e-15", "-1e-15", "1e-12", "-1e-12", "1e-9", "-1e-9", "0.01", "-0.01"]),
)
def test_a_float_sign_never_contradicts_the_exact_present_value(cents, months, apr, method, upfront, offset):
    schedule = schedule_of(cents, months, apr, method, fees_of(upfront))
    flows = irr_flows(schedule)
    if flows is None:
        return
    rate = monthly_irr(flows) + Decimal(offset)  # at, just beside and well away from the root
    sign = cost._npv_sign([float(f) for f in flows], float(rate))
    exact = cost.npv(flows, Decimal(float(rate)))
    assert sign == 0 or (sign > 0) == (exact > 0)
    for cap in (Decimal("0.24"), Decimal("0.36"), Decimal(rate * 12).quantize(Decimal("1e-4"))):
        for annualisation in ("irr_x12", "compounded"):
            expected = cost.npv(flows, cost.monthly_rate_of(cap, annualisation)) >= 0
            assert cost.within_cap(schedule, cap, annualisation) is expected


def test_a_cost_on_the_cap_is_decided_exactly():
    # Half-up rounding alone makes 500 over 3 months at a nominal 36% cost 36.0056% (IRR x 12).
    schedule = build_schedule(Decimal(500), Decimal("0.36"), 3, date(2026, 1, 31))
    assert not cost.within_cap(schedule, Decimal("0.36"), "irr_x12")
    assert cost.within_cap(schedule, Decimal("0.360056"), "irr_x12")
    flows = cash_flows(schedule)
    at = cost.monthly_irr(flows)
    assert cost._npv_sign([float(f) for f in flows], float(at)) == 0  # too close: left to Decimal


def test_scorecard_lines_are_what_validation_makes(default_scorecard, default_policy):
    from lendguard.decision.pipeline import Pipeline
    from lendguard.decision.stages.scoring import SCORECARD_STAGE
    from lendguard.decision.state import RuleTrace

    model = default_scorecard.metadata
    policy = default_policy.model_copy(
        update={
            "scoring": default_policy.scoring.model_copy(
                update={"model": {"id": model.model_id, "version": model.version}}
            )
        }
    )
    pipeline = Pipeline(policy, default_scorecard, LOCAL_SECRET)
    seen = 0
    for i, raw in enumerate(synthetic_applications(60, seed=9)):
        state = pipeline.decide(parse_application(raw, policy.products), f"C-{i}", NOW)
        for entry in (r for r in state.trace.rules if r.stage == SCORECARD_STAGE):
            validated = RuleTrace(**entry.model_dump(exclude_unset=True))
            assert entry == validated and entry.model_fields_set == validated.model_fields_set
            assert entry.model_dump_json() == validated.model_dump_json()
            seen += 1
    assert seen > 0


_TEXT = st.one_of(st.none(), st.text(max_size=20))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    status=st.sampled_from(["ok", "error", "skipped"]),
    cost=st.one_of(st.integers(0, 10**6), st.floats(0, 1e6, allow_nan=False)),
    latency=st.one_of(st.integers(0, 10**5), st.floats(0, 1e5, allow_nan=False)),
    flags=st.tuples(st.booleans(), st.booleans(), st.booleans()),
    attempts=st.integers(0, 5),
    texts=st.tuples(_TEXT, _TEXT, _TEXT, _TEXT),
)
def test_a_vendor_calls_trace_entry_is_what_validation_makes(status, cost, latency, flags, attempts, texts):
    draft = caller.draft_entry("v1", "g", "fraud_score")
    draft.update(status=status, cost=cost, latency_ms=latency, attempts=attempts)
    draft.update(zip(("cache_hit", "billed", "replayed"), flags, strict=True))
    draft.update(zip(("payload_ref", "detail", "source_case_id", "error_type"), texts, strict=True))
    validated = VendorCall.model_validate(dict(draft))
    built = caller.trace_entry(dict(draft))
    assert built == validated
    assert built.model_dump_json() == validated.model_dump_json()
    assert built.model_fields_set == validated.model_fields_set
    assert list(built.__dict__) == list(validated.__dict__)  # the order the serialiser writes
    assert [type(v) for v in built.__dict__.values()] == [type(v) for v in validated.__dict__.values()]
