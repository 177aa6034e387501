"""The policy lifecycle service: push, submit, approve, reject, activate, roll back.

The HTTP routes (:mod:`lendguard.http.routes.policies`) only parse and map errors; the rules
live in :mod:`lendguard.policy.lifecycle` and :mod:`lendguard.policy.routing`, the storage in
:mod:`lendguard.store.policies`. Every function takes the acting user as ``actor``: where it
comes from is the caller's business (see the routes), who may do what is decided here.

Every refusal happens before anything is written: bodies first (immutable, so a repeated push
of the same bytes is harmless), then one conditional write of the record.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from lendguard.core.base_model import Model
from lendguard.core.errors import FieldError, InvalidInput, NotFound, PolicyError
from lendguard.decision.suite import SuiteReport, parse_suite, run_suite, suite_digest
from lendguard.policy import lifecycle
from lendguard.policy.diff import PolicyDiff, changes_offer, diff_policies
from lendguard.policy.lifecycle import Evidence, PolicyVersion, ReleaseConfig, SuiteSummary, check_actor
from lendguard.policy.loader import load_policy_text
from lendguard.policy.routing import Routing, RoutingSpec
from lendguard.policy.schema import Policy
from lendguard.store import artifacts
from lendguard.store import policies as store


def now() -> datetime:
    return datetime.now(UTC)


class PushResult(Model):
    version: PolicyVersion
    tests: SuiteReport | None


def load_body(text: str, field: str = "policy") -> Policy:
    """A policy body, or :class:`InvalidInput` naming ``field`` and every problem."""
    try:
        return load_policy_text(text, field)
    except PolicyError as exc:
        raise InvalidInput("invalid policy", [FieldError(field=field, message=str(exc).removeprefix(f"{field}: "))]) from None  # fmt: skip


def run_tests(policy: Policy, suite_text: str) -> SuiteReport:
    """Run a suite against a policy with its registered model (the one that will score it live)."""
    from lendguard.store.secrets import hash_secret

    ref = policy.scoring.model
    try:
        model = artifacts.get_model(ref.id, ref.version)
    except NotFound as exc:
        raise InvalidInput("the policy's model is not registered", [FieldError(field="policy.scoring.model", message=str(exc))]) from None  # fmt: skip
    return run_suite(policy, model, parse_suite(suite_text), hash_secret(), suite_digest(suite_text))


def summary(report: SuiteReport | None) -> SuiteSummary | None:
    if report is None:
        return None
    return SuiteSummary(
        cases=len(report.results), passed=sum(r.passed for r in report.results),
        failed=report.failed, uncovered=report.uncovered, digest=report.digest,
    )  # fmt: skip


def _failing(report: SuiteReport) -> list[FieldError]:
    return [
        FieldError(field=f"tests.{r.name}", message="; ".join(r.problems))
        for r in report.results
        if not r.passed
    ]


def push(policy_text: str, suite_text: str | None, actor: str, note: str = "") -> PushResult:
    """Store a new DRAFT version: refused if the policy does not validate or a test case fails."""
    actor = check_actor(actor)
    policy = load_body(policy_text)
    report = run_tests(policy, suite_text) if suite_text else None
    if report is not None and report.failed:
        raise InvalidInput("the policy's test suite fails", _failing(report))
    try:
        store.get_version(policy.id, policy.version)
    except NotFound:
        pass
    else:
        raise InvalidInput("this version exists", [FieldError(field="policy.version", message=f"{policy.id} v{policy.version} is already stored; versions are immutable, push a new version")])  # fmt: skip
    at = now()
    body_key = store.body_key(policy.id, policy.version)
    store.put_object_once(body_key, policy_text.encode())
    suite_key = None
    if suite_text:
        suite_key = store.suite_key(policy.id, policy.version)
        store.put_object_once(suite_key, suite_text.encode())
    record = PolicyVersion(
        policy_id=policy.id, version=policy.version, content_hash=lifecycle.content_hash(policy_text),
        body_key=body_key, suite_key=suite_key, description=policy.description, author=actor,
        created_at=at, tests=summary(report),
        notes=[{"at": at.isoformat(), "by": actor, "action": "push", "text": note}],
    )  # fmt: skip
    store.create_version(record)
    return PushResult(version=record, tests=report)


def get_version(policy_id: str, version: int) -> tuple[PolicyVersion, str]:
    """A version's record and its body, checked against the recorded hash."""
    record = store.get_version(policy_id, version)
    text = store.get_text(record.body_key)
    if lifecycle.content_hash(text) != record.content_hash:
        raise RuntimeError(f"policy {policy_id} v{version}: the stored body does not match its recorded hash")
    return record, text


def policy_of(policy_id: str, version: int) -> Policy:
    return load_body(get_version(policy_id, version)[1], f"{policy_id}@{version}")


def champion(policy_id: str) -> tuple[str, int] | None:
    """The version deciding by default now: the routing's champion, else the deployment's policy."""
    routing = store.get_routing(policy_id)
    if routing is not None:
        return policy_id, routing.champion
    from lendguard.settings import settings

    try:
        deployed = settings.policy
    except RuntimeError:
        return None
    return deployed if deployed[0] == policy_id else None


def evidence_of(raw: Any, record: PolicyVersion) -> Evidence:
    """Validate a backtest report for ``record`` and keep its digest and key figures."""
    report = lifecycle.parse_evidence(raw, (record.policy_id, record.version))
    if (report.policy.id, report.policy.version) != (record.policy_id, record.version):
        raise InvalidInput("invalid evidence", [FieldError(field="evidence.policy", message=f"the report is for {report.policy.id} v{report.policy.version}, not {record.policy_id} v{record.version}")])  # fmt: skip
    current = champion(record.policy_id)
    if current is not None and (report.baseline.id, report.baseline.version) != current:
        raise InvalidInput("invalid evidence", [FieldError(field="evidence.baseline", message=f"compares with {report.baseline.id} v{report.baseline.version}; the champion is {current[0]} v{current[1]}")])  # fmt: skip
    digest = hashlib.sha256(json.dumps(raw, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return Evidence(
        digest=digest, data=report.data, rows=report.rows, baseline=report.baseline,
        candidate=report.candidate, champion=report.champion,
    )  # fmt: skip


def submit(
    policy_id: str, version: int, actor: str, evidence: Any, note: str = ""
) -> tuple[PolicyVersion, SuiteReport]:
    """Run the version's suite again and attach the evidence: DRAFT → PENDING_APPROVAL."""
    actor = check_actor(actor)
    record, text = get_version(policy_id, version)
    if record.suite_key is None:
        raise InvalidInput("no test suite", [FieldError(field="tests", message="push the version with a test suite (FILE.tests.yaml beside it)")])  # fmt: skip
    report = run_tests(load_body(text), store.get_text(record.suite_key))
    tests = summary(report)
    assert tests is not None
    if evidence is None:
        raise InvalidInput("no evidence", [FieldError(field="evidence", message="attach a backtest report against the champion")])  # fmt: skip
    updated = lifecycle.submit(record, actor, now(), tests, evidence_of(evidence, record), note)
    store.save_version(updated, record.status)
    return updated, report


def approve(
    policy_id: str, version: int, actor: str, note: str, override_reason: str | None = None
) -> PolicyVersion:
    """PENDING_APPROVAL → APPROVED (see :func:`lendguard.policy.lifecycle.approve`)."""
    actor = check_actor(actor)
    record = store.get_version(policy_id, version)
    updated = lifecycle.approve(
        record, actor, now(), store.get_release_config(), champion(policy_id), note, override_reason
    )
    store.save_version(updated, record.status)
    return updated


def reject(policy_id: str, version: int, actor: str, note: str) -> PolicyVersion:
    actor = check_actor(actor)
    record = store.get_version(policy_id, version)
    updated = lifecycle.reject(record, actor, now(), store.get_release_config(), note)
    store.save_version(updated, record.status)
    return updated


# ---- routing -----------------------------------------------------------------------------------


def _check_routable(policy_id: str, spec: RoutingSpec) -> None:
    """Every version named exists and is APPROVED; an offer-changing split is acknowledged."""
    problems: list[FieldError] = []
    named = [("champion", spec.champion)]
    named += [(f"arms.{i}.version", a.version) for i, a in enumerate(spec.arms)]
    named += [(f"conditions.{i}.version", c.version) for i, c in enumerate(spec.conditions)]
    named += [(f"shadows.{i}", v) for i, v in enumerate(spec.shadows)]
    for field, version in named:
        try:
            status = store.get_version(policy_id, version).status
        except NotFound:
            problems.append(FieldError(field=field, message=f"{policy_id} v{version} does not exist"))
            continue
        if status != "APPROVED":
            problems.append(FieldError(field=field, message=f"{policy_id} v{version} is {status}; only APPROVED versions can be routed"))  # fmt: skip
    if problems:
        raise InvalidInput("invalid routing", problems)
    others = sorted(spec.deciding_versions() - {spec.champion})
    if others and spec.compliance_ack is None:
        base = policy_of(policy_id, spec.champion)
        differ = [v for v in others if changes_offer(diff_policies(base, policy_of(policy_id, v)))]
        if differ:
            raise InvalidInput("a split that changes price or limit needs a compliance acknowledgement", [FieldError(
                field="compliance_ack", message=f"v{', v'.join(map(str, differ))} offer different limits or prices "
                "than the champion (PIPL Art. 24): record who acknowledged it and the assessment reference")])  # fmt: skip


def activate(policy_id: str, spec: RoutingSpec, actor: str, reason: str = "") -> Routing:
    """Put a routing in force (a new revision, one transaction)."""
    actor = check_actor(actor)
    _check_routable(policy_id, spec)
    current = store.get_routing(policy_id)
    routing = Routing(
        **spec.model_dump(), policy_id=policy_id, revision=(current.revision + 1) if current else 1,
        changed_by=actor, changed_at=now(), reason=reason,
    )  # fmt: skip
    store.put_routing(routing, current.revision if current else None)
    return routing


def rollback(policy_id: str, actor: str, reason: str) -> Routing:
    """Restore the routing in force before the current one, as a new audited revision."""
    actor = check_actor(actor)
    if not reason.strip():
        raise InvalidInput(
            "a rollback needs a reason", [FieldError(field="reason", message="must not be empty")]
        )
    current = store.get_routing(policy_id)
    if current is None:
        raise NotFound(f"policy {policy_id} has no routing to roll back")
    if current.revision == 1:
        raise InvalidInput("nothing to roll back to", [FieldError(field="policy_id", message=f"{policy_id} has had only one routing")])  # fmt: skip
    previous = store.get_routing_revision(policy_id, current.revision - 1)
    spec = RoutingSpec.model_validate(previous.model_dump(include=set(RoutingSpec.model_fields)))
    _check_routable(policy_id, spec)
    routing = Routing(
        **spec.model_dump(), policy_id=policy_id, revision=current.revision + 1, changed_by=actor,
        changed_at=now(), reason=reason, restored_from=previous.revision,
    )  # fmt: skip
    store.put_routing(routing, current.revision)
    return routing


def diff(a: Policy, b: Policy) -> PolicyDiff:
    return diff_policies(a, b)


# ---- release configuration ---------------------------------------------------------------------


def set_release_config(raw: Any, actor: str) -> ReleaseConfig:
    """Change the bands or the approvers: only an approver may (anyone while none is set)."""
    from pydantic import ValidationError

    actor = check_actor(actor)
    current = store.get_release_config()
    lifecycle.check_approver(current, actor)
    body = dict(raw) if isinstance(raw, dict) else {}
    try:
        bands = lifecycle.ReleaseBands.model_validate(body.get("bands", current.bands.model_dump()))
        approvers = [check_actor(a, "approvers") for a in body.get("approvers", current.approvers)]
    except ValidationError as exc:
        raise InvalidInput.from_validation_error(
            "invalid release configuration", exc, prefix="bands."
        ) from None
    unknown = sorted(set(body) - {"bands", "approvers"})
    if unknown:
        raise InvalidInput("invalid release configuration", [FieldError(field=k, message="unknown field") for k in unknown])  # fmt: skip
    updated = ReleaseConfig(
        bands=bands, approvers=approvers, revision=current.revision + 1, changed_by=actor, changed_at=now()
    )
    store.put_release_config(updated, current.revision)
    return updated
