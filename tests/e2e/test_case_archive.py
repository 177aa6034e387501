"""The case archive on the local stack: one sealed record per case, readable only with the key."""

import copy
import json

import pytest

from lendguard.cases.service import decide
from lendguard.core.errors import NotFound
from lendguard.settings import settings
from lendguard.store import archive, cases
from lendguard.store.aws import client


def _objects(prefix: str) -> dict[str, bytes]:
    s3 = client("s3")
    listed = s3.list_objects_v2(Bucket=settings.data_bucket, Prefix=prefix).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=settings.data_bucket, Key=o["Key"])["Body"].read() for o in listed}


@pytest.mark.parametrize("example", ["approve", "review", "reject-admission"])
def test_every_decided_case_is_archived_sealed(runtime, examples, example):
    raw = copy.deepcopy(examples[example])
    raw["application_id"] = f"A-ARCH-{example}"
    status, r = decide(json.dumps(raw))
    assert status == 200
    stored = _objects("archive/")
    mine = {k: v for k, v in stored.items() if r.case_id in k}
    assert sorted(k.split("/")[1] for k in mine) == ["derived", "header", "personal"]
    secrets = [raw["applicant"][f] for f in ("id_number", "phone", "name")] + [raw["device"]["device_id"]]
    for body in mine.values():
        assert not any(s.encode() in body for s in secrets)  # the bucket alone shows ciphertext

    record = archive.get_archive(r.case_id)
    assert record.header.schema_version == 1 and record.header.decision == r.decision
    assert record.personal.application["applicant"]["id_number"] == raw["applicant"]["id_number"]
    assert record.header.consents == {
        purpose: f"{r['text_id']}@{r['text_version']}" for purpose, r in raw["consents"].items()
    }
    assert {"bureau", "telco", "bank_card"} <= set(record.header.consents)
    assert record.derived.facts["applicant.monthly_income"] == raw["applicant"]["monthly_income"]
    if example != "reject-admission":
        called = {v.vendor for v in cases.get_case(r.case_id).trace.vendors if v.payload_ref}
        assert record.derived.model_inputs and set(record.derived.vendor_payloads) == called
        assert {"liveness", "face", "identity", "bureau"} <= called
    assert cases.get_case(r.case_id).application_ref.endswith(f"archive/header/{r.case_id}.json")


def test_an_archive_record_is_written_once_and_a_tampered_one_does_not_open(runtime, examples):
    raw = copy.deepcopy(examples["approve"])
    raw["application_id"] = "A-ARCH-ONCE"
    _, r = decide(json.dumps(raw))
    record = archive.get_archive(r.case_id)
    other = record.model_copy(deep=True)
    other.personal.application["applicant"]["name"] = "Someone Else"
    archive.put_archive(other)  # a retried finalize keeps the first record
    assert archive.load_application(r.case_id)["applicant"]["name"] == raw["applicant"]["name"]

    s3, key = client("s3"), archive.object_key(r.case_id, "personal")
    envelope = json.loads(s3.get_object(Bucket=settings.data_bucket, Key=key)["Body"].read())
    s3.put_object(Bucket=settings.data_bucket, Key=archive.object_key("C-other", "personal"),
                  Body=json.dumps({**envelope, "case_id": "C-other"}).encode())  # fmt: skip
    with pytest.raises(Exception, match=r"InvalidCiphertext|InvalidTag"):
        archive.unseal("C-other", "personal", json.dumps({**envelope, "case_id": "C-other"}).encode())
    with pytest.raises(NotFound):
        archive.load_application("C-never")
