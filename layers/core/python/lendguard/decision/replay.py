"""Deterministic replay: decide a past case again from its archive record, in process.

Everything the original flow saw comes from the archive: the application, ``received_at``
(the decision time of the replay), the list hits and the raw vendor payloads, parsed by the
same adapter code as the original answer. No vendor is called and nothing is written: the
pipeline's payload archive is an in-memory one that keeps nothing, and no cache is used.

A vendor whose payload is not in the archive (it failed, was skipped, or the original flow
stopped before paying for it) answers as unavailable, exactly as it did originally when it
failed, so its rules' ``on_missing`` apply. Under the pinned version this reproduces the
original; under another version the result names what the original never bought
(``not_archived``), so a difference caused by missing data is never mistaken for a policy
change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import Field

from lendguard.cases.archive import ArchivedCase
from lendguard.core.application import parse_application
from lendguard.core.base_model import Model
from lendguard.core.errors import Conflict, InvalidInput
from lendguard.core.facts import KeyType
from lendguard.core.vendor_responses import RESPONSE_MODELS, VendorResponse
from lendguard.decision.pipeline import MemoryLists, Pipeline
from lendguard.decision.stages.validate import subject_of
from lendguard.decision.state import DecisionState, Subject
from lendguard.internal.source import AssumedOwnData
from lendguard.lists.entries import ListHit
from lendguard.models.artifact import ModelArtifact
from lendguard.policy.schema import Policy, Vendor
from lendguard.vendors.base import ProviderRegistry
from lendguard.vendors.errors import VendorMalformed, VendorUnavailable

PayloadReader = Callable[[str], bytes | None]

_SUBJECT_FIELD = {
    KeyType.ID_NUMBER.value: "id_number", KeyType.PHONE.value: "phone", KeyType.DEVICE_ID.value: "device_id",
    KeyType.BANK_CARD.value: "bank_card", KeyType.IP.value: "ip",
}  # fmt: skip
# Stages before the list lookup: a case halted there has no list hits on record, not "none".
_BEFORE_LISTS = ("validate", "admission")


class Outcome(Model):
    """The comparable result of one decision: what the replay must reproduce."""

    decision: str | None = None
    reasons: list[str] = Field(default_factory=list)
    credit_limit: float | None = None
    apr: float | None = None
    points: float | None = None
    pd: float | None = None
    halted_at: str | None = None


class ReplayResult(Model):
    """A replay beside the original; ``changes`` lists each field that differs (empty: identical)."""

    case_id: str
    original_policy: dict[str, Any] | None
    policy: dict[str, Any]
    pinned: bool
    original: Outcome
    replay: Outcome
    changes: list[str] = Field(default_factory=list)
    not_archived: list[str] = Field(default_factory=list, description="Data the original flow never bought")

    @property
    def identical(self) -> bool:
        return not self.changes


class _Archived:
    """A vendor answering from the raw payload the original call archived (parsed as then)."""

    self_timed = True

    def __init__(self, vendor: Vendor, ref: str | None, read: PayloadReader, registry: ProviderRegistry):
        self.vendor, self.ref, self.read, self.registry = vendor, ref, read, registry
        self.missing = False

    def fetch(self, subject: Subject, application: dict[str, Any]) -> tuple[VendorResponse, bytes]:
        raw = self.read(self.ref) if self.ref else None
        if raw is None:
            self.missing = True
            raise VendorUnavailable(f"vendor {self.vendor.id}: no archived payload")
        return _parse(self.vendor, raw, self.registry), raw


def _parse(vendor: Vendor, raw: bytes, registry: ProviderRegistry) -> VendorResponse:
    # An HTTP vendor's raw body is the vendor's own document, mapped by its response_map; a
    # simulated vendor's raw body is the response model itself.
    if vendor.adapter == "http":
        from lendguard.vendors.http import HttpJsonProvider

        return HttpJsonProvider(vendor, registry.secrets).parse(raw)
    try:
        return RESPONSE_MODELS[vendor.service].model_validate_json(raw)
    except ValueError:
        raise VendorMalformed(f"vendor {vendor.id}: archived payload does not parse") from None


def outcome_of_state(state: DecisionState) -> Outcome:
    """The comparable outcome of a pipeline run."""
    return Outcome(
        decision=state.decision,
        reasons=[r.code for r in state.reasons],
        credit_limit=state.offer.credit_limit if state.offer else None,
        apr=state.offer.apr if state.offer else None,
        points=state.score.final_points if state.score else None,
        pd=state.score.pd if state.score else None,
        halted_at=state.halted_at,
    )


def replay(
    record: ArchivedCase,
    original: Outcome,
    policy: Policy,
    model: ModelArtifact,
    secret: str,
    read_payload: PayloadReader,
) -> ReplayResult:
    """Decide the archived case again under ``policy`` and compare with ``original``.

    Raises :class:`Conflict` when the archive no longer holds the application or derived part
    (expired or erased), :class:`InvalidInput` when the application does not fit ``policy``.
    """
    header = record.header
    if record.personal is None or record.derived is None:
        raise Conflict(f"case {header.case_id} can no longer be replayed: its archive was erased or expired")
    app = parse_application(record.personal.application, policy.products, received_at=header.received_at)
    subject = subject_of(app, secret)
    lookup = MemoryLists()
    for hit in record.derived.list_hits:
        value = getattr(subject, _SUBJECT_FIELD.get(str(hit.get("key_type")), ""), None)
        if value:
            entry = ListHit.model_validate(hit)
            lookup.entries[(entry.kind.value, entry.key_type, value)] = entry
    registry = ProviderRegistry(sleep=lambda _s: None)
    vendors = {
        v.id: _Archived(v, record.derived.vendor_payloads.get(v.id), read_payload, registry)
        for v in policy.vendors
    }
    for vendor_id, provider in vendors.items():
        registry.register(vendor_id, provider)
    # Our own data as the case saw it (velocity and history move on after it).
    own = AssumedOwnData(recorded=record.derived.facts)
    state = Pipeline(policy, model, secret, lookup=lookup, providers=registry, own=own).decide(
        app, header.case_id, header.received_at
    )
    pinned = header.policy is not None and (
        str(header.policy.get("id")),
        int(header.policy.get("version", -1)),
    ) == (policy.id, policy.version)
    not_archived = sorted(f"vendor {vid}" for vid, p in vendors.items() if p.missing)
    ran = {s.stage for s in state.trace.stages}
    if original.halted_at in _BEFORE_LISTS and "lists" in ran:
        not_archived.append("lists")
    if original.halted_at in (*_BEFORE_LISTS, "lists") and "internal_data" in ran:
        not_archived.append("internal_data")
    result = ReplayResult(
        case_id=header.case_id, original_policy=header.policy, policy=policy.ref, pinned=pinned,
        original=original, replay=outcome_of_state(state), not_archived=not_archived if not pinned else [],
    )  # fmt: skip
    result.changes = _changes(result.original, result.replay)
    return result


def _changes(before: Outcome, after: Outcome) -> list[str]:
    out = []
    for name in Outcome.model_fields:
        old, new = getattr(before, name), getattr(after, name)
        if isinstance(old, float) and isinstance(new, float):
            same = abs(old - new) <= 1e-9 * max(1.0, abs(old))
        else:
            same = old == new
        if not same:
            out.append(f"{name}: {old!r} -> {new!r}")
    return out


def check_policy_ref(text: str) -> tuple[str, int]:
    """``ID@VERSION`` → (id, version), or :class:`InvalidInput` naming ``policy``."""
    from lendguard.core.errors import FieldError

    policy_id, sep, version = text.partition("@")
    if not sep or not policy_id or not version.isdigit() or int(version) < 1:
        raise InvalidInput(
            "invalid replay", [FieldError(field="policy", message="must be ID@VERSION, e.g. default@2")]
        )
    return policy_id, int(version)


def original_outcome(case: Any) -> Outcome:
    """The outcome the engine gave a stored case (:class:`~lendguard.cases.record.CaseRecord`),
    before any review."""
    return Outcome(
        decision=case.automated_decision or case.decision,
        reasons=[r.code for r in case.reasons],
        credit_limit=case.offer.credit_limit if case.offer else None,
        apr=case.offer.apr if case.offer else None,
        points=case.score.final_points if case.score else None,
        pd=case.score.pd if case.score else None,
        halted_at=case.halted_at,
    )


def replay_case(case_id: str, policy_ref: str | None = None) -> ReplayResult:
    """Replay a stored case under its pinned policy version, or ``policy_ref`` (``ID@VERSION``).

    Reads the case record and its archive (``kms:Decrypt``), the policy and model artifacts and
    the raw payloads; writes nothing. :class:`NotFound` for an unknown case or version.
    """
    from lendguard.store import archive, artifacts, cases
    from lendguard.store.payloads import get_payload
    from lendguard.store.secrets import hash_secret

    wanted = check_policy_ref(policy_ref) if policy_ref is not None else None
    case = cases.get_case(case_id)
    if case.status == "FAILED":
        raise Conflict(f"case {case_id} FAILED: there is no decision to replay (re-decide it instead)")
    record = archive.get_archive(case_id)
    if wanted is None:
        if not record.header.policy:
            raise Conflict(f"case {case_id} has no pinned policy version on record")
        wanted = (str(record.header.policy["id"]), int(record.header.policy["version"]))
    policy = artifacts.get_policy(*wanted)
    ref = policy.scoring.model
    model = artifacts.get_model(ref.id, ref.version)
    return replay(record, original_outcome(case), policy, model, hash_secret(), get_payload)
