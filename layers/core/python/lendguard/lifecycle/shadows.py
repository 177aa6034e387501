"""Champion / challenger: a challenger version decides a case in shadow, after the champion
answered, on the data the champion's flow already bought.

Nothing is called or paid for: each vendor the challenger asks for answers from the champion's
facts (``<vendor id>.<field>``) or, when the champion's flow never bought it (it stopped
earlier, or the challenger uses a vendor the champion does not), is unavailable, so the
challenger's ``on_missing`` rules apply and the result names what was missing. List hits come
from the champion's trace. The result is recorded with the case and never changes its answer.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError

from lendguard.core.application import parse_application
from lendguard.core.base_model import Model
from lendguard.core.errors import InvalidInput
from lendguard.core.facts import KeyType
from lendguard.core.vendor_responses import RESPONSE_MODELS, VendorResponse
from lendguard.decision.pipeline import MemoryLists, Pipeline
from lendguard.decision.state import DecisionState, Subject
from lendguard.internal.source import AssumedOwnData
from lendguard.lists.entries import ListHit
from lendguard.models.artifact import ModelArtifact
from lendguard.policy.schema import Policy, Vendor
from lendguard.vendors.base import ProviderRegistry
from lendguard.vendors.errors import VendorUnavailable

_SUBJECT_FIELD = {
    KeyType.ID_NUMBER.value: "id_number", KeyType.PHONE.value: "phone", KeyType.DEVICE_ID.value: "device_id",
    KeyType.BANK_CARD.value: "bank_card", KeyType.IP.value: "ip",
}  # fmt: skip


class ShadowResult(Model):
    """What a challenger version would have decided for a case."""

    policy: dict[str, Any]
    decision: str | None = None
    reasons: list[str] = Field(default_factory=list)
    points: float | None = None
    pd: float | None = None
    credit_limit: float | None = None
    apr: float | None = None
    halted_at: str | None = None
    not_bought: list[str] = Field(default_factory=list, description="Data the champion's flow never bought")
    error: str | None = None


class _Bought:
    """A vendor answering from the champion's facts, or unavailable if they were never bought."""

    self_timed = True

    def __init__(self, vendor: Vendor, facts: dict[str, Any], missing: list[str]):
        self.vendor = vendor
        prefix = f"{vendor.id}."
        self.answer = {
            k[len(prefix) :]: v for k, v in facts.items() if k.startswith(prefix) and v is not None
        }
        self.missing = missing

    def fetch(self, subject: Subject, application: dict[str, Any]) -> tuple[VendorResponse, bytes]:
        try:
            if not self.answer:
                raise ValueError("not bought")
            response = RESPONSE_MODELS[self.vendor.service].model_validate(self.answer)
        except (ValueError, ValidationError):
            self.missing.append(f"vendor {self.vendor.id}")
            raise VendorUnavailable(f"vendor {self.vendor.id}: not bought by the champion's flow") from None
        return response, b""


def run_shadow(state: DecisionState, challenger: Policy, model: ModelArtifact, secret: str) -> ShadowResult:
    """Decide the champion's case again under ``challenger`` without calling anything."""
    result = ShadowResult(policy=challenger.ref)
    try:
        app = parse_application(state.application, challenger.products)
    except InvalidInput as exc:
        result.error = f"the application does not fit this version: {exc.message}"
        return result
    missing: list[str] = []
    providers = ProviderRegistry(sleep=lambda _s: None)
    for vendor in challenger.vendors:
        providers.register(vendor.id, _Bought(vendor, state.facts, missing))
    lookup = MemoryLists()
    for hit in state.trace.list_hits:
        value = getattr(state.subject, _SUBJECT_FIELD.get(str(hit.get("key_type")), ""), None)
        if value:
            entry = ListHit.model_validate(hit)
            lookup.entries[(entry.kind.value, entry.key_type, value)] = entry
    if "lists" not in {s.stage for s in state.trace.stages}:
        missing.append("lists")
    if "internal_data" not in {s.stage for s in state.trace.stages}:
        missing.append("internal_data")
    # Our own data as the champion read it: a shadow must not count the case a second time.
    own = AssumedOwnData(recorded=state.facts)
    shadow = Pipeline(challenger, model, secret, lookup=lookup, providers=providers, own=own).decide(
        app, f"{state.case_id}-shadow-v{challenger.version}", state.received_at
    )
    result.decision, result.halted_at = shadow.decision, shadow.halted_at
    result.reasons = [r.code for r in shadow.reasons]
    if shadow.score is not None:
        result.points, result.pd = shadow.score.final_points, shadow.score.pd
    if shadow.offer is not None:
        result.credit_limit, result.apr = shadow.offer.credit_limit, shadow.offer.apr
    result.not_bought = sorted(set(missing))
    return result
