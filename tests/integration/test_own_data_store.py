"""``lendguard.store.own_data`` on moto: velocity counters and sets, case history, features,
TTL attributes, at most once per case, and never a Scan."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from lendguard import deployment

DAY = date(2026, 11, 29)
NOW = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)
OWN_TABLES = (deployment.ENV_DAILY_TABLE, deployment.ENV_CUSTOMER_FEATURES_TABLE, deployment.ENV_LOAN_EVENTS_TABLE,
              deployment.ENV_CASES_TABLE)  # fmt: skip


@pytest.fixture
def tables(monkeypatch) -> Iterator[list[str]]:
    """The tables our own data lives in, as ``deployment.TABLES`` declares them; a Scan fails."""
    from moto import mock_aws

    from lendguard.store import aws
    from lendguard.store.tables import create_table

    suffix = uuid.uuid4().hex[:8]
    with mock_aws():
        aws.reset_clients()
        names = []
        for spec in deployment.TABLES:
            if spec.env_var in OWN_TABLES:
                monkeypatch.setenv(spec.env_var, f"lendguard-test-{spec.logical_id}-{suffix}")
                names.append(create_table(spec))

        def no_scan(**_kwargs):
            raise AssertionError("own data must be read by key, never with a Scan")

        aws.client("dynamodb").meta.events.register("before-call.dynamodb.Scan", no_scan)
        yield names
    aws.reset_clients()


def _items(table: str) -> list[dict]:
    from moto.backends import get_backend

    backend = get_backend("dynamodb")["123456789012"]["us-east-1"]
    return [item.to_json()["Attributes"] for item in backend.get_table(table).all_items()]


def test_velocity_counts_once_per_case_with_ttl_and_reads_by_key(tables):
    from lendguard.store import own_data

    keys = {"id_number": "h-id", "phone": "h-ph", "device": "h-dev", "ip": "h-ip"}
    assert own_data.count_opening(keys, "h-id", "C1", DAY)
    assert not own_data.count_opening(keys, "h-id", "C1", DAY)  # a retried validate adds nothing
    own_data.count_opening({**keys, "id_number": "h-id2"}, "h-id2", "C2", DAY)
    own_data.count_opening(keys, "h-id", "C3", DAY - timedelta(days=3))
    counts, ids = own_data.velocity(keys, [DAY - timedelta(days=i) for i in range(29, -1, -1)])
    assert counts["device"] == {DAY: 2, DAY - timedelta(days=3): 1}
    assert counts["id_number"] == {DAY: 1, DAY - timedelta(days=3): 1}
    assert ids["device"] == {DAY: {"h-id", "h-id2"}, DAY - timedelta(days=3): {"h-id"}}
    assert set(ids) == {"device", "ip"}  # sets only for identifiers that can be shared
    daily_table = next(n for n in tables if "DailyTable" in n)
    velocity_items = [i for i in _items(daily_table) if i["pk"]["S"].startswith("vel")]
    # Every counter and set item expires (DynamoDB TTL); the last day's counters a month on.
    assert velocity_items and all("expires_at" in i for i in velocity_items)
    expiry = max(int(i["expires_at"]["N"]) for i in velocity_items)
    end_of_day = datetime(2026, 11, 30, tzinfo=UTC).timestamp()
    assert expiry == int(end_of_day) + 32 * 86_400


def test_expired_items_are_not_read(tables):
    from lendguard.store import own_data

    old = date(2020, 1, 1)
    own_data.count_opening({"device": "h-dev"}, "h-id", "C1", old)  # expired years ago, TTL is lazy
    counts, ids = own_data.velocity({"device": "h-dev"}, [old])
    assert counts == {"device": {}} and ids == {"device": {}}


def test_the_scan_guard_is_live(tables):
    from lendguard.store import daily

    with pytest.raises(AssertionError, match="never with a Scan"):
        daily.client("dynamodb").scan(TableName=tables[0])


def test_history_loans_and_features_through_the_reader(tables, default_policy):
    from lendguard.decision.state import Subject
    from lendguard.internal.features import FeatureRow
    from lendguard.internal.history import PastCase
    from lendguard.internal.source import OwnDataReader
    from lendguard.outcomes.events import LoanEvent
    from lendguard.store import outcomes, own_data

    reader = OwnDataReader(own_data.DynamoOwnDataRecords())
    subject = Subject(id_number="h-id", phone="h-ph", device_id="h-dev", ip="h-ip")
    earlier = PastCase(case_id="OLD", received_at=NOW - timedelta(days=40), decision="APPROVE")
    reader.record_decided(subject, earlier)
    reader.record_decided(subject, earlier)  # a retried finalize: a set member, counted once
    drawn = (NOW - timedelta(days=39)).date()
    outcomes.put_event(LoanEvent(event_id="e1", case_id="OLD", loan_id="L1", type="drawn", date=drawn,
                                 amount=Decimal(2000)))  # fmt: skip
    outcomes.put_event(LoanEvent(event_id="e2", case_id="OLD", loan_id="L1", type="overdue",
                                 date=(NOW - timedelta(days=2)).date(), days_past_due=5))  # fmt: skip
    own_data.put_feature_rows([FeatureRow(customer="h-id", computed_at=NOW - timedelta(hours=3),
                                          values={"lifetime_cases": 1, "max_dpd_ever": 7})])  # fmt: skip
    own_data.put_run_marker(NOW - timedelta(hours=3), 1)
    reader.record_opening(subject, "NEW", NOW)
    facts = reader.facts(subject, "NEW", NOW, NOW, default_policy.internal)
    assert facts["internal.previous_cases"] == 1 and facts["internal.previous_approvals"] == 1
    assert facts["internal.loans_overdue"] == 1 and facts["internal.max_days_past_due"] == 7
    assert facts["internal.apps_id_number_1d"] == 1 and facts["internal.ids_on_ip_30d"] == 1
    assert facts["customer.features_fresh"] is True and facts["customer.max_dpd_ever"] == 7
    assert facts["customer.feature_age_hours"] == 3
    features_table = next(n for n in tables if "CustomerFeaturesTable" in n)
    rows = [i for i in _items(features_table) if i["customer"]["S"] == "h-id"]
    assert rows and "expires_at" in rows[0] and rows[0]["computed_at"]["S"].startswith("2026-11-29T01:00")
