"""Black / grey / white list entries in DynamoDB, keyed by kind, key type and hashed value."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lendguard.stages.lists import ListHit
from lendguard.store.aws import client, lists_table

KINDS = ("BLACK", "GREY", "WHITE")


def list_pk(kind: str, key_type: str, value_hash: str) -> str:
    return f"{kind}#{key_type}#{value_hash}"


class DynamoListStore:
    """Reads and writes list entries; reads ignore entries past ``expires_at`` (TTL deletes lazily)."""

    def find(self, keys: list[tuple[str, str]], now: datetime) -> list[ListHit]:
        """Every live entry for the (key type, hash) pairs, in one BatchGetItem."""
        table = lists_table()
        wanted = [{"pk": {"S": list_pk(k, t, h)}} for k in KINDS for t, h in keys]
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {table: {"Keys": wanted, "ConsistentRead": True}}
        ddb = client("dynamodb")
        for _ in range(5):
            resp = ddb.batch_get_item(RequestItems=request)
            items.extend(resp["Responses"].get(table, []))
            request = resp.get("UnprocessedKeys") or {}
            if not request:
                break
        else:
            raise RuntimeError("lists lookup: keys left unprocessed after 5 attempts")
        epoch = int(now.timestamp())
        hits = []
        for item in items:
            expires = int(item["expires_at"]["N"]) if "expires_at" in item else None
            if expires is not None and expires <= epoch:
                continue
            hits.append(
                ListHit(
                    kind=item["kind"]["S"], key_type=item["key_type"]["S"], reason_code=item["reason_code"]["S"],
                    reason=item.get("reason", {}).get("S", ""), expires_at=expires,
                    added_at=datetime.fromisoformat(item["added_at"]["S"]) if "added_at" in item else None,
                )
            )  # fmt: skip
        return hits

    def put(
        self, kind: str, key_type: str, value_hash: str, reason_code: str, reason: str, source: str,
        added_by: str, added_at: datetime, expires_at: int | None,
    ) -> None:  # fmt: skip
        """Upsert one entry."""
        item = {
            "pk": {"S": list_pk(kind, key_type, value_hash)}, "kind": {"S": kind}, "key_type": {"S": key_type},
            "value_hash": {"S": value_hash}, "reason_code": {"S": reason_code}, "reason": {"S": reason},
            "source": {"S": source}, "added_by": {"S": added_by}, "added_at": {"S": added_at.isoformat()},
        }  # fmt: skip
        if expires_at is not None:
            item["expires_at"] = {"N": str(int(expires_at))}
        client("dynamodb").put_item(TableName=lists_table(), Item=item)
