import pytest


@pytest.fixture(scope="module")
def runtime(default_model):
    """The whole stack on moto in this process (one per test module: start-up takes seconds)."""
    from lendguard.offline.local.runtime import LocalRuntime

    with LocalRuntime() as rt:
        yield rt


@pytest.fixture
def cold_cache(runtime):
    """An empty data-cache table: each test fills what it relies on, whatever ran before it.

    The example applicants recur across a module's tests, and the cache is keyed by person, so
    a test that ran earlier would otherwise have paid for this one (and its vendor cost be 0).
    """
    from lendguard.settings import settings
    from lendguard.store.aws import client

    ddb, table = client("dynamodb"), settings.cache_table
    for page in ddb.get_paginator("scan").paginate(TableName=table, ProjectionExpression="pk"):
        for item in page["Items"]:
            ddb.delete_item(TableName=table, Key={"pk": item["pk"]})
    assert ddb.scan(TableName=table, Select="COUNT")["Count"] == 0
    return table
