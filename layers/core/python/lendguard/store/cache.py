"""The data-cache table: cached vendor answers and the no-double-charge records.

One DynamoDB table (``DataCacheTable``, partition key ``pk``, TTL attribute ``expires_at``):

- ``DATA#<vendor id>#<subject key>``: a vendor's answer for a subject (the keyed hashes of the
  identifiers the service depends on, never identifiers in clear), kept ``cache_ttl_days``;
- ``CHARGE#<vendor id>#<application id>``: the answer first obtained for an application, kept
  :data:`~lendguard.vendors.cache.REPLAY_WINDOW_DAYS`, written only if absent (conditional
  put), so a replay can never replace the answer that was paid for.

DynamoDB deletes expired items lazily (up to days later; moto never does), so every read also
checks ``expires_at`` against the clock.
"""

from __future__ import annotations

import math

from botocore.exceptions import ClientError

from lendguard.settings import settings
from lendguard.store.aws import client
from lendguard.vendors.cache import CachedResponse


def _data_pk(vendor_id: str, subject_key: str) -> str:
    return f"DATA#{vendor_id}#{subject_key}"


def _charge_pk(vendor_id: str, application_id: str) -> str:
    return f"CHARGE#{vendor_id}#{application_id}"


def _live(item: dict | None, now: float) -> CachedResponse | None:
    if not item or float(item["expires_at"]["N"]) <= now:
        return None
    return CachedResponse.model_validate_json(item["body"]["S"])


class DynamoVendorCache:
    """:class:`lendguard.vendors.cache.VendorCache` on the data-cache table."""

    def __init__(self, table: str | None = None):
        self._table = table

    @property
    def table(self) -> str:
        # Resolved per call: the local runtime sets the environment after this module loads.
        return self._table or settings.cache_table

    def _get(self, pk: str, now: float, consistent: bool) -> CachedResponse | None:
        item = (
            client("dynamodb")
            .get_item(TableName=self.table, Key={"pk": {"S": pk}}, ConsistentRead=consistent)
            .get("Item")
        )
        return _live(item, now)

    def _item(self, pk: str, kind: str, vendor_id: str, entry: CachedResponse, expires_at: float) -> dict:
        return {
            "pk": {"S": pk},
            "kind": {"S": kind},
            "vendor": {"S": vendor_id},
            "case_id": {"S": entry.case_id},
            "body": {"S": entry.model_dump_json()},
            "expires_at": {"N": str(math.ceil(expires_at))},
        }

    def get_response(self, vendor_id: str, subject_key: str, now: float) -> CachedResponse | None:
        """A live cached answer, or None (eventually consistent: a miss only costs a vendor call)."""
        return self._get(_data_pk(vendor_id, subject_key), now, consistent=False)

    def put_response(
        self, vendor_id: str, subject_key: str, entry: CachedResponse, expires_at: float
    ) -> None:
        """Cache an answer until ``expires_at``, replacing an older one."""
        item = self._item(_data_pk(vendor_id, subject_key), "DATA", vendor_id, entry, expires_at)
        client("dynamodb").put_item(TableName=self.table, Item=item)

    def get_charge(self, vendor_id: str, application_id: str, now: float) -> CachedResponse | None:
        """The answer first obtained for the application (strongly consistent: replays must see it)."""
        return self._get(_charge_pk(vendor_id, application_id), now, consistent=True)

    def lookup(
        self, vendor_id: str, application_id: str, subject_key: str | None, now: float
    ) -> tuple[CachedResponse | None, CachedResponse | None]:
        """(charge record, cached answer) in one BatchGetItem: one round trip before a vendor call."""
        charge_pk = _charge_pk(vendor_id, application_id)
        if subject_key is None:
            return self._get(charge_pk, now, consistent=True), None
        data_pk = _data_pk(vendor_id, subject_key)
        request = {
            self.table: {"Keys": [{"pk": {"S": charge_pk}}, {"pk": {"S": data_pk}}], "ConsistentRead": True}
        }
        found: dict[str, dict] = {}
        # BatchGetItem may return keys unprocessed under throttling; ask again a few times.
        for _ in range(3):
            answer = client("dynamodb").batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(self.table, []):
                found[item["pk"]["S"]] = item
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
        else:
            raise RuntimeError("data-cache lookup left keys unprocessed")
        return _live(found.get(charge_pk), now), _live(found.get(data_pk), now)

    def put_charge(
        self, vendor_id: str, application_id: str, entry: CachedResponse, expires_at: float
    ) -> bool:
        """Record the first answer for the application; False when a live one is already there."""
        item = self._item(_charge_pk(vendor_id, application_id), "CHARGE", vendor_id, entry, expires_at)
        try:
            client("dynamodb").put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR expires_at <= :now",
                ExpressionAttributeValues={":now": {"N": str(math.floor(entry.fetched_at))}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True
