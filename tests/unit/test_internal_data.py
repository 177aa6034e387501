"""Our own data: velocity windows, history, loans, feature freshness, and the InternalData stage."""

from __future__ import annotations

import copy
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from lendguard.core.application import parse_application
from lendguard.core.errors import InvalidInput, PolicyError
from lendguard.core.facts import CUSTOMER_FEATURE_FIELDS
from lendguard.core.hashing import LOCAL_SECRET
from lendguard.decision.pipeline import Pipeline
from lendguard.decision.suite import parse_suite, run_suite
from lendguard.internal.features import FeatureRead, FeatureRow, compute_row, feature_facts
from lendguard.internal.history import PastCase, history_facts, loan_facts, may_have_loans, previous
from lendguard.internal.source import AssumedOwnData, MemoryOwnDataRecords, OwnDataReader
from lendguard.internal.velocity import local_day, velocity_facts
from lendguard.offline.synthetic import synthetic_applications
from lendguard.outcomes.snapshot import LoanSnapshot
from lendguard.policy.loader import load_policy_data

TODAY = date(2026, 11, 22)
NOW = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


def test_windows_count_today_and_the_days_before_it():
    counts = {"id_number": {TODAY: 2, TODAY - timedelta(days=6): 1, TODAY - timedelta(days=7): 4,
                            TODAY - timedelta(days=29): 1, TODAY - timedelta(days=30): 9},
              "phone": {}, "device": {TODAY: 1}, "ip": None}  # fmt: skip
    ids = {"device": {TODAY: {"a"}, TODAY - timedelta(days=3): {"a", "b"}, TODAY - timedelta(days=20): {"c"}},
           "ip": None}  # fmt: skip
    facts = velocity_facts(counts, ids, TODAY)
    assert [facts[f"internal.apps_id_number_{w}d"] for w in (1, 7, 30)] == [2, 3, 8]
    assert [facts[f"internal.apps_phone_{w}d"] for w in (1, 7, 30)] == [0, 0, 0]
    assert [facts[f"internal.ids_on_device_{w}d"] for w in (1, 7, 30)] == [1, 2, 3]
    # No IP on the application (or unreadable): missing, not zero.
    assert facts["internal.apps_ip_30d"] is None and facts["internal.ids_on_ip_1d"] is None


def test_days_are_the_borrowers_calendar_days():
    assert local_day(datetime(2026, 11, 22, 15, 59, tzinfo=UTC)) == date(2026, 11, 22)
    assert local_day(datetime(2026, 11, 22, 16, 0, tzinfo=UTC)) == date(2026, 11, 23)


def _case(case_id: str, hours_ago: float, decision: str, *reasons: str) -> PastCase:
    return PastCase(case_id=case_id, received_at=NOW - timedelta(hours=hours_ago), decision=decision,
                    reasons=list(reasons))  # fmt: skip


def test_history_is_the_earlier_cases_of_the_id_number_latest_first():
    stored = [_case("C1", 24 * 40, "APPROVE"), _case("C2", 24 * 5, "REJECT", "BUR_MULTI_LENDER_7D", "X"),
              _case("C3", 24 * 2, "REVIEW"), _case("ME", 0, "APPROVE"), _case("LATER", -1, "REJECT", "Y")]  # fmt: skip
    past = previous(stored, "ME", NOW)
    assert [c.case_id for c in past] == ["C3", "C2", "C1"]
    facts = history_facts(past, TODAY)
    assert facts == {
        "internal.previous_cases": 3, "internal.previous_approvals": 1, "internal.previous_rejects": 1,
        "internal.last_reject_reason": "BUR_MULTI_LENDER_7D", "internal.days_since_last_reject": 5,
    }  # fmt: skip
    assert may_have_loans(past, 10) == ["C3", "C1"] and may_have_loans(past, 1) == ["C3"]
    assert history_facts([], TODAY)["internal.days_since_last_reject"] is None


def test_a_case_survives_its_round_trip_through_a_set_member():
    case = _case("C-9", 3, "REJECT", "INT_DEVICE_SHARED", "LST_BLACK")
    assert PastCase.from_member(case.member()) == case


def _loan(status: str, dpd: int = 0, loan_id: str = "L1") -> LoanSnapshot:
    return LoanSnapshot(case_id="C1", loan_id=loan_id, as_of=TODAY, status=status, days_past_due=dpd,
                        drawn_on=TODAY - timedelta(days=90) if status != "NOT_DRAWN" else None,
                        principal_drawn=Decimal(1000) if status != "NOT_DRAWN" else Decimal(0))  # fmt: skip


def test_loans_in_good_standing_overdue_and_repaid():
    loans = [_loan("CURRENT"), _loan("SETTLED"), _loan("OVERDUE", 12), _loan("CHARGED_OFF", 120),
             _loan("NOT_DRAWN")]  # fmt: skip
    assert loan_facts(loans) == {
        "internal.loans": 4, "internal.loans_good_standing": 2, "internal.loans_overdue": 1,
        "internal.loans_repaid": 1, "internal.loans_charged_off": 1, "internal.max_days_past_due": 120,
        "internal.repeat_customer": True,
    }  # fmt: skip
    assert loan_facts([])["internal.repeat_customer"] is False


def test_feature_freshness():
    fresh_row = FeatureRow(customer="h", computed_at=NOW - timedelta(hours=5), values={"max_dpd_ever": 40})
    stale = feature_facts(None, NOW, 36)
    assert stale["customer.features_fresh"] is False and stale["customer.max_dpd_ever"] is None
    # The job has not run within the maximum age: a customer without a row is not "new", but unknown.
    old_run = feature_facts(FeatureRead(run_at=NOW - timedelta(hours=37)), NOW, 36)
    assert old_run["customer.features_fresh"] is False and old_run["customer.lifetime_cases"] is None
    new_customer = feature_facts(FeatureRead(run_at=NOW - timedelta(hours=2)), NOW, 36)
    assert new_customer["customer.features_fresh"] is True
    assert all(new_customer[f"customer.{n}"] == 0 for n in CUSTOMER_FEATURE_FIELDS)
    row = feature_facts(FeatureRead(row=fresh_row, run_at=NOW - timedelta(hours=5)), NOW, 36)
    assert row["customer.max_dpd_ever"] == 40 and row["customer.feature_age_hours"] == 5
    old_row = fresh_row.model_copy(update={"computed_at": NOW - timedelta(hours=40)})
    aged = feature_facts(FeatureRead(row=old_row, run_at=NOW - timedelta(hours=1)), NOW, 36)
    assert aged["customer.features_fresh"] is False and aged["customer.max_dpd_ever"] is None
    assert aged["customer.feature_age_hours"] == 40


def test_the_feature_job_row():
    loans = [_loan("SETTLED"), _loan("OVERDUE", 12, "L2")]
    row = compute_row("h", [("C1", "APPROVE"), ("C2", "REJECT")], loans, NOW)
    assert row.values == {
        "lifetime_cases": 2, "lifetime_rejects": 1, "loans_drawn": 2, "total_drawn": 2000.0,
        "total_repaid": 0.0, "max_dpd_ever": 0, "months_since_first_loan": 2,
    }  # fmt: skip


def _burst(n: int, device: str = "burst-device-1") -> list[dict]:
    apps = list(synthetic_applications(n, 11, NOW))
    for i, app in enumerate(apps):
        app["application_id"] = f"BURST-{i}"
        app["device"]["device_id"] = device
        app["device"]["ip"] = f"198.51.100.{i + 1}"
        app["submitted_at"] = NOW.isoformat()
        app.pop("kyc", None)  # its planted OCR mismatches would stop some at admission, before us
    return apps


def test_a_burst_from_one_device_is_rejected_from_the_fourth_id_number(default_policy, default_model):
    pipeline = Pipeline(default_policy, default_model, LOCAL_SECRET)
    states = [
        pipeline.decide(parse_application(app, default_policy.products), f"C-{i}", NOW)
        for i, app in enumerate(_burst(6))
    ]
    seen = [s.facts["internal.ids_on_device_30d"] for s in states]
    assert seen == [1, 2, 3, 4, 5, 6]
    shared = ["INT_DEVICE_SHARED" in {r.code for r in s.reasons} for s in states]
    assert shared == [False, False, False, True, True, True]
    assert all(s.halted_at == "internal_data" for s in states[3:])
    # Rejected before any vendor is paid.
    assert all(s.vendor_cost == 0 and not s.trace.vendors for s in states[3:])


def test_repeat_customer_history_and_loans_come_from_the_records(default_policy):
    records = MemoryOwnDataRecords()
    own = OwnDataReader(records)
    app = parse_application(
        copy.deepcopy(next(iter(synthetic_applications(1, 3, NOW)))), default_policy.products
    )
    from lendguard.decision.stages.validate import subject_of
    from lendguard.outcomes.events import LoanEvent

    subject = subject_of(app, LOCAL_SECRET)
    own.record_decided(subject, _case("OLD-1", 24 * 60, "APPROVE"))
    own.record_decided(subject, _case("OLD-2", 24 * 10, "REJECT", "BUR_MULTI_LENDER_7D"))
    drawn = TODAY - timedelta(days=50)
    records.events["OLD-1"] = [
        LoanEvent(
            event_id="e1", case_id="OLD-1", loan_id="L1", type="drawn", date=drawn, amount=Decimal(1000)
        ),
        LoanEvent(
            event_id="e2", case_id="OLD-1", loan_id="L1", type="settled", date=drawn + timedelta(days=30)
        ),
    ]
    own.record_opening(subject, "NEW", NOW)
    facts = own.facts(subject, "NEW", NOW, NOW, default_policy.internal)
    assert facts["internal.previous_cases"] == 2 and facts["internal.previous_rejects"] == 1
    assert facts["internal.days_since_last_reject"] == 10
    assert facts["internal.loans_repaid"] == 1 and facts["internal.loans_good_standing"] == 1
    assert facts["internal.repeat_customer"] is True and facts["internal.apps_id_number_1d"] == 1
    # A retried validate of the same case counts nothing twice.
    own.record_opening(subject, "NEW", NOW)
    assert own.facts(subject, "NEW", NOW, NOW, default_policy.internal)["internal.apps_phone_1d"] == 1


class _Broken(MemoryOwnDataRecords):
    def velocity(self, keys, days):
        raise ConnectionError("down")


def test_unreadable_own_data_is_missing_and_the_rules_on_missing_decide(default_policy):
    own = OwnDataReader(_Broken())
    app = parse_application(next(iter(synthetic_applications(1, 4, NOW))), default_policy.products)
    from lendguard.decision.stages.validate import subject_of

    facts = own.facts(subject_of(app, LOCAL_SECRET), "C", NOW, NOW, default_policy.internal)
    assert facts["internal.ids_on_device_30d"] is None and facts["internal.previous_cases"] == 0


@pytest.mark.parametrize(
    ("on_missing", "decision", "halted"), [("review", "REVIEW", None), ("reject", "REJECT", "internal_data")]
)
def test_stale_features_apply_the_policys_on_missing(
    default_policy, default_model, examples, on_missing, decision, halted
):
    policy = default_policy.model_copy(
        update={"internal": default_policy.internal.model_copy(update={"features_on_missing": on_missing})}
    )
    # No feature job has run in memory: the features are stale.
    state = Pipeline(policy, default_model, LOCAL_SECRET).decide(
        parse_application(examples["approve"], policy.products), "C-1", NOW
    )
    assert state.facts["customer.features_fresh"] is False
    codes = {r.code for r in (*state.reasons, *state.review_reasons)}
    assert "INTERNAL_FEATURES_STALE" in codes and state.decision == decision and state.halted_at == halted


def test_a_rule_before_internal_data_cannot_read_own_data(default_policy):
    data = default_policy.model_dump(mode="json", exclude_none=True)
    data["lists"].append({"id": "LST_EARLY", "description": "d", "expression": "internal.apps_ip_1d > 2",
                          "action": "review", "reason": "r"})  # fmt: skip
    with pytest.raises(PolicyError, match=re.escape("LST_EARLY in lists reads 'internal.apps_ip_1d'")):
        load_policy_data(data)


def test_a_suite_may_only_assume_facts_of_our_own_data(default_policy, default_model, examples):
    suite = parse_suite(
        "cases:\n  - name: x\n    internal: {internal.not_a_fact: 1}\n    expect: {decision: APPROVE}\n"
    )
    with pytest.raises(InvalidInput) as err:
        run_suite(default_policy, default_model, suite, LOCAL_SECRET)
    assert err.value.details[0].field == "tests.cases.0.internal.internal.not_a_fact"
    with pytest.raises(ValueError):
        AssumedOwnData({"lists.black.any": True})


def test_the_semantic_diff_covers_own_data_rules_and_settings(default_policy):
    from lendguard.policy.diff import diff_policies

    data = default_policy.model_dump(mode="json", exclude_none=True)
    data["version"] = 2
    data["internal"]["features_max_age_hours"] = 12
    data["internal_data"][0]["params"]["max_ids"] = 5
    changes = diff_policies(default_policy, load_policy_data(data)).sections()
    assert [(c.path, c.old, c.new) for c in changes["internal"]] == [
        ("internal.features_max_age_hours", 36, 12)
    ]
    (rule_change,) = changes["internal_data"]
    assert "INT_DEVICE_SHARED" in rule_change.path and (rule_change.old, rule_change.new) == (3, 5)


def test_existing_policies_without_own_data_sections_still_load(default_policy):
    data = default_policy.model_dump(mode="json", exclude_none=True)
    del data["internal_data"], data["internal"]
    data["borrower_reasons"]["codes"] = {
        k: v for k, v in data["borrower_reasons"]["codes"].items() if not k.startswith("INT_")
    }
    policy = load_policy_data(data)
    assert policy.internal_data == [] and policy.internal.features_on_missing == "skip"


def test_the_memory_records_read_only_the_days_asked_for():
    from lendguard.internal.velocity import window_days

    records = MemoryOwnDataRecords()
    old, recent = TODAY - timedelta(days=400), TODAY - timedelta(days=3)
    for day, case_id in ((old, "OLD"), (recent, "RECENT"), (TODAY, "NOW")):
        records.count_opening({"device": "dev", "phone": "ph"}, "id", case_id, day)
        records.add_case("id", day, _case(case_id, 0, "APPROVE"))
    year = window_days(TODAY, 365)
    assert (len(year), year[0], year[-1]) == (365, TODAY - timedelta(days=364), TODAY)
    year.append(TODAY)  # a caller's list is its own: the next window is built as before
    assert window_days(TODAY, 365)[-2:] == [TODAY - timedelta(days=1), TODAY]
    assert {c.case_id for c in records.past_cases("id", year)} == {"RECENT", "NOW"}
    assert records.past_cases("someone-else", year) == []
    counts, ids = records.velocity({"device": "dev", "phone": "ph"}, window_days(TODAY))
    assert counts == {"device": {recent: 1, TODAY: 1}, "phone": {recent: 1, TODAY: 1}}
    assert ids == {"device": {recent: {"id"}, TODAY: {"id"}}}
    assert list(counts["device"]) == [recent, TODAY]  # oldest first, as a per-day read returns them
