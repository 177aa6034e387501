"""A policy version's review life: DRAFT → PENDING_APPROVAL → APPROVED or REJECTED.

Pure rules, no storage: who may move a version from which status to which, what evidence an
approval needs, and whether a backtest report lies within the approvers' release bands. The
service (:mod:`lendguard.lifecycle.service`) reads and writes the store around these functions.

The actor is always a parameter. Until authenticated identities land (issue 11) the HTTP layer
reads it from one temporary place (:func:`lendguard.http.routes.policies.actor`); whatever its
source, the maker-checker rule (an author never approves their own version) is enforced here.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field, ValidationError

from lendguard.core.base_model import Model
from lendguard.core.errors import Conflict, FieldError, Forbidden, InvalidInput

Status = Literal["DRAFT", "PENDING_APPROVAL", "APPROVED", "REJECTED"]
Actor = str


def content_hash(text: str) -> str:
    """The SHA-256 of a policy body as stored (the bytes are immutable once pushed)."""
    return hashlib.sha256(text.encode()).hexdigest()


def check_actor(actor: str | None, field: str = "actor") -> str:
    """The acting user's name, or :class:`InvalidInput` naming ``field``."""
    name = (actor or "").strip()
    if not name or len(name) > 128 or not name.isprintable():
        raise InvalidInput(
            "who is acting is unknown",
            [FieldError(field=field, message="must name the acting user (1-128 printable)")],
        )
    return name


class SuiteSummary(Model):
    """The outcome of a version's test suite, recorded with the version."""

    model_config = ConfigDict(extra="forbid")

    cases: int
    passed: int
    failed: list[str] = Field(default_factory=list, description="Names of failing cases")
    uncovered: list[str] = Field(default_factory=list, description="Enabled rules never hit or never not hit")
    digest: str = Field(description="SHA-256 of the suite text")

    @property
    def green(self) -> bool:
        return self.cases > 0 and not self.failed and not self.uncovered


class OutcomeFigures(Model):
    """One side of a backtest: what a policy did over the data set."""

    model_config = ConfigDict(extra="ignore")

    approval_rate: float = Field(ge=0, le=1)
    bad_rate: float | None = Field(default=None, ge=0, le=1, description="Among approved, where labelled")
    vendor_spend_per_1000: float = Field(ge=0, allow_inf_nan=False)


class PolicyRef(Model):
    model_config = ConfigDict(extra="ignore")

    id: str
    version: int = Field(ge=1)


class BacktestEvidence(Model):
    """The minimal backtest report ``policy submit --evidence FILE`` accepts (extra keys are kept out).

    ``policy`` is the version under review, ``baseline`` the champion it was compared with,
    ``data`` names the data set or case window, ``rows`` how many applications it covered.
    """

    model_config = ConfigDict(extra="ignore")

    policy: PolicyRef
    baseline: PolicyRef
    data: str = Field(min_length=1, max_length=512)
    rows: int = Field(ge=1)
    candidate: OutcomeFigures
    champion: OutcomeFigures


def parse_evidence(raw: object, subject: tuple[str, int] | None = None) -> BacktestEvidence:
    """A backtest report as evidence, or :class:`InvalidInput` naming each bad field (``evidence.*``).

    ``raw`` is the minimal evidence document or, given ``subject`` (the version under review),
    the report.json ``lendguard backtest --compare`` writes (see
    :mod:`lendguard.policy.backtest_evidence`).
    """
    from lendguard.policy.backtest_evidence import evidence_from_report, is_backtest_report

    if subject is not None and is_backtest_report(raw):
        raw = evidence_from_report(raw, subject)  # type: ignore[arg-type]
    try:
        return BacktestEvidence.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput.from_validation_error("invalid evidence", exc, prefix="evidence.") from None


class ReleaseBands(Model):
    """How far a candidate may move from the champion on the backtest and still be approved."""

    model_config = ConfigDict(extra="forbid")

    approval_rate_change: float = Field(default=0.05, ge=0, le=1, description="Largest |Δ approval rate|")
    bad_rate_increase: float = Field(default=0.01, ge=0, le=1, description="Largest rise in bad rate")
    vendor_spend_increase: float = Field(
        default=0.10, ge=0, le=10, description="Largest relative rise in vendor spend per 1,000"
    )


class ReleaseConfig(Model):
    """The approvers' release configuration: the bands, and who may approve and change them.

    ``approvers`` stands in for the approver role until identities land; an empty list (a new
    deployment) lets the first caller set it up.
    """

    model_config = ConfigDict(extra="forbid")

    bands: ReleaseBands = Field(default_factory=ReleaseBands)
    approvers: list[str] = Field(default_factory=list)
    revision: int = 0
    changed_by: str | None = None
    changed_at: datetime | None = None


def check_approver(config: ReleaseConfig, actor: str, field: str = "actor") -> None:
    """Only an approver may approve, reject or change the release configuration."""
    if config.approvers and actor not in config.approvers:
        raise Forbidden(f"{actor} is not an approver", [FieldError(field=field, message="not an approver")])


class BandCheck(Model):
    """One release band against the backtest: the change measured and whether it is allowed."""

    figure: str
    change: float | None
    limit: float
    within: bool


def check_bands(evidence: BacktestEvidence, bands: ReleaseBands) -> list[BandCheck]:
    """Every band checked against the report (bad rate only where both sides are labelled)."""
    cand, champ = evidence.candidate, evidence.champion
    checks = [
        _band("approval_rate", abs(cand.approval_rate - champ.approval_rate), bands.approval_rate_change),
    ]
    if cand.bad_rate is not None and champ.bad_rate is not None:
        checks.append(_band("bad_rate", cand.bad_rate - champ.bad_rate, bands.bad_rate_increase))
    spend = (
        (cand.vendor_spend_per_1000 - champ.vendor_spend_per_1000) / champ.vendor_spend_per_1000
        if champ.vendor_spend_per_1000
        else (0.0 if cand.vendor_spend_per_1000 == 0 else float("inf"))
    )
    checks.append(_band("vendor_spend", spend, bands.vendor_spend_increase))
    return checks


def _band(figure: str, change: float, limit: float) -> BandCheck:
    finite = change if change != float("inf") else None
    return BandCheck(figure=figure, change=finite, limit=limit, within=change <= limit + 1e-12)


class Evidence(Model):
    """What is stored with a version at submission: the report's digest and key figures."""

    digest: str
    data: str
    rows: int
    baseline: PolicyRef
    candidate: OutcomeFigures
    champion: OutcomeFigures


class Approval(Model):
    """How an approval was justified: the bands as checked, or the approver's override."""

    bands: ReleaseBands
    checks: list[BandCheck]
    override_reason: str | None = None


class PolicyVersion(Model):
    """One stored version of a policy id and its review record."""

    policy_id: str
    version: int
    status: Status = "DRAFT"
    content_hash: str
    body_key: str
    suite_key: str | None = None
    description: str = ""
    author: str
    created_at: datetime
    submitted_at: datetime | None = None
    approver: str | None = None
    decided_at: datetime | None = None
    notes: list[dict[str, str]] = Field(default_factory=list, description="{at, by, action, text}")
    tests: SuiteSummary | None = None
    evidence: Evidence | None = None
    approval: Approval | None = None


def _note(version: PolicyVersion, at: datetime, by: str, action: str, text: str) -> None:
    version.notes.append({"at": at.isoformat(), "by": by, "action": action, "text": text})


def _require_status(version: PolicyVersion, *allowed: Status) -> None:
    if version.status not in allowed:
        raise Conflict(
            f"policy {version.policy_id} v{version.version} is {version.status}; "
            f"this needs {' or '.join(allowed)}"
        )


def submit(
    version: PolicyVersion, actor: str, at: datetime, tests: SuiteSummary, evidence: Evidence, note: str = ""
) -> PolicyVersion:
    """DRAFT (or REJECTED, resubmitted with new evidence) → PENDING_APPROVAL, if the suite is green."""
    _require_status(version, "DRAFT", "REJECTED")
    if not tests.green:
        problems = [f"case {name} fails" for name in tests.failed]
        problems += [f"rule {rule} is not covered" for rule in tests.uncovered]
        if tests.cases == 0:
            problems.append("the suite has no cases")
        raise InvalidInput(
            "the policy's test suite is not green",
            [FieldError(field="tests", message=p) for p in problems],
        )
    out = version.model_copy(deep=True)
    out.status, out.submitted_at, out.tests, out.evidence = "PENDING_APPROVAL", at, tests, evidence
    out.approver, out.decided_at, out.approval = None, None, None
    _note(out, at, actor, "submit", note)
    return out


def approve(
    version: PolicyVersion,
    actor: str,
    at: datetime,
    config: ReleaseConfig,
    champion: tuple[str, int] | None,
    note: str,
    override_reason: str | None = None,
) -> PolicyVersion:
    """PENDING_APPROVAL → APPROVED by someone other than the author, on evidence within the bands.

    The backtest must be against the champion in force now (``champion``); a figure outside its
    band needs ``override_reason``, which is recorded.
    """
    _require_status(version, "PENDING_APPROVAL")
    _check_checker(version, actor)
    check_approver(config, actor)
    if not note.strip():
        raise InvalidInput("a decision needs a note", [FieldError(field="note", message="must not be empty")])
    if version.tests is None or not version.tests.green:
        raise InvalidInput("no green test suite", [FieldError(field="tests", message="submit again")])
    evidence = version.evidence
    if evidence is None:
        raise InvalidInput(
            "no evidence", [FieldError(field="evidence", message="submit with a backtest report")]
        )
    if champion is not None and (evidence.baseline.id, evidence.baseline.version) != champion:
        raise InvalidInput(
            "the evidence is stale",
            [FieldError(field="evidence.baseline",
                        message=f"compares with {evidence.baseline.id} v{evidence.baseline.version}, but the "
                                f"champion is {champion[0]} v{champion[1]}: backtest again and resubmit")],
        )  # fmt: skip
    checks = check_bands(evidence, config.bands)
    outside = [c for c in checks if not c.within]
    reason = (override_reason or "").strip() or None
    if outside and reason is None:
        raise InvalidInput(
            "the backtest is outside the release bands",
            [FieldError(field=f"evidence.{c.figure}", message=f"change {_fmt(c.change)} exceeds {c.limit:g}; "
                        "approve with an override reason or backtest again") for c in outside],
        )  # fmt: skip
    out = version.model_copy(deep=True)
    out.status, out.approver, out.decided_at = "APPROVED", actor, at
    out.approval = Approval(bands=config.bands, checks=checks, override_reason=reason if outside else None)
    _note(out, at, actor, "approve" if not outside else "approve (override)", note)
    return out


def reject(
    version: PolicyVersion, actor: str, at: datetime, config: ReleaseConfig, note: str
) -> PolicyVersion:
    """PENDING_APPROVAL → REJECTED, with the approver's note saying why."""
    _require_status(version, "PENDING_APPROVAL")
    _check_checker(version, actor)
    check_approver(config, actor)
    if not note.strip():
        raise InvalidInput(
            "a rejection needs a note", [FieldError(field="note", message="must not be empty")]
        )
    out = version.model_copy(deep=True)
    out.status, out.approver, out.decided_at = "REJECTED", actor, at
    _note(out, at, actor, "reject", note)
    return out


def _check_checker(version: PolicyVersion, actor: str) -> None:
    if actor == version.author:
        raise Forbidden(
            f"{actor} authored policy {version.policy_id} v{version.version} and cannot decide on it",
            [FieldError(field="actor", message="the author cannot approve or reject their own version")],
        )


def _fmt(value: float | None) -> str:
    return "unbounded" if value is None else f"{value:+.4f}"
