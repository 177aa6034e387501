import os

import pytest


@pytest.fixture(scope="module")
def runtime(default_model):
    """The whole stack on moto in this process (one per test module: start-up takes seconds)."""
    from lendguard.offline.local.runtime import LocalRuntime

    with LocalRuntime() as rt:
        yield rt


@pytest.fixture
def cold_cache(runtime) -> str:
    """The runtime's data-cache table, emptied: a test that counts what vendors cost starts here.

    The example applicants are shared by the tests of a module and the cache is keyed by person,
    so whichever test ran earlier (in any order) would otherwise have paid for this one.
    """
    from lendguard import deployment
    from lendguard.store.aws import client

    ddb, table = client("dynamodb"), os.environ[deployment.ENV_CACHE_TABLE]
    for page in ddb.get_paginator("scan").paginate(TableName=table, ProjectionExpression="pk"):
        for item in page["Items"]:
            ddb.delete_item(TableName=table, Key={"pk": item["pk"]})
    assert ddb.scan(TableName=table, Select="COUNT")["Count"] == 0
    return table
