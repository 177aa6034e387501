"""DynamoDB tables and S3 buckets, declared by ``lendguard.deployment``.

Logical IDs are the ones in ``deployment.TABLES`` / ``deployment.BUCKETS`` (overridden, so they do
not depend on where the constructs sit in the tree).
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from lendguard import deployment


def bucket_logical_id(env_var: str) -> str:
    """The ``deployment.BUCKETS`` key of the bucket whose name goes in ``env_var``."""
    for logical_id, var in deployment.BUCKETS.items():
        if var == env_var:
            return logical_id
    raise KeyError(f"deployment.BUCKETS has no bucket for {env_var}")


DATA_BUCKET = bucket_logical_id(deployment.ENV_DATA_BUCKET)
ARTIFACTS_BUCKET = bucket_logical_id(deployment.ENV_ARTIFACTS_BUCKET)
RAW_PREFIX = "raw/"


def _string(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


class Storage(Construct):
    """``tables[logical_id]``, ``table_specs[logical_id]``, ``buckets[logical_id]`` and ``logs_bucket``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        removal_policy: RemovalPolicy,
        point_in_time_recovery: bool,
        raw_payload_retention_days: int,
        access_log_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        destroy = removal_policy == RemovalPolicy.DESTROY
        self.table_specs: dict[str, deployment.TableSpec] = {t.logical_id: t for t in deployment.TABLES}
        self.tables: dict[str, dynamodb.Table] = {}
        for spec in deployment.TABLES:
            table = dynamodb.Table(
                self,
                spec.logical_id,
                partition_key=_string(spec.partition_key),
                sort_key=_string(spec.sort_key) if spec.sort_key else None,
                billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
                encryption=dynamodb.TableEncryption.AWS_MANAGED,
                time_to_live_attribute=spec.ttl_attribute,
                point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=point_in_time_recovery
                ),
                deletion_protection=not destroy,
                removal_policy=removal_policy,
            )
            for index_name, (pk, sk) in spec.global_indexes.items():
                table.add_global_secondary_index(
                    index_name=index_name,
                    partition_key=_string(pk),
                    sort_key=_string(sk),
                    projection_type=dynamodb.ProjectionType.ALL,
                )
            table.node.default_child.override_logical_id(spec.logical_id)
            self.tables[spec.logical_id] = table

        common = {
            "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
            "enforce_ssl": True,
            "encryption": s3.BucketEncryption.S3_MANAGED,
            "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            "removal_policy": removal_policy,
            "auto_delete_objects": destroy,
        }
        # Server access logs of the other buckets (S3-managed encryption is what log delivery
        # supports). It cannot log to itself: see the acknowledgment in the stack.
        self.logs_bucket = s3.Bucket(
            self,
            "AccessLogsBucket",
            lifecycle_rules=[
                s3.LifecycleRule(id="expire-logs", expiration=Duration.days(access_log_retention_days))
            ],
            **common,
        )
        self.logs_bucket.node.default_child.override_logical_id("AccessLogsBucket")

        lifecycle = {
            DATA_BUCKET: [
                s3.LifecycleRule(
                    id="expire-raw-vendor-payloads",
                    prefix=RAW_PREFIX,
                    expiration=Duration.days(raw_payload_retention_days),
                ),
                s3.LifecycleRule(
                    id="abort-incomplete-uploads", abort_incomplete_multipart_upload_after=Duration.days(7)
                ),
            ],
            ARTIFACTS_BUCKET: [
                s3.LifecycleRule(
                    id="abort-incomplete-uploads", abort_incomplete_multipart_upload_after=Duration.days(7)
                ),
            ],
        }
        unknown = set(deployment.BUCKETS) - set(lifecycle)
        if unknown:
            raise ValueError(
                f"deployment.BUCKETS has buckets the stack does not configure: {sorted(unknown)}"
            )
        self.buckets: dict[str, s3.Bucket] = {}
        for logical_id in deployment.BUCKETS:
            bucket = s3.Bucket(
                self,
                logical_id,
                # Policies and models must keep every published version (maker-checker audit).
                versioned=logical_id == ARTIFACTS_BUCKET,
                lifecycle_rules=lifecycle[logical_id],
                server_access_logs_bucket=self.logs_bucket,
                server_access_logs_prefix=f"{logical_id}/",
                **common,
            )
            bucket.node.default_child.override_logical_id(logical_id)
            self.buckets[logical_id] = bucket

    def table_for_env(self, env_var: str) -> tuple[dynamodb.Table, deployment.TableSpec]:
        for logical_id, spec in self.table_specs.items():
            if spec.env_var == env_var:
                return self.tables[logical_id], spec
        raise KeyError(f"no table with env var {env_var}")

    def bucket_for_env(self, env_var: str) -> s3.Bucket:
        return self.buckets[bucket_logical_id(env_var)]
