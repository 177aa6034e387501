"""The policy store: bodies in the artifacts bucket, versions and routing in the versions table.

Bodies are written once (``If-None-Match: *``) under ``policies/<id>/v<version>.yaml``, the
key :func:`lendguard.store.artifacts.get_policy` reads, and their SHA-256 is kept with the
version; a test suite sits beside its body (``v<version>.tests.yaml``).

Items of the versions table (partition ``pk``, sort ``sk``; each holds its model as JSON in
``doc``):

=====================  ======================  ==============================================
pk                     sk                      what
=====================  ======================  ==============================================
``POLICY#<id>``        ``V#<version:010d>``    a version and its review record (``status``)
``POLICY#<id>``        ``ROUTING``             the routing in force (``revision``)
``POLICY#<id>``        ``ROUTING#<rev:010d>``  every routing revision ever put in force (audit)
``INDEX``              ``<id>``                one per policy id, to list them without a scan
``RELEASE``            ``CONFIG``              the approvers' release configuration
``RELEASE``            ``CONFIG#<rev:010d>``   its history
=====================  ======================  ==============================================

A routing change is one ``TransactWriteItems``: the new revision, the pointer (conditional on
the revision the caller read) and a condition check that every version it names is APPROVED.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from lendguard.core.errors import Conflict, NotFound
from lendguard.policy.lifecycle import PolicyVersion, ReleaseConfig
from lendguard.policy.routing import Routing
from lendguard.settings import settings
from lendguard.store.artifacts import policy_key
from lendguard.store.aws import client

# How long a function keeps the routing it read: a change is in force everywhere within this
# many seconds, without a deploy, and a case open costs one read per container per interval.
ROUTING_CACHE_SECONDS = 10.0


def suite_key(policy_id: str, version: int) -> str:
    return f"policies/{policy_id}/v{version}.tests.yaml"


def _pk(policy_id: str) -> str:
    return f"POLICY#{policy_id}"


def _vsk(version: int) -> str:
    return f"V#{version:010d}"


def _rsk(revision: int) -> str:
    return f"ROUTING#{revision:010d}"


def _table() -> str:
    return settings.policies_table


# ---- bodies -----------------------------------------------------------------------------------


def put_object_once(key: str, body: bytes, content_type: str = "application/yaml") -> None:
    """Write an immutable object; the same bytes again are a no-op, other bytes a :class:`Conflict`."""
    s3, bucket = client("s3"), settings.artifacts_bucket
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, IfNoneMatch="*")
    except s3.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in (
            "PreconditionFailed",
            "ConditionalRequestConflict",
        ):
            raise
        if s3.get_object(Bucket=bucket, Key=key)["Body"].read() != body:
            raise Conflict(
                f"s3://{bucket}/{key} already holds a different document; use a new version"
            ) from None


def get_text(key: str) -> str:
    s3 = client("s3")
    try:
        return s3.get_object(Bucket=settings.artifacts_bucket, Key=key)["Body"].read().decode()
    except s3.exceptions.NoSuchKey:
        raise NotFound(f"s3://{settings.artifacts_bucket}/{key} is not stored") from None


def body_key(policy_id: str, version: int) -> str:
    return policy_key(policy_id, version)


# ---- versions ---------------------------------------------------------------------------------


def create_version(record: PolicyVersion) -> None:
    """Record a new version (and its policy id in the index); :class:`Conflict` if it exists."""
    ddb = client("dynamodb")
    try:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": _table(), "Item": _version_item(record),
                         "ConditionExpression": "attribute_not_exists(pk)"}},
                {"Put": {"TableName": _table(), "Item": {"pk": {"S": "INDEX"}, "sk": {"S": record.policy_id}}}},
            ]
        )  # fmt: skip
    except ddb.exceptions.TransactionCanceledException:
        raise Conflict(f"policy {record.policy_id} v{record.version} already exists") from None


def _version_item(record: PolicyVersion) -> dict[str, Any]:
    return {
        "pk": {"S": _pk(record.policy_id)},
        "sk": {"S": _vsk(record.version)},
        "status": {"S": record.status},
        "doc": {"S": record.model_dump_json()},
    }


def get_version(policy_id: str, version: int) -> PolicyVersion:
    item = (
        client("dynamodb")
        .get_item(
            TableName=_table(),
            Key={"pk": {"S": _pk(policy_id)}, "sk": {"S": _vsk(version)}},
            ConsistentRead=True,
        )
        .get("Item")
    )
    if item is None:
        raise NotFound(f"policy {policy_id} v{version} does not exist")
    return PolicyVersion.model_validate_json(item["doc"]["S"])


def save_version(record: PolicyVersion, expected_status: str) -> None:
    """Store a changed review record, if nobody changed its status since it was read."""
    ddb = client("dynamodb")
    try:
        ddb.put_item(
            TableName=_table(), Item=_version_item(record),
            ConditionExpression="#s = :expected", ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":expected": {"S": expected_status}},
        )  # fmt: skip
    except ddb.exceptions.ConditionalCheckFailedException:
        raise Conflict(
            f"policy {record.policy_id} v{record.version} changed while this request ran; read it again"
        ) from None


def _query(pk: str, prefix: str) -> list[dict[str, Any]]:
    # DynamoDB refuses begins_with on an empty string: no prefix means every item of the key.
    condition, values = "pk = :pk", {":pk": {"S": pk}}
    if prefix:
        condition, values = condition + " AND begins_with(sk, :prefix)", values | {":prefix": {"S": prefix}}
    pages = (
        client("dynamodb")
        .get_paginator("query")
        .paginate(TableName=_table(), KeyConditionExpression=condition, ExpressionAttributeValues=values)
    )
    return [item for page in pages for item in page.get("Items", [])]


def list_versions(policy_id: str) -> list[PolicyVersion]:
    return [PolicyVersion.model_validate_json(i["doc"]["S"]) for i in _query(_pk(policy_id), "V#")]


def list_policy_ids() -> list[str]:
    return sorted(i["sk"]["S"] for i in _query("INDEX", ""))


# ---- routing ----------------------------------------------------------------------------------


def get_routing(policy_id: str) -> Routing | None:
    """The routing in force for ``policy_id`` (strongly consistent), or None if it has none."""
    item = (
        client("dynamodb")
        .get_item(
            TableName=_table(), Key={"pk": {"S": _pk(policy_id)}, "sk": {"S": "ROUTING"}}, ConsistentRead=True
        )
        .get("Item")
    )
    return Routing.model_validate_json(item["doc"]["S"]) if item else None


def get_routing_revision(policy_id: str, revision: int) -> Routing:
    item = (
        client("dynamodb")
        .get_item(TableName=_table(), Key={"pk": {"S": _pk(policy_id)}, "sk": {"S": _rsk(revision)}})
        .get("Item")
    )
    if item is None:
        raise NotFound(f"policy {policy_id} has no routing revision {revision}")
    return Routing.model_validate_json(item["doc"]["S"])


def routing_history(policy_id: str) -> list[Routing]:
    return [Routing.model_validate_json(i["doc"]["S"]) for i in _query(_pk(policy_id), "ROUTING#")]


def put_routing(routing: Routing, expected_revision: int | None) -> None:
    """Put ``routing`` in force in one transaction.

    Fails with :class:`Conflict` (nothing written) if the routing in force is no longer
    ``expected_revision`` (None: there must be none yet), or if any version it names is not
    APPROVED at this moment.
    """
    pk = {"S": _pk(routing.policy_id)}
    doc = {"S": routing.model_dump_json()}
    pointer: dict[str, Any] = {
        "TableName": _table(),
        "Item": {"pk": pk, "sk": {"S": "ROUTING"}, "revision": {"N": str(routing.revision)}, "doc": doc},
    }
    if expected_revision is None:
        pointer["ConditionExpression"] = "attribute_not_exists(pk)"
    else:
        pointer["ConditionExpression"] = "revision = :expected"
        pointer["ExpressionAttributeValues"] = {":expected": {"N": str(expected_revision)}}
    versions = sorted(routing.versions())
    items: list[dict[str, Any]] = [
        {"Put": {"TableName": _table(), "Item": {"pk": pk, "sk": {"S": _rsk(routing.revision)}, "doc": doc},
                 "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Put": pointer},
        *({"ConditionCheck": {"TableName": _table(), "Key": {"pk": pk, "sk": {"S": _vsk(v)}},
                              "ConditionExpression": "#s = :approved", "ExpressionAttributeNames": {"#s": "status"},
                              "ExpressionAttributeValues": {":approved": {"S": "APPROVED"}}}} for v in versions),
    ]  # fmt: skip
    ddb = client("dynamodb")
    try:
        ddb.transact_write_items(TransactItems=items)
    except ddb.exceptions.TransactionCanceledException as exc:
        reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
        if any(code == "ConditionalCheckFailed" for code in reasons[2:]):
            bad = [
                f"v{v}"
                for v, code in zip(versions, reasons[2:], strict=False)
                if code == "ConditionalCheckFailed"
            ]
            raise Conflict(f"policy {routing.policy_id}: {', '.join(bad)} not APPROVED (any more)") from None
        raise Conflict(
            f"policy {routing.policy_id}: the routing changed while this request ran; read it again"
        ) from None
    _cache.pop(routing.policy_id, None)


class _RoutingCache:
    """Routing per policy id, kept :data:`ROUTING_CACHE_SECONDS` per container."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, Routing | None]] = {}

    def get(self, policy_id: str, now: float) -> tuple[bool, Routing | None]:
        with self._lock:
            found = self._entries.get(policy_id)
        if found is not None and now - found[0] < ROUTING_CACHE_SECONDS:
            return True, found[1]
        return False, None

    def put(self, policy_id: str, routing: Routing | None, now: float) -> None:
        with self._lock:
            self._entries[policy_id] = (now, routing)

    def pop(self, policy_id: str, default: object = None) -> None:
        with self._lock:
            self._entries.pop(policy_id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_cache = _RoutingCache()


def cached_routing(policy_id: str) -> Routing | None:
    """The routing in force as this container last read it, at most :data:`ROUTING_CACHE_SECONDS` old."""
    now = time.monotonic()
    hit, routing = _cache.get(policy_id, now)
    if not hit:
        routing = get_routing(policy_id)
        _cache.put(policy_id, routing, now)
    return routing


def clear_routing_cache() -> None:
    """Forget cached routings (a new local stack, a restored snapshot, tests)."""
    _cache.clear()


# ---- release configuration --------------------------------------------------------------------


def get_release_config() -> ReleaseConfig:
    """The release configuration in force (defaults and no approvers until one is put)."""
    item = (
        client("dynamodb")
        .get_item(
            TableName=_table(), Key={"pk": {"S": "RELEASE"}, "sk": {"S": "CONFIG"}}, ConsistentRead=True
        )
        .get("Item")
    )
    return ReleaseConfig.model_validate_json(item["doc"]["S"]) if item else ReleaseConfig()


def put_release_config(config: ReleaseConfig, expected_revision: int) -> None:
    """Store a new release configuration and its history entry, if still at ``expected_revision``."""
    doc = {"S": config.model_dump_json()}
    pointer: dict[str, Any] = {
        "TableName": _table(),
        "Item": {
            "pk": {"S": "RELEASE"},
            "sk": {"S": "CONFIG"},
            "revision": {"N": str(config.revision)},
            "doc": doc,
        },
    }
    if expected_revision == 0:
        pointer["ConditionExpression"] = "attribute_not_exists(pk)"
    else:
        pointer["ConditionExpression"] = "revision = :expected"
        pointer["ExpressionAttributeValues"] = {":expected": {"N": str(expected_revision)}}
    ddb = client("dynamodb")
    try:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": _table(), "ConditionExpression": "attribute_not_exists(pk)",
                         "Item": {"pk": {"S": "RELEASE"}, "sk": {"S": f"CONFIG#{config.revision:010d}"}, "doc": doc}}},
                {"Put": pointer},
            ]
        )  # fmt: skip
    except ddb.exceptions.TransactionCanceledException:
        raise Conflict("the release configuration changed while this request ran; read it again") from None
