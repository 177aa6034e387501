"""Create DynamoDB tables from their declarations in ``lendguard.deployment``.

The CDK stack builds the deployed tables from the same ``TableSpec``; this module builds them on
moto for the local runtime, the tests and the benchmarks, so every copy has the same keys,
indexes and TTL as production.
"""

from __future__ import annotations

import os
from typing import Any

from lendguard import deployment
from lendguard.deployment import TableSpec
from lendguard.store.aws import client


def table_spec(env_var: str) -> TableSpec:
    """The declared table whose name the functions read from ``env_var``."""
    for spec in deployment.TABLES:
        if spec.env_var == env_var:
            return spec
    known = ", ".join(t.env_var for t in deployment.TABLES)
    raise KeyError(f"no table is declared for {env_var} (declared: {known})")


def create_table_request(spec: TableSpec, name: str) -> dict[str, Any]:
    """The ``CreateTable`` arguments for ``spec`` under ``name``: keys, GSIs, on-demand billing."""
    attributes = {spec.partition_key}
    key_schema = [{"AttributeName": spec.partition_key, "KeyType": "HASH"}]
    if spec.sort_key:
        attributes.add(spec.sort_key)
        key_schema.append({"AttributeName": spec.sort_key, "KeyType": "RANGE"})
    indexes = []
    for index, (pk, sk) in spec.global_indexes.items():
        attributes |= {pk, sk}
        indexes.append(
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": pk, "KeyType": "HASH"},
                    {"AttributeName": sk, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        )
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": key_schema,
        # Every key attribute of every declared table is a string.
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if indexes:
        request["GlobalSecondaryIndexes"] = indexes
    return request


def create_table(spec: TableSpec, name: str | None = None) -> str:
    """Create the table ``spec`` declares, with its TTL attribute switched on; returns its name.

    ``name`` defaults to the value of the spec's environment variable, as the functions read it.
    """
    table_name = name or os.environ.get(spec.env_var)
    if not table_name:
        raise RuntimeError(f"no table name given and environment variable {spec.env_var} is not set")
    ddb = client("dynamodb")
    ddb.create_table(**create_table_request(spec, table_name))
    if spec.ttl_attribute:
        ddb.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute},
        )
    return table_name


def create_tables(specs: tuple[TableSpec, ...] = deployment.TABLES) -> list[str]:
    """Create every declared table under the names the environment gives them."""
    return [create_table(spec) for spec in specs]
