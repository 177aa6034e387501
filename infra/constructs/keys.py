"""Customer-managed KMS keys: the case archive's key, and (by config) the data-at-rest key.

- ``archive_key`` (every environment): the case archive's data keys come from it
  (:mod:`lendguard.store.archive`). Writers are granted ``kms:GenerateDataKey`` only; the
  functions that must read clear personal data are granted ``kms:Decrypt``, nothing else is.
- ``data_key`` (``customer_managed_keys`` in ``infra/config``, staging and prod): encrypts the
  tables, the data and artifacts buckets and every log group in place of AWS-managed keys.
  Functions may use it only through DynamoDB and S3 (``kms:ViaService``), never directly.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct, IConstruct

# What a function needs on the data key for DynamoDB / S3 encryption with a customer-managed key.
DATA_KEY_ACTIONS = [
    "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo",
    "kms:DescribeKey", "kms:CreateGrant",
]  # fmt: skip


class Keys(Construct):
    """``archive_key`` always; ``data_key`` when ``customer_managed`` (else None: AWS-managed keys)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        removal_policy: RemovalPolicy,
        customer_managed: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.archive_key = kms.Key(
            self,
            "ArchiveKey",
            alias=f"alias/lendguard-{env_name}-case-archive",
            description="lendguard case archive: envelope encryption of personal data",
            enable_key_rotation=True,
            pending_window=Duration.days(30),
            removal_policy=removal_policy,
        )
        self.data_key: kms.Key | None = None
        if customer_managed:
            self.data_key = kms.Key(
                self,
                "DataKey",
                alias=f"alias/lendguard-{env_name}-data",
                description="lendguard tables, buckets and log groups",
                enable_key_rotation=True,
                pending_window=Duration.days(30),
                removal_policy=removal_policy,
            )
            # CloudWatch Logs encrypts log groups with it, for this account's log groups only.
            self.data_key.add_to_resource_policy(
                iam.PolicyStatement(
                    actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                    principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                    resources=["*"],
                    conditions={
                        "ArnLike": {
                            "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                                service="logs", resource="log-group", resource_name="*",
                                arn_format=ArnFormat.COLON_RESOURCE_NAME,
                            )
                        }
                    },
                )
            )  # fmt: skip

    def grant_archive_write(self, role: iam.IRole) -> None:
        """Seal archive records: data keys only, no decrypt."""
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["kms:GenerateDataKey"], resources=[self.archive_key.key_arn])
        )

    def grant_archive_read(self, role: iam.IRole) -> None:
        """Open archive records: clear personal data. Only for functions that need it."""
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["kms:Decrypt"], resources=[self.archive_key.key_arn])
        )

    def grant_archive_read_derived(self, role: iam.IRole) -> None:
        """Open the derived part of archive records only (facts, no identities): the encryption
        context names the data class, so personal parts stay sealed to this role."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[self.archive_key.key_arn],
                conditions={"StringEquals": {"kms:EncryptionContext:lendguard:data_class": "derived"}},
            )
        )

    def grant_data_key(self, role: iam.IRole) -> None:
        """Use the data key through DynamoDB and S3 only (no-op with AWS-managed keys)."""
        if self.data_key is None:
            return
        stack = Stack.of(self)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=DATA_KEY_ACTIONS,
                resources=[self.data_key.key_arn],
                conditions={
                    "StringEquals": {
                        "kms:ViaService": [
                            f"dynamodb.{stack.region}.amazonaws.com",
                            f"s3.{stack.region}.amazonaws.com",
                        ]
                    }
                },
            )
        )

    def protect(self, tables: list[dynamodb.Table], buckets: list[s3.Bucket], scope: IConstruct) -> None:
        """Encrypt ``tables``, ``buckets`` and every log group under ``scope`` with the data key."""
        key = self.data_key
        if key is None:
            return
        for table in tables:
            cfn_table = table.node.default_child
            cfn_table.sse_specification = dynamodb.CfnTable.SSESpecificationProperty(
                sse_enabled=True, sse_type="KMS", kms_master_key_id=key.key_arn
            )
        for bucket in buckets:
            bucket.node.default_child.bucket_encryption = s3.CfnBucket.BucketEncryptionProperty(
                server_side_encryption_configuration=[
                    s3.CfnBucket.ServerSideEncryptionRuleProperty(
                        bucket_key_enabled=True,
                        server_side_encryption_by_default=s3.CfnBucket.ServerSideEncryptionByDefaultProperty(
                            sse_algorithm="aws:kms", kms_master_key_id=key.key_arn
                        ),
                    )
                ]
            )
        for node in scope.node.find_all():
            if isinstance(node, logs.CfnLogGroup):
                node.kms_key_id = key.key_arn
                node.node.add_dependency(key)
