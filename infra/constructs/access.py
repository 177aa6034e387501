"""Least-privilege grants, narrower than the L2 ``grant_*`` helpers.

``table.grant_read_data`` adds ``<table>/index/*`` and ``bucket.grant_read`` adds ``s3:GetObject*`` /
``s3:List*``; here every index is named and every action is exact. Only object keys keep a
wildcard (``<bucket>/*``): the keys are created at run time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from lendguard import deployment

TableAccess = Literal["read", "write", "read_write"]
BucketAccess = Literal["read", "write", "read_write"]

_TABLE_READ = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
)
_TABLE_WRITE = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
)


@dataclass(frozen=True)
class Access:
    """What one function may touch besides its own logs, keyed by deployment env var names."""

    tables: dict[str, TableAccess] = field(default_factory=dict)
    buckets: dict[str, BucketAccess] = field(default_factory=dict)


def _actions(level: str, read: tuple[str, ...], write: tuple[str, ...]) -> list[str]:
    chosen = {"read": read, "write": write, "read_write": read + write}[level]
    return sorted(set(chosen))


def grant_table(
    grantee: iam.IGrantable, table: dynamodb.ITable, spec: deployment.TableSpec, level: TableAccess
) -> None:
    resources = [table.table_arn]
    if level in ("read", "read_write"):
        resources += [f"{table.table_arn}/index/{name}" for name in spec.global_indexes]
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(actions=_actions(level, _TABLE_READ, _TABLE_WRITE), resources=resources)
    )


def grant_bucket(grantee: iam.IGrantable, bucket: s3.IBucket, level: BucketAccess) -> None:
    principal = grantee.grant_principal
    if level in ("read", "read_write"):
        # ListBucket lets a missing key answer 404 instead of 403.
        principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket.bucket_arn])
        )
    object_actions = _actions(level, ("s3:GetObject", "s3:GetObjectVersion"), ("s3:PutObject",))
    principal.add_to_principal_policy(
        iam.PolicyStatement(actions=object_actions, resources=[bucket.arn_for_objects("*")])
    )
