"""``lendguard.store.daily`` on moto: atomic per-day counters, shards, at-most-once, sets, TTL."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from lendguard import deployment

DAY = date(2026, 11, 29)


@pytest.fixture
def table(monkeypatch) -> Iterator[str]:
    """A moto daily table as ``deployment.TABLES`` declares it."""
    from moto import mock_aws

    from lendguard.store import aws

    spec = next(t for t in deployment.TABLES if t.env_var == deployment.ENV_DAILY_TABLE)
    # A name of its own: nothing another test left in moto can be counted here.
    name = f"lendguard-test-daily-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(spec.env_var, name)
    with mock_aws():
        aws.reset_clients()
        assert spec.sort_key is not None
        aws.client("dynamodb").create_table(
            TableName=name,
            KeySchema=[{"AttributeName": spec.partition_key, "KeyType": "HASH"},
                       {"AttributeName": spec.sort_key, "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": spec.partition_key, "AttributeType": "S"},
                                  {"AttributeName": spec.sort_key, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )  # fmt: skip
        yield name
    aws.reset_clients()


def test_counters_add_up_over_shards_and_days(table):
    from lendguard.store import daily

    for i in range(40):
        daily.increment(
            "rules", "all", DAY, {"cases": 1, "A|hit": i % 2, "odd name with spaces": 2}, shard_by=f"C{i}"
        )
    daily.increment("rules", "all", DAY + timedelta(days=2), {"cases": 5})
    daily.increment("rules", "other", DAY, {"cases": 100})
    items = daily.client("dynamodb").scan(TableName=table)["Items"]
    assert (
        len({i["sk"]["S"] for i in items if i["pk"]["S"].startswith("rules#all#2026-11-29")}) > 1
    )  # sharded
    counters = daily.read_counters("rules", "all", DAY - timedelta(days=1), DAY + timedelta(days=3))
    assert counters == {
        DAY: {"cases": 40, "A|hit": 20, "odd name with spaces": 80},
        DAY + timedelta(days=2): {"cases": 5},
    }


def test_many_counters_are_split_over_items_and_still_read_whole(table):
    from lendguard.store import daily

    counts = {f"RULE_{i:03d}|evaluated": 1 for i in range(400)}
    daily.increment("rules", "all", DAY, counts, shard_by="C1")
    daily.increment("rules", "all", DAY, counts, shard_by="C1")
    assert daily.read_counters("rules", "all", DAY, DAY)[DAY] == dict.fromkeys(counts, 2)


def test_once_key_counts_a_retried_writer_once(table):
    from lendguard.store import daily

    assert daily.increment("rules", "all", DAY, {"cases": 1}, shard_by="C1", once_key="C1") is True
    assert daily.increment("rules", "all", DAY, {"cases": 1}, shard_by="C1", once_key="C1") is False
    assert daily.increment("rules", "all", DAY, {"cases": 1}, shard_by="C2", once_key="C2") is True
    assert daily.read_counters("rules", "all", DAY, DAY)[DAY] == {"cases": 2}


def test_sets_union_over_days_and_expired_items_are_ignored(table):
    from lendguard.store import daily

    daily.add_to_set("velocity", "phone-hash", DAY, ["dev1", "dev2"], ttl_days=30)
    daily.add_to_set("velocity", "phone-hash", DAY + timedelta(days=1), ["dev2", "dev3"], ttl_days=30)
    assert daily.read_set("velocity", "phone-hash", DAY, DAY + timedelta(days=1)) == {"dev1", "dev2", "dev3"}
    old = date.fromtimestamp(time.time()) - timedelta(days=10)
    daily.add_to_set("velocity", "phone-hash", old, ["gone"], ttl_days=1)  # expired; moto never deletes it
    daily.increment("velocity", "phone-hash", old, {"applications": 3}, ttl_days=1)
    assert daily.read_set("velocity", "phone-hash", old, old) == set()
    assert daily.read_counters("velocity", "phone-hash", old, old) == {}


def test_bad_ranges_and_keys_are_refused(table):
    from lendguard.store import daily

    with pytest.raises(ValueError, match="at most"):
        daily.read_counters("rules", "all", DAY - timedelta(days=daily.MAX_DAYS), DAY)
    with pytest.raises(ValueError, match="before"):
        daily.read_counters("rules", "all", DAY, DAY - timedelta(days=1))
    with pytest.raises(ValueError, match="#"):
        daily.increment("rules", "a#b", DAY, {"cases": 1})
    with pytest.raises(ValueError, match="reserved"):
        daily.increment("rules", "all", DAY, {"pk": 1})
