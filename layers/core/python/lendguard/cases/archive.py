"""The case archive: one record of everything a decision saw, written once per case.

It is the single source for a re-decision, a review, replays and backtests over past cases,
release evidence and monitoring. Its schema is versioned (``schema_version``); a reader refuses
versions it does not know rather than guessing.

A record has two data classes, kept (and expired, and erased) apart by the store
(:mod:`lendguard.store.archive`): ``personal`` (the application as submitted: name, ID number,
phone, card, device, consents) and ``derived`` (facts, model inputs, list hits, vendor payload
references). Both are encrypted client-side; the case record in the cases table keeps only
masked and hashed values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field

from lendguard.core.base_model import Model
from lendguard.decision.state import Decision, DecisionState, FactValue, Reason, Subject

ARCHIVE_SCHEMA_VERSION = 1
DataClass = Literal["personal", "derived"]
DATA_CLASSES: tuple[DataClass, ...] = ("personal", "derived")


class PersonalPart(Model):
    """What identifies the applicant: only this part is ever shown in clear, and only on purpose."""

    model_config = ConfigDict(extra="forbid")

    application: dict[str, Any]


class DerivedPart(Model):
    """What the decision derived: facts, the model's inputs, list hits, vendor payload references."""

    model_config = ConfigDict(extra="forbid")

    facts: dict[str, FactValue] = Field(default_factory=dict)
    model_inputs: dict[str, FactValue] = Field(default_factory=dict)
    list_hits: list[dict[str, Any]] = Field(default_factory=list)
    vendor_payloads: dict[str, str] = Field(default_factory=dict, description="vendor id -> s3:// reference")


class ArchiveHeader(Model):
    """The part of a record that is neither personal nor derived: ids, versions, the outcome.

    Stored beside the sealed parts in clear (it holds hashed keys only), so erasure and
    retention can find a person's cases without decrypting anything.
    """

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = ARCHIVE_SCHEMA_VERSION
    case_id: str
    application_id: str
    status: Literal["DECIDED", "PENDING_REVIEW", "FAILED"]
    received_at: datetime
    archived_at: datetime
    policy: dict[str, Any] | None = None
    model: dict[str, Any] | None = None
    experiment: dict[str, Any] | None = None
    decision: Decision | None = None
    reasons: list[Reason] = Field(default_factory=list)
    subject: Subject | None = None
    consents: dict[str, str] = Field(default_factory=dict, description="purpose -> text_id@version relied on")


class ArchivedCase(Model):
    """A whole archive record. ``personal`` / ``derived`` are None once erased or expired."""

    header: ArchiveHeader
    personal: PersonalPart | None = None
    derived: DerivedPart | None = None


def consent_references(application: dict[str, Any]) -> dict[str, str]:
    """Purpose -> ``text_id@version`` of each consent record in a (validated) application."""
    consents = application.get("consents") or {}
    return {
        purpose: f"{record['text_id']}@{record['text_version']}"
        for purpose, record in consents.items()
        if isinstance(record, dict) and "text_id" in record and "text_version" in record
    }


def archive_from_state(
    state: DecisionState, status: str, now: datetime, model_features: list[str] | None = None
) -> ArchivedCase:
    """The archive record of a finished flow (finalize). ``model_features``: the scoring
    model's input names, whose values become ``model_inputs``."""
    app = state.application
    score = state.score
    return ArchivedCase(
        header=ArchiveHeader(
            case_id=state.case_id,
            application_id=str(app["application_id"]),
            status=status,  # type: ignore[arg-type]
            received_at=state.received_at,
            archived_at=now,
            policy=state.policy,
            model={"id": score.model_id, "version": score.model_version} if score else None,
            experiment=state.policy.get("experiment")
            if isinstance(state.policy.get("experiment"), dict)
            else None,
            decision=state.decision,
            reasons=state.reasons,
            subject=state.subject,
            consents=consent_references(app),
        ),
        personal=PersonalPart(application=app),
        derived=DerivedPart(
            facts=state.facts,
            model_inputs={name: state.facts.get(name) for name in model_features or []},
            list_hits=state.trace.list_hits,
            vendor_payloads={v.vendor: v.payload_ref for v in state.trace.vendors if v.payload_ref},
        ),
    )


def archive_of_failure(
    event: dict[str, Any], case_id: str, application: dict[str, Any], received_at: datetime, now: datetime
) -> ArchivedCase:
    """The archive record of a failed flow: the application and whatever the failing stage had."""
    subject = event.get("subject")
    facts = event.get("facts") if isinstance(event.get("facts"), dict) else {}
    trace = event.get("trace") if isinstance(event.get("trace"), dict) else {}
    return ArchivedCase(
        header=ArchiveHeader(
            case_id=case_id,
            application_id=str(application.get("application_id") or "unknown"),
            status="FAILED",
            received_at=received_at,
            archived_at=now,
            policy=event.get("policy") if isinstance(event.get("policy"), dict) else None,
            subject=Subject.model_validate(subject) if isinstance(subject, dict) else None,
            consents=consent_references(application),
        ),
        personal=PersonalPart(application=application),
        derived=DerivedPart(
            facts={k: v for k, v in facts.items() if isinstance(v, float | int | str | bool) or v is None},
            list_hits=[h for h in trace.get("list_hits", []) if isinstance(h, dict)],
            vendor_payloads={
                str(v["vendor"]): str(v["payload_ref"])
                for v in trace.get("vendors", [])
                if isinstance(v, dict) and v.get("vendor") and v.get("payload_ref")
            },
        ),
    )
