"""Identity checks through the real decision state machine on moto: a kyc block decided end to
end, the face vendor gated by its consent, the payout card checked before the offer, and no
image anywhere in the payload store or the case archive."""

import json

import pytest

from lendguard.cases.service import decide
from lendguard.core.vendor_responses import FaceCompare
from lendguard.decision.wiring import vendor_registry
from lendguard.settings import settings
from lendguard.store import archive, cases
from lendguard.store.aws import client

IMAGE_MARKERS = (b"\xff\xd8\xff", b"/9j/", b"iVBORw0KGgo", b"data:image")


def submit(body: dict):
    status, response = decide(json.dumps(body))
    assert status == 200, response
    return response, cases.get_case(response.case_id)


class ImageEchoingFace:
    """A face vendor whose raw answer carries the capture and the register photo (some do)."""

    self_timed = True

    def fetch(self, subject, application):
        raw = b'{"similarity": 93.0, "capture": "/9j/4AAQSkZJRgABAQ", "photo": "iVBORw0KGgoAAAANS"}'
        return FaceCompare(similarity=93.0), raw + b"\xff\xd8\xff\xe0"


@pytest.fixture
def echoing_face(runtime):
    registry = vendor_registry()
    registry.register("face", ImageEchoingFace())
    yield
    registry.unregister("face")


def test_a_kyc_application_is_decided_with_every_identity_check_and_no_image_is_stored(
    runtime, cold_cache, examples, echoing_face
):
    body = {**examples["approve"], "application_id": "KYC-E2E-1"}
    response, case = submit(body)
    assert response.decision == "APPROVE", response.reasons
    called = {v.vendor: v.status for v in case.trace.vendors}
    assert {
        k: called[k] for k in ("liveness", "telco3", "phone_status", "face", "bank_card")
    } == dict.fromkeys(("liveness", "telco3", "phone_status", "face", "bank_card"), "ok")
    assert case.facts_seen["kyc.ocr_name_match"] is True and case.facts_seen["face.similarity"] == 93.0
    s3 = client("s3")
    objects = s3.list_objects_v2(Bucket=settings.data_bucket).get("Contents", [])
    assert objects
    for obj in objects:
        body_bytes = s3.get_object(Bucket=settings.data_bucket, Key=obj["Key"])["Body"].read()
        assert not any(m in body_bytes for m in IMAGE_MARKERS), obj["Key"]
    record = archive.get_archive(case.case_id).model_dump_json().encode()
    assert not any(m in record for m in IMAGE_MARKERS)
    assert b'"kyc"' in record  # the application's kyc block is archived (sealed, personal data)
    # The case record keeps no clear identifier from the kyc block.
    text = case.model_dump_json()
    assert body["kyc"]["liveness"]["session_token"] not in text and body["applicant"]["id_number"] not in text


@pytest.mark.parametrize(
    ("example", "decision", "reason", "face_status"),
    [
        ("reject-liveness", "REJECT", "LIV_FAILED", None),
        ("review-no-face-consent", "REVIEW", "FACE_NOT_COMPARED", "skipped"),
    ],
)
def test_liveness_and_face_consent_decide_through_the_state_machine(
    runtime, cold_cache, examples, example, decision, reason, face_status
):
    response, case = submit(examples[example])
    assert response.decision == decision and reason in [r.code for r in response.reasons]
    face = next((v for v in case.trace.vendors if v.vendor == "face"), None)
    assert (face.status if face else None) == face_status
    if face is not None:
        assert face.error_type == "no_consent" and face.attempts == 0
