"""``lendguard.store.tables`` builds each declared table on moto with the declared keys, GSIs and TTL."""

from __future__ import annotations

import pytest
from moto import mock_aws

from lendguard import deployment
from lendguard.store import aws
from lendguard.store.tables import create_table, create_tables, table_spec


@pytest.fixture
def moto_tables(monkeypatch):
    for spec in deployment.TABLES:
        monkeypatch.setenv(spec.env_var, f"tables-it-{spec.logical_id}")
    aws.reset_clients()
    with mock_aws():
        yield aws.client("dynamodb")
    aws.reset_clients()


def test_every_declared_table_has_its_keys_indexes_and_ttl(moto_tables):
    names = create_tables()
    assert names == [f"tables-it-{spec.logical_id}" for spec in deployment.TABLES]
    for spec, name in zip(deployment.TABLES, names, strict=True):
        table = moto_tables.describe_table(TableName=name)["Table"]
        keys = {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]}
        assert keys == {"HASH": spec.partition_key, **({"RANGE": spec.sort_key} if spec.sort_key else {})}
        indexes = {
            i["IndexName"]: tuple(k["AttributeName"] for k in i["KeySchema"])
            for i in table.get("GlobalSecondaryIndexes", [])
        }
        assert indexes == spec.global_indexes
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        ttl = moto_tables.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if spec.ttl_attribute:
            assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": spec.ttl_attribute}
        else:
            assert ttl["TimeToLiveStatus"] == "DISABLED"


def test_an_explicit_name_wins_over_the_environment(moto_tables):
    spec = table_spec(deployment.ENV_LISTS_TABLE)
    assert create_table(spec, "bench-lists") == "bench-lists"
    assert moto_tables.list_tables()["TableNames"] == ["bench-lists"]


def test_a_table_needs_a_name(moto_tables, monkeypatch):
    spec = table_spec(deployment.ENV_CASES_TABLE)
    monkeypatch.delenv(spec.env_var)
    with pytest.raises(RuntimeError, match=deployment.ENV_CASES_TABLE):
        create_table(spec)


def test_an_undeclared_table_is_named_in_the_error():
    with pytest.raises(KeyError, match="LENDGUARD_NO_SUCH_TABLE"):
        table_spec("LENDGUARD_NO_SUCH_TABLE")
