"""The case archive store on moto (S3 + KMS): sealed parts, written once, erased part by part."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from lendguard import deployment
from lendguard.cases.archive import ArchivedCase, ArchiveHeader, DerivedPart, PersonalPart
from lendguard.core.errors import NotFound
from lendguard.store import archive, aws
from lendguard.store.aws import client

T0 = datetime(2026, 11, 22, tzinfo=UTC)
APP = {"application_id": "A-1", "applicant": {"id_number": "330106199103140112", "name": "Wang Fang"}}


@pytest.fixture
def bucket(monkeypatch):
    from moto import mock_aws

    with mock_aws():
        aws.reset_clients()
        monkeypatch.setenv(deployment.ENV_DATA_BUCKET, "data-arch")
        client("s3").create_bucket(Bucket="data-arch")
        key = client("kms").create_key(Description="archive")["KeyMetadata"]["KeyId"]
        monkeypatch.setenv(deployment.ENV_ARCHIVE_KEY, key)
        yield "data-arch"
    aws.reset_clients()


def record(case_id: str, name: str = "Wang Fang") -> ArchivedCase:
    app = {**APP, "applicant": {**APP["applicant"], "name": name}}
    return ArchivedCase(
        header=ArchiveHeader(
            case_id=case_id,
            application_id="A-1",
            status="DECIDED",
            received_at=T0,
            archived_at=T0,
            decision="APPROVE",
        ),
        personal=PersonalPart(application=app),
        derived=DerivedPart(facts={"applicant.monthly_income": 12000}),
    )


def test_parts_are_sealed_and_open_only_for_their_own_case(bucket):
    ref = archive.put_archive(record("C-1"))
    assert ref == "s3://data-arch/archive/header/C-1.json"
    s3 = client("s3")
    for part in ("personal", "derived"):
        body = s3.get_object(Bucket=bucket, Key=archive.object_key("C-1", part))["Body"].read()
        assert b"330106199103140112" not in body and b"Wang" not in body and b"12000" not in body
    got = archive.get_archive("C-1")
    assert got.personal.application == APP and got.derived.facts == {"applicant.monthly_income": 12000}
    raw = s3.get_object(Bucket=bucket, Key=archive.object_key("C-1", "personal"))["Body"].read()
    with pytest.raises(ValueError, match="not an envelope"):
        archive.unseal("C-2", "personal", raw)  # another case's object


def test_a_record_is_written_once(bucket):
    archive.put_archive(record("C-1"))
    archive.put_archive(record("C-1", name="Someone Else"))
    assert archive.load_application("C-1")["applicant"]["name"] == "Wang Fang"


def test_erasing_removes_the_sealed_parts_and_keeps_the_header(bucket):
    archive.put_archive(record("C-1"))
    assert archive.erase_parts("C-1") == [
        archive.object_key("C-1", "personal"),
        archive.object_key("C-1", "derived"),
    ]
    assert archive.erase_parts("C-1") == []
    assert archive.get_header("C-1").decision == "APPROVE"
    got = archive.get_archive("C-1")
    assert got.personal is None and got.derived is None
    with pytest.raises(NotFound, match="no longer archived"):
        archive.load_application("C-1")
    with pytest.raises(NotFound):
        archive.get_header("C-none")


def test_the_decision_retention_becomes_the_case_ttl(monkeypatch):
    from lendguard.decision.wiring import retain_until

    monkeypatch.delenv(deployment.ENV_DECISION_RETENTION_DAYS, raising=False)
    assert retain_until(T0) is None
    monkeypatch.setenv(deployment.ENV_DECISION_RETENTION_DAYS, "1825")
    assert retain_until(T0) == datetime(2031, 11, 21, tzinfo=UTC)
    monkeypatch.setenv(deployment.ENV_DECISION_RETENTION_DAYS, "forever")
    with pytest.raises(RuntimeError, match="not a positive integer"):
        retain_until(T0)


def test_a_window_lists_the_archive_from_its_first_second_on(bucket, monkeypatch):
    def put(case_id: str, received: datetime) -> None:
        case = record(case_id)
        case.header.received_at = received
        archive.put_archive(case)

    put("C20260101090000-old", datetime(2026, 1, 1, 9, tzinfo=UTC))
    put("C20261101080000-new", datetime(2026, 11, 1, 8, tzinfo=UTC))
    # Re-decided today: a new id, the received time of the original, inside the window.
    put("C20261122000000-redo", datetime(2026, 10, 20, 12, tzinfo=UTC))
    read: list[str] = []
    original = archive._get
    monkeypatch.setattr(archive, "_get", lambda key: read.append(key) or original(key))
    since = datetime(2026, 10, 20, 20, 0, tzinfo=timezone(timedelta(hours=8)))  # 12:00 UTC
    listed = {h.case_id for h in archive.iter_headers(since)}
    assert listed == {"C20261101080000-new", "C20261122000000-redo"}
    assert not any("old" in key for key in read)  # the older history is never read
    assert {h.case_id for h in archive.iter_headers()} == listed | {"C20260101090000-old"}
