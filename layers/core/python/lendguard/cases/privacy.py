"""A person's rights over their data: erasure on request, and audited reads of clear fields.

- :func:`erase` finds every case of a person by the keyed hash of their ID number and removes
  what identifies them: the sealed parts of the archive (application, derived facts), the raw
  vendor payloads, the data-cache and charge records, and the masked applicant and observed
  values in the case record. The decision, its reasons and the hashed keys stay: a lender must
  keep its lending records. One audit record says who erased what, when and why.
- :func:`reveal` returns one clear field of a case (a reviewer calling the applicant) and
  records who read it, when and why. Opening a case never shows clear data.

Both are called by the HTTP routes (:mod:`lendguard.http.routes.privacy`), which the role
table restricts (privacy for erasure; reviewer for reveal); the CLI goes through the routes.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lendguard.cases.record import CaseRecord
from lendguard.cases.review import REVIEWER_PATTERN
from lendguard.core.base_model import Model
from lendguard.core.errors import InvalidInput, NotFound, json_object
from lendguard.core.identity import parse_resident_id
from lendguard.lists.keys import KeyType, hash_value
from lendguard.store import archive, cases
from lendguard.store import privacy as store
from lendguard.store.secrets import hash_secret

Actor = Annotated[str, Field(pattern=REVIEWER_PATTERN)]
Reason = Annotated[str, Field(min_length=5, max_length=500)]
M = TypeVar("M", bound=BaseModel)
RevealField = Literal["name", "id_number", "phone", "bank_card", "device_id", "ip"]


def now() -> datetime:
    return datetime.now(UTC)


class _Request(Model):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class EraseRequest(_Request):
    """``POST /v1/privacy/erasures``: whose data, who asks, and why."""

    id_number: Annotated[str, Field(min_length=1, max_length=32)]
    requested_by: Actor
    reason: Reason

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, value: str) -> str:
        return parse_resident_id(value).number


class ErasureReport(Model):
    """What an erasure did; also the audit record (hashed key only)."""

    erasure_id: str
    at: datetime
    requested_by: str
    reason: str
    subject: str = Field(description="Keyed hash of the ID number")
    found: bool
    cases: list[str]
    archive_objects_removed: int = 0
    vendor_payloads_removed: int = 0
    cache_items_removed: int = 0
    case_records_redacted: int = 0


class RevealRequest(_Request):
    """``POST /v1/cases/{case_id}/reveal``: which clear field, who reads it, and why."""

    field: RevealField
    reason: Reason
    requested_by: Actor


class Revealed(Model):
    case_id: str
    field: RevealField
    value: str | None
    audit_id: str


def parse_request(model: type[M], body: Any, message: str) -> M:
    """A request body as ``model``, or :class:`InvalidInput` naming every bad field."""
    data = json_object(body, message)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput.from_validation_error(message, exc) from None


def cases_of(subject: str) -> list[str]:
    """Case ids whose hashed ID number is ``subject``: case records and archive headers."""
    found = {c.case_id for c in cases.scan_cases(limit=10**9) if c.subject and c.subject.id_number == subject}
    found |= {h.case_id for h in archive.iter_headers() if h.subject and h.subject.id_number == subject}
    return sorted(found)


def _redact(case: CaseRecord, at: datetime) -> CaseRecord:
    case.applicant = {}
    case.erased_at = at
    if case.trace is not None:
        for rule in case.trace.rules:
            rule.observed = {}
    if case.error:
        case.error = {"error": case.error.get("error"), "cause": "(erased)"}
    return case


def erase(request: EraseRequest) -> ErasureReport:
    """Erase a person's personal data everywhere it is kept; keep decisions and hashed keys."""
    at = now()
    subject = hash_value(KeyType.ID_NUMBER, request.id_number, hash_secret())
    ids = cases_of(subject)
    report = ErasureReport(
        erasure_id=f"E{at:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:8]}", at=at, requested_by=request.requested_by,
        reason=request.reason, subject=subject, found=bool(ids), cases=ids,
    )  # fmt: skip
    for case_id in ids:
        report.archive_objects_removed += len(archive.erase_parts(case_id))
        report.vendor_payloads_removed += store.delete_vendor_payloads(case_id)
        try:
            cases.update_case(case_id, lambda s: (_redact(s.case, at), cases.current_task(s)))
            report.case_records_redacted += 1
        except NotFound:
            pass  # only the archive had it
    report.cache_items_removed = store.delete_cache_items(ids)
    store.put_audit("erasure", report.erasure_id, report.model_dump(mode="json"))
    return report


def reveal(case_id: str, request: RevealRequest) -> Revealed:
    """One clear field of a case, recorded (who, when, why) before it is returned."""
    application = archive.load_application(case_id)
    applicant, device = application.get("applicant") or {}, application.get("device") or {}
    value = (
        device.get(request.field) if request.field in ("device_id", "ip") else applicant.get(request.field)
    )
    at = now()
    audit_id = f"R{at:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:8]}"
    store.put_audit(
        "reveal",
        audit_id,
        {"audit_id": audit_id, "at": at.isoformat(), "case_id": case_id, "field": request.field,
         "requested_by": request.requested_by, "reason": request.reason},
    )  # fmt: skip
    return Revealed(
        case_id=case_id, field=request.field, value=None if value is None else str(value), audit_id=audit_id
    )
