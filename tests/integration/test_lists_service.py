"""List management and lookup on a moto DynamoDB table built from ``deployment.TABLES``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lendguard import deployment
from lendguard.core.errors import Conflict, InvalidInput, NotFound
from lendguard.core.hashing import LOCAL_SECRET
from lendguard.core.identity import make_resident_id
from lendguard.lists.entries import epoch
from lendguard.lists.keys import KeyType, hash_value
from lendguard.lists.service import ListService
from lendguard.store.lists import DynamoListStore
from lendguard.store.tables import create_table, table_spec

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
PHONE = "13800138000"
PHONE_WRITTEN_ELSEWHERE = "+86 138-0013-8000"
DEVICE = "dev-FraudRing-0042"
ID_NUMBER = make_resident_id("330106", datetime(1991, 3, 14).date(), 11)
CARD = "6222 0212 3456 7894"


class FakeClock:
    """A clock tests move by hand, to cross expiry boundaries exactly."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def table(monkeypatch) -> Iterator[str]:
    from moto import mock_aws

    from lendguard.store import aws, secrets

    monkeypatch.setenv(deployment.ENV_LISTS_TABLE, "lendguard-test-lists")
    monkeypatch.setenv(deployment.ENV_HASH_SECRET, LOCAL_SECRET)
    monkeypatch.delenv(deployment.ENV_HASH_SECRET_PARAM, raising=False)
    with mock_aws():
        aws.reset_clients()
        secrets.hash_secret.cache_clear()
        yield create_table(table_spec(deployment.ENV_LISTS_TABLE))
    aws.reset_clients()
    secrets.hash_secret.cache_clear()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def service(table, clock) -> ListService:
    return ListService(DynamoListStore(), LOCAL_SECRET, clock)


def scan_all(table: str) -> list[dict[str, Any]]:
    from lendguard.store.aws import client

    items, kwargs = [], {"TableName": table}
    while True:
        resp = client("dynamodb").scan(**kwargs)
        items.extend(resp["Items"])
        if "LastEvaluatedKey" not in resp:
            return items
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def strings_in(value: Any) -> Iterator[str]:
    """Every string anywhere in a low-level DynamoDB item (keys, values, nested lists and maps)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from strings_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings_in(v)
    else:
        yield str(value)


def entries(table: str) -> list[dict[str, Any]]:
    return [i for i in scan_all(table) if i["record_type"]["S"] == "entry"]


def count_batch_gets() -> list[int]:
    from lendguard.store.aws import client

    calls: list[int] = []
    client("dynamodb").meta.events.register(
        "provide-client-params.dynamodb.BatchGetItem",
        lambda params, **kw: calls.append(sum(len(t["Keys"]) for t in params["RequestItems"].values())),
    )
    return calls


# -- add / extend / remove / get with the audit trail ------------------------------------------
def test_add_extend_remove_are_audited_with_who_and_when(service, clock):
    added = service.put("black", "phone", PHONE, {"reason_code": "FRAUD_RING", "reason": "ring", "ttl_days": 30,
                                                  "added_by": "alice"})  # fmt: skip
    assert added.action == "add" and added.entry.expires_at == epoch(T0) + 30 * 86_400
    clock.now = T0 + timedelta(days=1)
    extended = service.put("BLACK", "PHONE", PHONE, {"ttl_days": 90, "added_by": "bob"})
    assert extended.action == "extend"
    entry = extended.entry
    assert (entry.reason_code, entry.reason, entry.added_by, entry.added_at) == (
        "FRAUD_RING",
        "ring",
        "alice",
        T0,
    )
    assert entry.updated_by == "bob" and entry.updated_at == clock.now
    assert entry.expires_at == epoch(clock.now) + 90 * 86_400

    looked = service.get("black", "phone", PHONE)
    assert looked.listed and looked.entry.expires_at == entry.expires_at
    clock.now = T0 + timedelta(days=2)
    removed = service.remove("black", "phone", PHONE, {"removed_by": "carol", "reason": "cleared by review"})
    assert removed.action == "remove"
    after = service.get("black", "phone", PHONE)
    assert not after.listed and after.entry is None
    history = [(e.action, e.by, e.at) for e in after.history]
    assert history == [("add", "alice", T0), ("extend", "bob", T0 + timedelta(days=1)),
                       ("remove", "carol", T0 + timedelta(days=2))]  # fmt: skip
    assert after.history[1].previous_expires_at == epoch(T0) + 30 * 86_400
    assert after.history[2].reason == "cleared by review"
    with pytest.raises(NotFound, match="not listed"):
        service.remove("black", "phone", PHONE, {"removed_by": "carol"})


def test_extend_changes_only_the_expiry(service, clock):
    service.put("grey", "device_id", DEVICE, {"reason_code": "EMULATOR", "ttl_days": 7, "added_by": "ops"})
    result = service.extend("grey", "device_id", DEVICE, by="ops2", ttl_days=60)
    assert result.action == "extend" and result.entry.reason_code == "EMULATOR"
    assert service.extend("grey", "device_id", DEVICE, by="ops2").entry.permanent  # no expiry: permanent
    with pytest.raises(NotFound):
        service.extend("white", "device_id", DEVICE, by="ops2", ttl_days=1)


# -- expiry ------------------------------------------------------------------------------------
def test_expiry_exactly_at_the_boundary(service, clock):
    expires = epoch(T0) + 3600
    service.put(
        "black", "device_id", DEVICE, {"reason_code": "FRAUD_RING", "expires_at": expires, "added_by": "ops"}
    )
    store = DynamoListStore()
    keys = [("DEVICE_ID", hash_value(KeyType.DEVICE_ID, DEVICE, LOCAL_SECRET))]
    one_second_before = datetime.fromtimestamp(expires - 1, UTC)
    at_expiry = datetime.fromtimestamp(expires, UTC)

    assert [h.reason_code for h in store.find(keys, one_second_before)] == ["FRAUD_RING"]
    assert store.find(keys, at_expiry) == []
    clock.now = one_second_before
    assert service.get("black", "device_id", DEVICE).listed
    clock.now = at_expiry
    # DynamoDB has not deleted the item (TTL is lazy; moto never does): reads must ignore it.
    assert len(entries(_table_name())) == 1
    looked = service.get("black", "device_id", DEVICE)
    assert not looked.listed and looked.expired_entry is not None
    with pytest.raises(NotFound):
        service.remove("black", "device_id", DEVICE, {"removed_by": "ops"})
    assert service.export("black")[0] == []
    # Listing it again is an add (a fresh entry), and the history goes on.
    again = service.put(
        "black", "device_id", DEVICE.upper(), {"reason_code": "FRAUD_RING", "added_by": "ops"}
    )
    assert again.action == "add" and again.entry.added_at == at_expiry and again.entry.permanent
    assert [e.action for e in service.get("black", "device_id", DEVICE).history] == ["add", "add"]


def _table_name() -> str:
    import os

    return os.environ[deployment.ENV_LISTS_TABLE]


def test_permanent_entries_never_expire(service, clock):
    service.put("white", "id_number", ID_NUMBER, {"reason_code": "STAFF", "added_by": "hr"})
    far = T0 + timedelta(days=365 * 80)
    hits = DynamoListStore().find(
        [("ID_NUMBER", hash_value(KeyType.ID_NUMBER, ID_NUMBER, LOCAL_SECRET))], far
    )
    assert [(h.kind, h.expires_at) for h in hits] == [("WHITE", None)]
    assert "expires_at" not in entries(_table_name())[0]


def test_explicit_expiry_must_be_in_the_future(service):
    with pytest.raises(InvalidInput) as exc:
        service.put(
            "black", "phone", PHONE, {"reason_code": "X1", "expires_at": epoch(T0), "added_by": "ops"}
        )
    assert [d.field for d in exc.value.details] == ["expires_at"]


# -- lookup ------------------------------------------------------------------------------------
def test_find_checks_every_key_on_every_list_in_one_batch_get(service, clock):
    service.put("black", "device_id", DEVICE, {"reason_code": "FRAUD_RING", "added_by": "ops"})
    service.put("grey", "phone", PHONE, {"reason_code": "DISPUTE", "ttl_days": 90, "added_by": "ops"})
    service.put("white", "ip", "203.0.113.7", {"reason_code": "OFFICE", "added_by": "ops"})
    service.put("white", "bank_card", CARD, {"reason_code": "STAFF", "added_by": "ops"})
    keys = [
        ("ID_NUMBER", hash_value(KeyType.ID_NUMBER, ID_NUMBER, LOCAL_SECRET)),
        ("PHONE", hash_value(KeyType.PHONE, PHONE_WRITTEN_ELSEWHERE, LOCAL_SECRET)),
        ("DEVICE_ID", hash_value(KeyType.DEVICE_ID, DEVICE.lower(), LOCAL_SECRET)),
        ("IP", hash_value(KeyType.IP, "::ffff:203.0.113.7", LOCAL_SECRET)),
    ]
    calls = count_batch_gets()
    hits = DynamoListStore().find(keys, T0)
    assert calls == [12]  # one BatchGetItem: 3 lists x 4 key types
    assert [(h.kind, h.key_type, h.reason_code) for h in hits] == [
        ("BLACK", "DEVICE_ID", "FRAUD_RING"), ("GREY", "PHONE", "DISPUTE"), ("WHITE", "IP", "OFFICE"),
    ]  # fmt: skip


def test_same_phone_written_two_ways_is_one_entry_and_hits_once(service, table):
    service.put("grey", "phone", PHONE_WRITTEN_ELSEWHERE, {"reason_code": "DISPUTE", "added_by": "ops"})
    assert (
        service.put("grey", "phone", PHONE, {"reason_code": "DISPUTE", "added_by": "ops"}).action == "update"
    )
    report = service.import_csv(
        f"kind,key_type,value,reason\nGREY,PHONE,{PHONE},DISPUTE\nGREY,PHONE,0086 138 0013 8000,DISPUTE\n",
        added_by="ops",
    )
    assert (report.written, report.superseded, report.failed) == (1, 1, 0)
    assert len(entries(table)) == 1
    hits = DynamoListStore().find([("PHONE", hash_value(KeyType.PHONE, "8613800138000", LOCAL_SECRET))], T0)
    assert len(hits) == 1


# -- hashing: nothing in clear -----------------------------------------------------------------
def test_no_clear_value_anywhere_in_the_table(service, table, clock):
    values = {
        ("black", "phone"): PHONE_WRITTEN_ELSEWHERE,
        ("grey", "device_id"): DEVICE,
        ("white", "id_number"): ID_NUMBER,
        ("black", "bank_card"): CARD,
        ("grey", "ip"): "2001:db8::7",
    }
    for (kind, key_type), value in values.items():
        service.put(kind, key_type, value, {"reason_code": "TEST_CASE", "reason": "seen by ops", "ttl_days": 5,
                                            "added_by": "ops"})  # fmt: skip
    service.put("black", "phone", PHONE, {"ttl_days": 50, "added_by": "ops"})
    service.remove("grey", "ip", "2001:DB8:0::7", {"removed_by": "ops", "reason": "false positive"})
    csv_values = ["13900000011", "dev-import-0001", "198.51.100.23", "4111 1111 1111 1111"]
    service.import_csv(
        "kind,key_type,value,reason,ttl_days\n"
        f"BLACK,PHONE,{csv_values[0]},FRAUD_RING,\nGREY,DEVICE_ID,{csv_values[1]},EMULATOR,30\n"
        f"WHITE,IP,{csv_values[2]},OFFICE,\nBLACK,BANK_CARD,{csv_values[3]},STOLEN_CARD,\n",
        added_by="ops",
    )
    forms = set()
    for raw in [*values.values(), *csv_values]:
        forms |= {raw, raw.lower(), "".join(raw.split()), "".join(c for c in raw if c.isalnum())}
    forms |= {PHONE, "8613800138000", DEVICE.lower(), "6222021234567894", "4111111111111111", "2001:db8::7"}
    items = scan_all(table)
    assert {i["record_type"]["S"] for i in items} == {"entry", "audit", "import"}
    for item in items:
        for text in strings_in(item):
            leaked = [f for f in forms if f in text]
            assert not leaked, f"clear value in {item['pk']['S']}: {text}"


def test_free_text_may_not_carry_the_value(service, table):
    with pytest.raises(InvalidInput) as exc:
        service.put(
            "black",
            "phone",
            PHONE,
            {"reason_code": "X1", "reason": "caller 138 0013 8000", "added_by": "ops"},
        )
    assert [d.field for d in exc.value.details] == ["reason"]
    assert scan_all(table) == []


# -- validation: nothing half-written ---------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "body", "fields"),
    [
        (("purple", "phone", PHONE), {"reason_code": "X1", "added_by": "ops"}, ["kind"]),
        (("black", "email", PHONE), {"reason_code": "X1", "added_by": "ops"}, ["key_type"]),
        (("black", "phone", "12345"), {"reason_code": "X1", "added_by": "ops"}, ["value"]),
        (("black", "phone", PHONE), {"added_by": "ops"}, ["reason_code"]),
        (("black", "phone", PHONE), {"reason_code": "X1"}, ["added_by"]),
        (("black", "phone", PHONE), {"reason_code": "X1", "added_by": "ops", "ttl_days": 1, "expires_at": 1},
         ["(body)"]),
        (("black", "phone", PHONE), {"reason_code": "X1", "added_by": "ops", "source": "rumour"}, ["source"]),
        (("black", "bank_card", "4111111111111112"), {"reason_code": "X1", "added_by": "ops", "ttl": 3},
         ["value", "ttl"]),
        (("black", "phone", PHONE), ["not", "an", "object"], ["(body)"]),
    ],
)  # fmt: skip
def test_bad_requests_name_the_field_and_write_nothing(service, table, path, body, fields):
    with pytest.raises(InvalidInput) as exc:
        service.put(*path, body)
    assert [d.field for d in exc.value.details] == fields
    assert scan_all(table) == []


def test_a_concurrent_change_is_refused_not_lost(service, table):
    service.put("black", "phone", PHONE, {"reason_code": "FRAUD_RING", "added_by": "alice"})

    class RacingStore(DynamoListStore):
        """Another operator writes between this request's read and its write."""

        def get(self, pk):
            seen = super().get(pk)
            ListService(DynamoListStore(), LOCAL_SECRET, lambda: T0).put(
                "black", "phone", PHONE, {"reason_code": "FRAUD_RING", "ttl_days": 5, "added_by": "bob"}
            )
            return seen

    with pytest.raises(Conflict):
        ListService(RacingStore(), LOCAL_SECRET, lambda: T0).put(
            "black", "phone", PHONE, {"reason_code": "MISTAKE", "added_by": "alice"}
        )
    looked = service.get("black", "phone", PHONE)
    assert looked.entry.updated_by == "bob" and [e.by for e in looked.history] == ["alice", "bob"]


# -- import / export ---------------------------------------------------------------------------
def test_import_keeps_good_rows_reports_bad_ones_and_is_idempotent(service, table, clock):
    text = (
        "kind,key_type,value,reason,ttl_days\n"
        "BLACK,DEVICE_ID,dev-blacklisted-0001,FRAUD_RING,\n"
        "GREY,PHONE,13900000000,disputed a charge,90\n"
        "BLACK,PHONE,not-a-phone,X,\n"
        "WHITE,ID_NUMBER," + ID_NUMBER + ",STAFF,\n"
        "BLACK,IP,300.1.1.1,X,\n"
    )
    report = service.import_csv(text, added_by="ops")
    assert (report.rows, report.written, report.failed) == (5, 3, 2)
    assert [(e.row, e.field) for e in report.errors] == [(3, "value"), (5, "value")]
    stored = {i["kind"]["S"] + "/" + i["key_type"]["S"]: i for i in entries(table)}
    assert set(stored) == {"BLACK/DEVICE_ID", "GREY/PHONE", "WHITE/ID_NUMBER"}
    assert all(
        i["import_id"]["S"] == report.import_id and i["source"]["S"] == "import" for i in stored.values()
    )
    (page,) = [i for i in scan_all(table) if i["record_type"]["S"] == "import"]
    assert page["by"]["S"] == "ops" and len(page["keys"]["L"]) == 3 and page["failed"]["N"] == "2"
    assert service.get("grey", "phone", "13900000000").entry.reason == "disputed a charge"

    clock.now = T0 + timedelta(hours=1)
    again = service.import_csv(text, added_by="ops")
    assert (again.written, again.failed) == (3, 2)
    assert {i["pk"]["S"] for i in entries(table)} == {i["pk"]["S"] for i in stored.values()}


@pytest.mark.parametrize(
    ("kwargs", "field"), [({"added_by": ""}, "added_by"), ({"added_by": "ops", "source": "rumour"}, "source")]
)
def test_import_needs_who_and_a_known_source(service, table, kwargs, field):
    with pytest.raises(InvalidInput) as exc:
        service.import_csv("kind,key_type,value\nBLACK,PHONE,13900000000\n", **kwargs)
    assert exc.value.details[0].field == field and scan_all(table) == []


def test_export_pages_through_live_entries(service, clock):
    for i in range(7):
        service.put(
            "black", "device_id", f"dev-export-{i:04d}", {"reason_code": "FRAUD_RING", "added_by": "ops"}
        )
    service.put(
        "grey", "device_id", "dev-export-grey", {"reason_code": "EMULATOR", "ttl_days": 1, "added_by": "ops"}
    )
    seen, cursor = [], None
    while True:
        page, cursor = service.export("black", limit=3, cursor=cursor)
        assert len(page) <= 3
        seen.extend(page)
        if cursor is None:
            break
    assert len(seen) == 7 and len({e.value_hash for e in seen}) == 7 and {e.kind for e in seen} == {"BLACK"}
    assert len(service.export(None, limit=100)[0]) == 8
    clock.now = T0 + timedelta(days=1)
    assert len(service.export(None, limit=100)[0]) == 7  # the grey entry expired
    with pytest.raises(InvalidInput) as exc:
        service.export("black", cursor="bm90LWEtY3Vyc29y")
    assert exc.value.details[0].field == "cursor"
