"""Identity-check vendors in the flow: liveness, telco, face (own consent), the payout card after
the model; simulated answers; and no image ever kept."""

import copy
from datetime import UTC, datetime

import pytest

from lendguard.core.application import parse_application
from lendguard.core.hashing import LOCAL_SECRET
from lendguard.core.vendor_responses import RESPONSE_MODELS, FaceCompare, LivenessCheck
from lendguard.decision.pipeline import MemoryArchive, Pipeline
from lendguard.decision.stages import decision, validate
from lendguard.policy.loader import load_policy_data
from lendguard.vendors.base import ProviderRegistry
from lendguard.vendors.simulated import face_compare, liveness_check, phone_status

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
IMAGE_MARKERS = (b"\xff\xd8\xff", b"/9j/", b"iVBORw0KGgo", b"data:image")


class Answer:
    """A provider with a fixed answer and raw body, counting its calls and what it was sent."""

    self_timed = True

    def __init__(self, response, raw: bytes | None = None):
        self.response, self.raw, self.calls = response, raw, []

    def fetch(self, subject, application):
        self.calls.append((subject, application))
        return self.response, self.raw or self.response.model_dump_json().encode()


def decide(policy, model, raw, registry=None, archive=None):
    pipeline = Pipeline(policy, model, LOCAL_SECRET, archive=archive, providers=registry)
    return pipeline.decide(parse_application(raw, policy.products), "C-kyc", NOW)


def calls(state) -> dict[str, tuple[str, str | None]]:
    return {v.vendor: (v.status, v.error_type) for v in state.trace.vendors}


@pytest.mark.parametrize(
    ("example", "decision_", "reasons", "stopped"),
    [
        ("approve", "APPROVE", [], None),
        ("reject-kyc-ocr", "REJECT", ["KYC_OCR_MISMATCH"], "admission"),
        ("reject-liveness", "REJECT", ["LIV_FAILED"], "vendor:liveness"),
        ("reject-face", "REJECT", ["FACE_MISMATCH"], "vendor:face"),
        ("review-no-face-consent", "REVIEW", ["FACE_NOT_COMPARED"], None),
    ],
)
def test_each_identity_example_gets_its_decision(
    default_policy, default_model, examples, example, decision_, reasons, stopped
):
    state = decide(default_policy, default_model, examples[example])
    assert state.decision == decision_
    assert [r.code for r in state.reasons if r.source == "rule"] == reasons
    assert state.halted_at == stopped


def test_an_approved_case_paid_every_identity_check_in_cost_order(default_policy, default_model, examples):
    state = decide(default_policy, default_model, examples["approve"])
    assert [v.vendor for v in state.trace.vendors] == [
        "liveness", "identity", "telco3", "phone_status", "face", "fraud_blacklist", "fraud_score", "bureau",
        "bank_card",
    ]  # fmt: skip
    assert all(v.status == "ok" for v in state.trace.vendors)
    # fraud_blacklist is billed per hit and did not hit.
    expected = sum(default_policy.vendor_by_id[v].cost for v in calls(state) if v != "fraud_blacklist")
    assert state.vendor_cost == pytest.approx(expected)


def test_an_ocr_mismatch_rejects_before_any_vendor_is_paid(default_policy, default_model, examples):
    state = decide(default_policy, default_model, examples["reject-kyc-ocr"])
    assert state.trace.vendors == [] and state.vendor_cost == 0


def test_without_face_consent_the_face_vendor_is_never_called(default_policy, default_model, examples):
    registry = ProviderRegistry(sleep=lambda s: None)
    face = Answer(FaceCompare(similarity=99))
    registry.register("face", face)
    state = decide(default_policy, default_model, examples["review-no-face-consent"], registry)
    assert face.calls == []
    call = next(v for v in state.trace.vendors if v.vendor == "face")
    assert (call.status, call.error_type, call.attempts, call.cost) == ("skipped", "no_consent", 0, 0)
    assert state.facts["consents.face"] is False and state.facts["face.similarity"] is None
    assert "FACE_NOT_COMPARED" in [r.code for r in state.reasons]


def test_the_liveness_result_is_fetched_with_the_session_token_and_an_app_score_never_used(
    default_policy, default_model, examples
):
    registry = ProviderRegistry(sleep=lambda s: None)
    liveness = Answer(LivenessCheck(passed=False, score=12, attack_suspected=True))
    registry.register("liveness", liveness)
    state = decide(default_policy, default_model, examples["approve"], registry)
    ((subject, application),) = liveness.calls
    assert (
        application["kyc"]["liveness"]["session_token"]
        == examples["approve"]["kyc"]["liveness"]["session_token"]
    )
    assert subject.liveness_session is not None
    assert state.decision == "REJECT" and state.halted_at == "vendor:liveness"
    assert state.trace.rules[-1].observed["liveness.score"] == 12


def test_a_session_of_another_sdk_is_not_sent_to_our_liveness_vendor(default_policy, default_model, examples):
    raw = copy.deepcopy(examples["approve"])
    raw["kyc"]["liveness"]["vendor"] = "othersdk"
    state = decide(default_policy, default_model, raw)
    assert calls(state)["liveness"] == ("skipped", "other_session_vendor")
    # The rule cannot tell a pass: it sends the case to review (on_missing).
    assert state.decision == "REVIEW" and "LIV_FAILED" in [r.code for r in state.reasons]


def test_without_a_kyc_block_liveness_and_face_are_skipped_and_their_rules_do_not_fire(
    default_policy, default_model, examples
):
    raw = copy.deepcopy(examples["approve"])
    del raw["kyc"]
    state = decide(default_policy, default_model, raw)
    assert calls(state)["liveness"] == ("skipped", "no_identifier")
    assert calls(state)["face"][0] == "skipped"
    assert state.decision == "APPROVE" and "KYC_NO_ID_CARD" in state.flags


def test_the_payout_card_is_checked_only_for_a_case_about_to_get_an_offer(
    default_policy, default_model, examples
):
    strict = default_policy.model_dump(mode="json")
    strict["cutoffs"] = {"approve_min": 1000, "review_min": 990}  # every score below the cut-off
    strict = load_policy_data(strict)
    registry = ProviderRegistry(sleep=lambda s: None)
    card = Answer(RESPONSE_MODELS["bank_card_check"](match=False))
    registry.register("bank_card", card)
    state = decide(strict, default_model, examples["approve"], registry)
    assert state.reasons[0].code == "SCORE_BELOW_CUTOFF" and card.calls == []
    assert "bank_card" not in calls(state)
    # The same applicant above the cut-off: checked, and the mismatch withdraws the offer.
    state = decide(default_policy, default_model, examples["approve"], registry)
    assert len(card.calls) == 1 and state.decision == "REJECT" and state.offer is None
    assert state.halted_at == "vendor:payout" and state.reasons[0].code == "CARD_FOUR_FACTOR_MISMATCH"


def test_a_payout_to_a_wallet_needs_no_card_check(default_policy, default_model, examples):
    raw = copy.deepcopy(examples["approve"])
    del raw["applicant"]["bank_card"]
    state = decide(default_policy, default_model, raw)
    assert calls(state)["bank_card"] == ("skipped", "no_identifier") and state.decision == "APPROVE"


def test_without_vendor_access_the_payout_rules_meet_missing_data(default_policy, examples):
    app = parse_application(examples["approve"], default_policy.products)
    state = validate.open_case(app, default_policy, "C-1", NOW, LOCAL_SECRET)
    decision.check_before_offer(state, default_policy, None)
    (call,) = state.trace.vendors
    assert (call.vendor, call.status, call.detail) == ("bank_card", "skipped", decision.NO_VENDOR_ACCESS)
    assert [r.code for r in state.review_reasons] == ["CARD_FOUR_FACTOR_MISMATCH"]


def test_no_image_from_a_biometric_vendor_is_ever_archived(default_policy, default_model, examples):
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 32
    raw_face = b'{"similarity": 91.5, "capture": "/9j/4AAQSkZJRgABAQ", "register_photo": "iVBORw0KGgoAAAANS"}'
    raw_live = b'{"passed": true, "score": 97, "best_frame": "data:image/jpeg;base64,/9j/4AAQ"}'
    registry = ProviderRegistry(sleep=lambda s: None)
    registry.register("face", Answer(FaceCompare(similarity=91.5), raw_face + jpeg))
    registry.register("liveness", Answer(LivenessCheck(passed=True, score=97), raw_live))
    archive = MemoryArchive(keep=True)
    state = decide(default_policy, default_model, examples["approve"], registry, archive)
    assert state.decision == "APPROVE"
    stored = {ref.rsplit("/", 1)[1]: payload for ref, payload in archive.payloads.items()}
    assert {"face", "liveness", "bureau"} <= set(stored)
    for vendor_id, payload in stored.items():
        assert not any(marker in payload for marker in IMAGE_MARKERS), vendor_id
    assert FaceCompare.model_validate_json(stored["face"]).similarity == 91.5
    assert state.facts["face.similarity"] == 91.5


def test_simulated_identity_answers_are_deterministic_with_the_documented_shares():
    sessions = [f"{i:064x}" for i in range(4000)]
    live = [liveness_check(s) for s in sessions]
    assert [liveness_check(s) for s in sessions[:50]] == live[:50]
    failed = sum(not r.passed for r in live) / len(live)
    assert 0.035 < failed < 0.065  # 3% spoofed + 2% poor captures
    assert all((r.score >= 75) == r.passed for r in live)
    faces = [face_compare(s).similarity for s in sessions]
    assert 0.01 < sum(f < 50 for f in faces) / len(faces) < 0.03
    assert 0.035 < sum(60 <= f < 80 for f in faces) / len(faces) < 0.065
    lines = [phone_status(s) for s in sessions]
    assert all(r.in_service == (r.line_status == "active") for r in lines)
    assert 0.02 < sum(not r.in_service for r in lines) / len(lines) < 0.045
