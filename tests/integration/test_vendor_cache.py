"""The data-cache table and vendor secrets on moto: TTL honoured on read, no double charge."""

import json

import pytest
from moto import mock_aws

from lendguard import deployment
from lendguard.decision.pipeline import MemoryArchive
from lendguard.decision.state import Subject
from lendguard.policy.schema import Vendor
from lendguard.store import aws, vendor_secrets
from lendguard.store.cache import DynamoVendorCache
from lendguard.store.tables import create_table, table_spec
from lendguard.vendors.base import ProviderRegistry
from lendguard.vendors.cache import CachedResponse
from lendguard.vendors.caller import CallRequest, call_vendor

TABLE = "test-data-cache"
NOW = 1_800_000_000.0


@pytest.fixture
def moto_env(monkeypatch):
    monkeypatch.setenv(deployment.ENV_CACHE_TABLE, TABLE)
    aws.reset_clients()
    vendor_secrets.clear_cache()
    with mock_aws():
        create_table(table_spec(deployment.ENV_CACHE_TABLE))
        yield aws.client("dynamodb")
    aws.reset_clients()
    vendor_secrets.clear_cache()


def entry(case_id="C-1", fetched_at=NOW, **response):
    return CachedResponse(response=response or {"match": True}, payload_ref=f"s3://b/raw/{case_id}/v.json",
                          case_id=case_id, fetched_at=fetched_at, cost=0.3, billed=True)  # fmt: skip


def test_cached_answers_are_keyed_by_vendor_and_subject_and_expire_on_read(moto_env):
    cache = DynamoVendorCache()
    cache.put_response("identity", "idhash", entry(), NOW + 100)
    assert cache.get_response("identity", "idhash", NOW + 99).case_id == "C-1"
    assert cache.get_response("identity", "other", NOW) is None
    assert cache.get_response("bureau", "idhash", NOW) is None
    # DynamoDB deletes expired items lazily (moto never): the read itself must ignore them.
    assert cache.get_response("identity", "idhash", NOW + 100) is None
    item = moto_env.get_item(TableName=TABLE, Key={"pk": {"S": "DATA#identity#idhash"}})["Item"]
    assert item["expires_at"] == {"N": str(int(NOW + 100))} and item["kind"] == {"S": "DATA"}
    assert "idhash" in item["pk"]["S"] and "match" in item["body"]["S"]


def test_lookup_reads_the_charge_record_and_the_cached_answer_in_one_round_trip(moto_env):
    cache = DynamoVendorCache()
    assert cache.lookup("bureau", "APP-1", "idhash", NOW) == (None, None)
    cache.put_response("bureau", "idhash", entry("C-1"), NOW + 100)
    cache.put_charge("bureau", "APP-1", entry("C-2"), NOW + 100)
    charge, data = cache.lookup("bureau", "APP-1", "idhash", NOW)
    assert (charge.case_id, data.case_id) == ("C-2", "C-1")
    charge, data = cache.lookup("bureau", "APP-1", None, NOW)
    assert charge.case_id == "C-2" and data is None
    assert cache.lookup("bureau", "APP-1", "idhash", NOW + 100) == (None, None)


def test_the_first_charge_record_of_an_application_is_never_replaced(moto_env):
    cache = DynamoVendorCache()
    assert cache.put_charge("bureau", "APP-1", entry("C-1"), NOW + 1000)
    assert not cache.put_charge("bureau", "APP-1", entry("C-2", NOW + 5), NOW + 1005)
    assert cache.get_charge("bureau", "APP-1", NOW + 10).case_id == "C-1"
    assert cache.get_charge("bureau", "APP-1", NOW + 1000) is None  # expired
    assert cache.put_charge("bureau", "APP-1", entry("C-3", NOW + 2000), NOW + 3000)  # may replace expired
    assert cache.get_charge("bureau", "APP-1", NOW + 2001).case_id == "C-3"


class Counting:
    def __init__(self, vendor):
        self.vendor, self.calls = vendor, 0

    def fetch(self, subject, application):
        from lendguard.vendors.simulated import simulate

        self.calls += 1
        response = simulate(self.vendor.service, subject.id_number)
        return response, response.model_dump_json().encode()


def test_no_double_charge_and_cache_hits_through_dynamodb(moto_env):
    bureau = Vendor(id="bureau", service="bureau_report", cost=3.0, cache_ttl_days=7)
    provider = Counting(bureau)
    clock = {"now": NOW}
    registry = ProviderRegistry(clock=lambda: clock["now"])
    registry.register("bureau", provider)
    cache, archive = DynamoVendorCache(), MemoryArchive()
    subject = Subject(id_number="idh", phone="ph", device_id="dh")

    def call(application_id, case_id):
        req = CallRequest(case_id=case_id, application_id=application_id, subject=subject, application={})
        return call_vendor(bureau, "bureau", req, registry, archive, cache).call

    first = call("APP-1", "C-1")
    retry = call("APP-1", "C-1")  # the same execution retried
    replay = call("APP-1", "C-2")  # the application re-submitted
    other = call("APP-2", "C-3")  # another application of the same person
    assert provider.calls == 1
    assert first.cost == 3.0 and retry.cost == replay.cost == other.cost == 0
    assert retry.replayed and replay.replayed and other.cache_hit
    assert {first.payload_ref} == {retry.payload_ref, replay.payload_ref, other.payload_ref}
    clock["now"] += 8 * 86_400  # past the bureau's 7-day TTL
    assert call("APP-3", "C-4").cost == 3.0 and provider.calls == 2


def test_vendor_secrets_from_secrets_manager_are_cached_and_never_echoed(moto_env):
    sm = aws.client("secretsmanager")
    sm.create_secret(Name="lendguard/bureau", SecretString="s3cr3t-token")
    sm.create_secret(Name="lendguard/telco", SecretString=json.dumps({"api_key": "k-123", "n": 1}))
    assert vendor_secrets.get_vendor_secret("lendguard/bureau") == "s3cr3t-token"
    assert vendor_secrets.get_vendor_secret("lendguard/telco", "api_key") == "k-123"
    sm.delete_secret(SecretId="lendguard/bureau", ForceDeleteWithoutRecovery=True)
    assert vendor_secrets.get_vendor_secret("lendguard/bureau") == "s3cr3t-token"  # cached
    vendor_secrets.clear_cache()
    with pytest.raises(
        vendor_secrets.VendorSecretError, match=r"secret 'lendguard/bureau': ResourceNotFoundException"
    ):
        vendor_secrets.get_vendor_secret("lendguard/bureau")
    with pytest.raises(vendor_secrets.VendorSecretError, match="has no string field 'n'") as info:
        vendor_secrets.get_vendor_secret("lendguard/telco", "n")
    assert "k-123" not in str(info.value)
    with pytest.raises(vendor_secrets.VendorSecretError, match="is not a JSON object"):
        sm.create_secret(Name="plain", SecretString="x")
        vendor_secrets.get_vendor_secret("plain", "api_key")
