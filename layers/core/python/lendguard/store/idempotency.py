"""Powertools idempotency records in the deployment's IdempotencyTable (DynamoDB).

The persistence layer gets this package's shared DynamoDB client, so it talks to the same
endpoint as every other store: the account's DynamoDB when deployed, moto locally. It is built
per call (cheap, no network) because the local runtime replaces clients when it restarts moto.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from lendguard.settings import settings
from lendguard.store.aws import client


def persistence() -> DynamoDBPersistenceLayer:
    """The persistence layer over the idempotency table (key ``id``, TTL ``expiration``)."""
    return DynamoDBPersistenceLayer(table_name=settings.idempotency_table, boto3_client=client("dynamodb"))
