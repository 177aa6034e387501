"""Black / grey / white list entries in DynamoDB, keyed by kind, key type and hashed value.

One table (``ListsTable``, partition key ``pk``, TTL attribute ``expires_at``) holds three kinds
of item, told apart by the ``pk`` prefix and ``record_type``:

- entries: ``pk = KIND#KEY_TYPE#hash``; ``expires_at`` is the TTL attribute (absent: permanent);
- the audit history of an entry: ``pk = AUDIT#KIND#KEY_TYPE#hash``, one item whose ``events``
  list grows by one per add / extend / update / remove, written in the same transaction as the
  change (so a change without its audit event cannot exist). It has no ``expires_at``: the
  history outlives the entry;
- import records: ``pk = IMPORT#<import id>#<page>``, who imported what and when, with the keys
  each import wrote (pages of at most 1,000 keys keep items far below DynamoDB's 400 KB).

Keeping the audit in the lists table (rather than a table of its own) means the functions that
may change lists need no grant beyond the one they already hold. Reads treat an entry whose
``expires_at`` has passed as absent, because DynamoDB deletes expired items lazily.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from lendguard.core.errors import Conflict
from lendguard.lists.csvio import ImportRow
from lendguard.lists.entries import AuditEvent, ImportRecord, ListEntry, ListHit, epoch
from lendguard.lists.keys import KeyType, ListKind, Source, entry_key
from lendguard.settings import settings
from lendguard.store.aws import client

KINDS = tuple(k.value for k in ListKind)
AUDIT_PREFIX = "AUDIT#"
IMPORT_PREFIX = "IMPORT#"
IMPORT_PAGE_KEYS = 1000
_BATCH_WRITE = 25  # DynamoDB's BatchWriteItem limit
_MAX_ATTEMPTS = 8


def list_pk(kind: str, key_type: str, value_hash: str) -> str:
    """The partition key of an entry."""
    return entry_key(ListKind(kind), KeyType(key_type), value_hash)


# -- item <-> model ------------------------------------------------------------------------
def entry_item(entry: ListEntry) -> dict[str, Any]:
    """The low-level DynamoDB item of an entry (built by hand: this runs 100,000 times an import)."""
    item: dict[str, Any] = {
        "pk": {"S": entry.pk}, "record_type": {"S": "entry"}, "kind": {"S": entry.kind.value},
        "key_type": {"S": entry.key_type.value}, "value_hash": {"S": entry.value_hash},
        "reason_code": {"S": entry.reason_code}, "reason": {"S": entry.reason},
        "source": {"S": entry.source.value}, "added_by": {"S": entry.added_by},
        "added_at": {"S": entry.added_at.isoformat()},
    }  # fmt: skip
    if entry.updated_by is not None:
        item["updated_by"] = {"S": entry.updated_by}
    if entry.updated_at is not None:
        item["updated_at"] = {"S": entry.updated_at.isoformat()}
    if entry.expires_at is not None:
        item["expires_at"] = {"N": str(int(entry.expires_at))}
    if entry.import_id is not None:
        item["import_id"] = {"S": entry.import_id}
    if entry.etag is not None:
        item["etag"] = {"S": entry.etag}
    return item


def _s(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value["S"] if value is not None else None


def entry_of(item: dict[str, Any]) -> ListEntry:
    """The entry a stored item holds."""
    updated_at = _s(item, "updated_at")
    return ListEntry(
        kind=ListKind(item["kind"]["S"]),
        key_type=KeyType(item["key_type"]["S"]),
        value_hash=item["value_hash"]["S"],
        reason_code=item["reason_code"]["S"],
        reason=_s(item, "reason") or "",
        source=Source(_s(item, "source") or Source.MANUAL.value),
        added_by=_s(item, "added_by") or "unknown",
        added_at=datetime.fromisoformat(item["added_at"]["S"]),
        updated_by=_s(item, "updated_by"),
        updated_at=datetime.fromisoformat(updated_at) if updated_at else None,
        expires_at=int(item["expires_at"]["N"]) if "expires_at" in item else None,
        import_id=_s(item, "import_id"),
        etag=_s(item, "etag"),
    )


def _event_attr(event: AuditEvent) -> dict[str, Any]:
    def num(value: int | None) -> dict[str, Any]:
        return {"NULL": True} if value is None else {"N": str(int(value))}

    return {"M": {
        "action": {"S": event.action}, "at": {"S": event.at.isoformat()}, "by": {"S": event.by},
        "source": {"S": event.source.value}, "reason_code": {"S": event.reason_code},
        "reason": {"S": event.reason}, "expires_at": num(event.expires_at),
        "previous_expires_at": num(event.previous_expires_at),
    }}  # fmt: skip


def _event_of(attr: dict[str, Any]) -> AuditEvent:
    m = attr["M"]

    def num(name: str) -> int | None:
        value = m.get(name) or {"NULL": True}
        return None if "NULL" in value else int(value["N"])

    return AuditEvent(
        action=m["action"]["S"], at=datetime.fromisoformat(m["at"]["S"]), by=m["by"]["S"],
        source=Source(m["source"]["S"]), reason_code=m["reason_code"]["S"], reason=m["reason"]["S"],
        expires_at=num("expires_at"), previous_expires_at=num("previous_expires_at"),
    )  # fmt: skip


def _cursor_of(key: dict[str, Any] | None) -> str | None:
    return base64.urlsafe_b64encode(key["pk"]["S"].encode()).decode() if key else None


def _key_of(cursor: str) -> dict[str, Any]:
    try:
        pk = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raise ValueError("not a cursor this API returned") from None
    if pk.split("#", 1)[0] not in KINDS:
        raise ValueError("not a cursor this API returned")
    return {"pk": {"S": pk}}


class DynamoListStore:
    """Reads and writes list entries; reads ignore entries past ``expires_at`` (TTL deletes lazily)."""

    # -- the decision path -----------------------------------------------------------------
    def find(self, keys: Sequence[tuple[str, str]], now: datetime) -> list[ListHit]:
        """Every live entry for the (key type, hash) pairs on every list, in one BatchGetItem.

        At most 3 kinds x 5 key types = 15 keys, well under BatchGetItem's 100; further calls
        happen only for keys DynamoDB returns unprocessed (throttling).
        """
        table = settings.lists_table
        wanted = [{"pk": {"S": list_pk(k, t, h)}} for k in KINDS for t, h in keys]
        if not wanted:
            return []
        request: dict[str, Any] = {
            table: {
                "Keys": wanted,
                # A change made by operations takes effect on the very next application.
                "ConsistentRead": True,
                "ProjectionExpression": "#k, #t, #rc, #r, #s, #a, #e",
                "ExpressionAttributeNames": {
                    "#k": "kind",
                    "#t": "key_type",
                    "#rc": "reason_code",
                    "#r": "reason",
                    "#s": "source",
                    "#a": "added_at",
                    "#e": "expires_at",
                },
            }
        }
        items = self._batch_get(request, table)
        now_epoch = epoch(now)
        hits = []
        for item in items:
            expires = int(item["expires_at"]["N"]) if "expires_at" in item else None
            if expires is not None and expires <= now_epoch:
                continue
            hits.append(
                ListHit(
                    kind=item["kind"]["S"], key_type=item["key_type"]["S"], reason_code=item["reason_code"]["S"],
                    reason=_s(item, "reason") or "", source=_s(item, "source"), expires_at=expires,
                    added_at=datetime.fromisoformat(item["added_at"]["S"]) if "added_at" in item else None,
                )
            )  # fmt: skip
        # BatchGetItem returns items in no particular order; the trace should not flicker.
        order = {k: i for i, k in enumerate(KINDS)}
        hits.sort(key=lambda h: (order[h.kind], h.key_type))
        return hits

    @staticmethod
    def _batch_get(request: dict[str, Any], table: str) -> list[dict[str, Any]]:
        ddb = client("dynamodb")
        items: list[dict[str, Any]] = []
        for attempt in range(_MAX_ATTEMPTS):
            resp = ddb.batch_get_item(RequestItems=request)
            items.extend(resp["Responses"].get(table, []))
            request = resp.get("UnprocessedKeys") or {}
            if not request:
                return items
            time.sleep(min(0.05 * 2**attempt, 1.0))
        raise RuntimeError(f"lists lookup: keys left unprocessed after {_MAX_ATTEMPTS} attempts")

    # -- single entries --------------------------------------------------------------------
    def get(self, pk: str) -> ListEntry | None:
        """The stored entry (live or not yet deleted by TTL), read consistently."""
        resp = client("dynamodb").get_item(
            TableName=settings.lists_table, Key={"pk": {"S": pk}}, ConsistentRead=True
        )
        item = resp.get("Item")
        return entry_of(item) if item else None

    def history(self, pk: str) -> list[AuditEvent]:
        """Every audit event of the entry ``pk``, oldest first."""
        resp = client("dynamodb").get_item(
            TableName=settings.lists_table, Key={"pk": {"S": AUDIT_PREFIX + pk}}, ConsistentRead=True
        )
        return [_event_of(e) for e in resp.get("Item", {}).get("events", {}).get("L", [])]

    def write(self, entry: ListEntry, event: AuditEvent, expected_etag: str | None, exists: bool) -> None:
        """Put the entry and append its audit event atomically.

        The put is conditional on the item being as read (absent, or with ``expected_etag``), so
        two operators changing one entry at once cannot lose an update or an audit event.
        """
        put: dict[str, Any] = {"TableName": settings.lists_table, "Item": entry_item(entry)}
        put.update(self._condition(expected_etag, exists))
        self._transact([{"Put": put}, {"Update": self._audit_update(entry, event)}])

    def delete(self, entry: ListEntry, event: AuditEvent) -> None:
        """Delete the entry and append the ``remove`` event atomically (conditional as :meth:`write`)."""
        delete: dict[str, Any] = {"TableName": settings.lists_table, "Key": {"pk": {"S": entry.pk}}}
        delete.update(self._condition(entry.etag, True))
        self._transact([{"Delete": delete}, {"Update": self._audit_update(entry, event)}])

    @staticmethod
    def _condition(expected_etag: str | None, exists: bool) -> dict[str, Any]:
        if not exists:
            return {"ConditionExpression": "attribute_not_exists(pk)"}
        if expected_etag is None:
            return {"ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(etag)"}
        return {
            "ConditionExpression": "etag = :etag",
            "ExpressionAttributeValues": {":etag": {"S": expected_etag}},
        }

    @staticmethod
    def _audit_update(entry: ListEntry, event: AuditEvent) -> dict[str, Any]:
        return {
            "TableName": settings.lists_table,
            "Key": {"pk": {"S": AUDIT_PREFIX + entry.pk}},
            "UpdateExpression": "SET events = list_append(if_not_exists(events, :empty), :event), "
            "record_type = :audit, #k = :kind, key_type = :key_type, value_hash = :hash",
            "ExpressionAttributeNames": {"#k": "kind"},
            "ExpressionAttributeValues": {
                ":empty": {"L": []},
                ":event": {"L": [_event_attr(event)]},
                ":audit": {"S": "audit"},
                ":kind": {"S": entry.kind.value},
                ":key_type": {"S": entry.key_type.value},
                ":hash": {"S": entry.value_hash},
            },
        }

    @staticmethod
    def _transact(items: list[dict[str, Any]]) -> None:
        ddb = client("dynamodb")
        try:
            ddb.transact_write_items(TransactItems=items)
        except ddb.exceptions.TransactionCanceledException as exc:
            codes = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if "ConditionalCheckFailed" in codes:
                raise Conflict(
                    "the list entry changed while this request was handled; read it and retry"
                ) from None
            raise

    # -- bulk ------------------------------------------------------------------------------
    def write_import(self, record: ImportRecord, rows: Sequence[ImportRow]) -> int:
        """Upsert the rows of one import and its import-record pages; returns items written.

        BatchWriteItem, 25 items a call, unprocessed items retried with backoff. Items are built
        straight from the parsed rows (no model per row): this loop is the import's cost beyond
        DynamoDB's own. Rows must have distinct keys (DynamoDB refuses duplicates in one call).
        """
        common = {
            "record_type": {"S": "entry"}, "source": {"S": record.source.value}, "added_by": {"S": record.by},
            "added_at": {"S": record.at.isoformat()}, "import_id": {"S": record.import_id},
            "etag": {"S": record.import_id},
        }  # fmt: skip
        items = self.import_pages(record, [r.pk for r in rows])
        for r in rows:
            item = {
                **common, "pk": {"S": r.pk}, "kind": {"S": r.kind.value}, "key_type": {"S": r.key_type.value},
                "value_hash": {"S": r.value_hash}, "reason_code": {"S": r.reason_code}, "reason": {"S": r.reason},
            }  # fmt: skip
            if r.expires_at is not None:
                item["expires_at"] = {"N": str(r.expires_at)}
            items.append(item)
        return self.put_items(items)

    @staticmethod
    def put_items(items: Sequence[dict[str, Any]]) -> int:
        """BatchWriteItem in calls of 25, retrying what DynamoDB leaves unprocessed (throttling)."""
        table = settings.lists_table
        ddb = client("dynamodb")
        for start in range(0, len(items), _BATCH_WRITE):
            request: dict[str, Any] = {
                table: [{"PutRequest": {"Item": item}} for item in items[start : start + _BATCH_WRITE]]
            }
            for attempt in range(_MAX_ATTEMPTS):
                request = ddb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
                if not request:
                    break
                time.sleep(min(0.05 * 2**attempt, 2.0))
            else:
                raise RuntimeError(f"lists write: items left unprocessed after {_MAX_ATTEMPTS} attempts")
        return len(items)

    @staticmethod
    def import_pages(record: ImportRecord, keys: Sequence[str]) -> list[dict[str, Any]]:
        """The import-record items of one import: who, when, counts and the keys it wrote."""
        chunks = [keys[i : i + IMPORT_PAGE_KEYS] for i in range(0, len(keys), IMPORT_PAGE_KEYS)] or [[]]
        return [
            {
                "pk": {"S": f"{IMPORT_PREFIX}{record.import_id}#{page:04d}"},
                "record_type": {"S": "import"},
                "import_id": {"S": record.import_id},
                "at": {"S": record.at.isoformat()},
                "by": {"S": record.by},
                "source": {"S": record.source.value},
                "rows": {"N": str(record.rows)},
                "written": {"N": str(len(keys))},
                "failed": {"N": str(record.failed)},
                "page": {"N": str(page)},
                "pages": {"N": str(len(chunks))},
                "keys": {"L": [{"S": k} for k in chunk]},
            }
            for page, chunk in enumerate(chunks)
        ]

    def scan(
        self, kind: ListKind | None, now: datetime, limit: int = 1000, cursor: str | None = None
    ) -> tuple[list[ListEntry], str | None]:
        """Live entries (of one kind, or all), at most ``limit``, and the cursor of the next page."""
        prefixes = [kind.value] if kind else list(KINDS)
        names = {f":p{i}": {"S": f"{p}#"} for i, p in enumerate(prefixes)}
        kwargs: dict[str, Any] = {
            "TableName": settings.lists_table,
            "FilterExpression": " OR ".join(f"begins_with(pk, {n})" for n in names),
            "ExpressionAttributeValues": names,
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = _key_of(cursor)
        ddb = client("dynamodb")
        found: list[ListEntry] = []
        while True:
            resp = ddb.scan(Limit=max(limit, 100), **kwargs)
            for item in resp.get("Items", []):
                entry = entry_of(item)
                if not entry.live(now):
                    continue
                found.append(entry)
                if len(found) == limit:
                    return found, _cursor_of(item)
            last = resp.get("LastEvaluatedKey")
            if not last:
                return found, None
            kwargs["ExclusiveStartKey"] = last

    # -- seeding (demo) --------------------------------------------------------------------
    def put(
        self, kind: str, key_type: str, value_hash: str, reason_code: str, reason: str, source: str,
        added_by: str, added_at: datetime, expires_at: int | None,
    ) -> None:  # fmt: skip
        """Upsert one entry without an audit event (seeding synthetic demo data only)."""
        entry = ListEntry(
            kind=ListKind(kind), key_type=KeyType(key_type), value_hash=value_hash, reason_code=reason_code,
            reason=reason, source=Source(source), added_by=added_by, added_at=added_at, expires_at=expires_at,
        )  # fmt: skip
        client("dynamodb").put_item(TableName=settings.lists_table, Item=entry_item(entry))
