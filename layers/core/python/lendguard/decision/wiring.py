"""One entry point per Lambda: wires the stores to the pure stage logic.

Each function takes and returns plain models, so a handler only parses, calls one of these
and dumps the result; the local runtime and tests call them the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from lendguard.core.stages import STAGE_NAMES
from lendguard.decision.state import DecisionState, StageTrace, Subject
from lendguard.store import artifacts

# Each Lambda imports this module but runs one of its functions: the other stages' code,
# vendor adapters, review logic and their boto3 resources are imported where they are used,
# so a function's cold start pays only for its own stage.
if TYPE_CHECKING:
    from lendguard.cases.record import CaseRecord
    from lendguard.internal.source import OwnData
    from lendguard.policy.schema import Policy
    from lendguard.store import cases
    from lendguard.vendors.base import ProviderRegistry


@cache
def vendor_registry() -> ProviderRegistry:
    """Adapters, circuit breakers (per container: see lendguard.vendors.resilience) and the
    secret reader, alive as long as the Lambda container."""
    from lendguard.store.vendor_secrets import get_vendor_secret
    from lendguard.vendors.base import ProviderRegistry
    from lendguard.vendors.metrics import EmfVendorMetrics

    return ProviderRegistry(secrets=get_vendor_secret, metrics=EmfVendorMetrics())


def now() -> datetime:
    return datetime.now(UTC)


def policy_of(state: DecisionState) -> Policy:
    """The policy version pinned when the case was opened: every stage uses the same one."""
    return artifacts.get_policy(state.policy["id"], int(state.policy["version"]))


def timed(state: DecisionState, stage: str, fn: Callable[[], DecisionState]) -> DecisionState:
    """Run a stage and append its timing and outcome to the trace."""
    halted_before = state.halted
    started = time.perf_counter()
    result = fn()
    elapsed = round((time.perf_counter() - started) * 1000, 3)
    outcome = "reject" if result.halted and not halted_before else "continue"
    result.trace.stages.append(StageTrace(stage=stage, elapsed_ms=elapsed, outcome=outcome))
    return result


def run_validate(event: dict[str, Any]) -> DecisionState:
    """Open a case from ``{"request": {case_id, application, received_at}, "execution_arn"}``.

    The version is chosen by the policy's routing (:mod:`lendguard.policy.routing`: conditional
    routes, A/B arms, champion), read at most ``ROUTING_CACHE_SECONDS`` ago; without a routing,
    by the deployment (``settings.policy``). The choice (version, arm, experiment, routing
    revision, shadows) is pinned in ``state.policy`` and every later stage uses it.
    """
    from lendguard.core.application import parse_application
    from lendguard.decision.stages import validate
    from lendguard.policy.routing import Pin, resolve
    from lendguard.settings import settings
    from lendguard.store.policies import cached_routing
    from lendguard.store.secrets import hash_secret

    started = time.perf_counter()
    request = event["request"]
    policy_id, default_version = settings.policy
    secret = hash_secret()
    # Routing conditions read application facts, which the generic checks already give; the
    # pinned version's own products are checked next.
    received_at = datetime.fromisoformat(request["received_at"])
    draft = parse_application(request["application"], received_at=received_at)
    # The same identifiers as the case's (the pinned products only add checks): hashed once.
    subject = validate.subject_of(draft, secret)
    routing = cached_routing(policy_id)
    pin = (
        resolve(routing, validate.application_facts(draft, received_at), subject.id_number)
        if routing is not None
        else Pin(id=policy_id, version=default_version)
    )
    policy = artifacts.get_policy(pin.id, pin.version)
    app = parse_application(request["application"], policy.products, received_at=received_at)
    state = validate.open_case(
        app, policy, request["case_id"], received_at, secret,
        elapsed_ms=round((time.perf_counter() - started) * 1000, 3), subject=subject,
    )  # fmt: skip
    state.policy = pin.as_state()
    state.execution_arn = event.get("execution_arn")
    # Velocity is counted as the case opens, so a burst of applications still in flight is seen
    # by each other's InternalData stage (at most once per case: a retried validate adds nothing).
    own_data().record_opening(state.subject, state.case_id, state.received_at)
    return state


@cache
def own_data() -> OwnData:
    """Our own data (velocity, case history, loans, customer features) in DynamoDB."""
    from lendguard.internal.source import OwnDataReader
    from lendguard.store.own_data import DynamoOwnDataRecords

    return OwnDataReader(DynamoOwnDataRecords())


def run_admission(state: DecisionState) -> DecisionState:
    from lendguard.decision.stages import admission

    return timed(state, "admission", lambda: admission.run(state, policy_of(state)))


def run_lists(state: DecisionState) -> DecisionState:
    from lendguard.decision.stages import lists
    from lendguard.store.lists import DynamoListStore

    return timed(state, "lists", lambda: lists.run(state, policy_of(state), DynamoListStore(), now()))


def run_internal_data(state: DecisionState) -> DecisionState:
    """Our own data before anyone else's: velocity, history, loans, customer features."""
    from lendguard.decision.stages import internal_data

    return timed(
        state, "internal_data", lambda: internal_data.run(state, policy_of(state), own_data(), now())
    )


def run_external_data(state: DecisionState) -> DecisionState:
    """Vendor groups in cost order, with the data cache, no-double-charge records and payload archive."""
    from lendguard.decision.stages import external_data
    from lendguard.store.cache import DynamoVendorCache
    from lendguard.store.payloads import S3PayloadArchive

    return timed(
        state,
        "external_data",
        lambda: external_data.run(
            state, policy_of(state), vendor_registry(), S3PayloadArchive(), cache=DynamoVendorCache()
        ),
    )


def run_features(state: DecisionState) -> DecisionState:
    from lendguard.decision.stages import features

    return timed(state, "features", lambda: features.run(state, policy_of(state)))


def run_scoring(state: DecisionState) -> DecisionState:
    from lendguard.decision.stages import scoring

    def score() -> DecisionState:
        policy = policy_of(state)
        ref = policy.scoring.model
        # A shadow model that cannot load is recorded as unavailable; it never fails the case.
        shadows = scoring.load_shadows(policy.scoring.shadow_models, artifacts.get_model)
        return scoring.run(state, policy, artifacts.get_model(ref.id, ref.version), shadows)

    return timed(state, "scoring", score)


def run_decision(state: DecisionState) -> DecisionState:
    """Cut-offs, the offer, and the ``after_model`` vendor groups (with ExternalData's stores)."""
    from lendguard.decision.stages import decision

    def decide() -> DecisionState:
        policy = policy_of(state)
        vendors = None
        if policy.groups_after_model:  # only then are the vendor stores and adapters imported
            from lendguard.store.cache import DynamoVendorCache
            from lendguard.store.payloads import S3PayloadArchive

            vendors = decision.VendorAccess(vendor_registry(), S3PayloadArchive(), DynamoVendorCache())
        return decision.run(state, policy, now(), vendors)

    return timed(state, "decision", decide)


def _on_state(run: Callable[[DecisionState], DecisionState]) -> Callable[[dict[str, Any]], DecisionState]:
    return lambda event: run(DecisionState.model_validate(event))


# Every stage of the registry (lendguard.core.stages), bound to its entry point: the event a
# stage's Lambda receives is the previous stage's state (the execution input for validate).
STAGE_RUNNERS: dict[str, Callable[[dict[str, Any]], DecisionState]] = {
    "validate": run_validate,
    "admission": _on_state(run_admission),
    "lists": _on_state(run_lists),
    "internal_data": _on_state(run_internal_data),
    "external_data": _on_state(run_external_data),
    "features": _on_state(run_features),
    "scoring": _on_state(run_scoring),
    "decision": _on_state(run_decision),
}
if tuple(STAGE_RUNNERS) != STAGE_NAMES:  # pragma: no cover - a programming error, caught at import
    raise RuntimeError(f"stage runners {tuple(STAGE_RUNNERS)} do not follow the registry {STAGE_NAMES}")


def run_finalize(state: DecisionState) -> tuple[DecisionState, CaseRecord]:
    """Write the case record and, for a REVIEW case, start its review workflow.

    The state is returned as the execution's output. The review workflow is started from here
    (not by a ``states:startExecution`` task) with the case id as the execution name's stem, so
    a retried finalize cannot start a second one; the case is written first, so the workflow's
    first step always finds it.
    """
    from lendguard.cases import review
    from lendguard.cases.archive import archive_from_state
    from lendguard.cases.record import case_from_state
    from lendguard.store import archive, cases, reviews

    started = time.perf_counter()
    case = case_from_state(state, now())
    case.retain_until = retain_until(case.created_at)
    # Every case gets its archive record (the application sealed, the derived facts sealed):
    # the single source for re-decision, review, replay and backtests.
    case.application_ref = archive.put_archive(
        archive_from_state(state, case.status, now(), _model_features(state))
    )
    settings = None
    if state.decision == "REVIEW":
        settings = policy_of(state).review
        name = reviews.execution_name(case.case_id)
        case.review = review.open_review(
            settings, reviews.execution_arn(reviews.review_state_machine_arn(), name)
        )
    state.trace.stages.append(
        StageTrace(stage="finalize", elapsed_ms=round((time.perf_counter() - started) * 1000, 3))
    )
    case.trace = state.trace
    # first_write: a retried finalize must not overwrite a case whose review has already begun.
    if cases.put_case(case, first_write=True):
        _count_case(case)
    _record_history(state)
    if settings is not None:
        reviews.start_review(
            case.case_id, {"case_id": case.case_id, "timeout_seconds": settings.timeout_seconds}
        )
    start_shadows(state)
    return state, case


def _record_history(state: DecisionState) -> None:
    """Add the case to its ID number's history (a set member: a retried finalize adds nothing).

    Written after the case, which stands whatever happens here: a miss is logged (case id only).
    """
    from lendguard.internal.history import PastCase

    try:
        own_data().record_decided(state.subject, PastCase.of(state))
    except Exception as exc:
        import logging

        logging.getLogger(__name__).warning(
            "case history not updated", extra={"case_id": state.case_id, "error": type(exc).__name__}
        )


def _count_case(case: CaseRecord) -> None:
    """Add the case to the per-day rule statistics (at most once per case).

    Statistics must never cost a decision: if the counters cannot be written, the case stands and
    the miss is logged (case id only) rather than failing finalize into the failure path.
    """
    from lendguard.decision import rule_stats

    try:
        rule_stats.record_case(case)
    except Exception as exc:
        import logging

        logging.getLogger(__name__).warning(
            "rule statistics not updated", extra={"case_id": case.case_id, "error": type(exc).__name__}
        )


def start_shadows(state: DecisionState) -> None:
    """Hand the case to the shadow function when its routing names challengers.

    Asynchronous (``Event``), so the answer never waits; a failure to queue is logged and
    never fails the case, whose answer is already recorded.
    """
    if not state.policy.get("shadows"):
        return
    from aws_lambda_powertools import Logger

    from lendguard.settings import settings
    from lendguard.store.functions import invoke_async

    try:
        invoke_async(settings.shadow_function, state.model_dump(mode="json"))
    except Exception as exc:  # the champion's answer stands whatever happens to its shadows
        Logger(child=True).warning(
            "shadow runs not started", extra={"case_id": state.case_id, "error": type(exc).__name__}
        )


def run_shadows(state: DecisionState) -> list[dict[str, Any]]:
    """Decide the case under each challenger the routing named and record the results with it."""
    from lendguard.lifecycle.shadows import ShadowResult, run_shadow
    from lendguard.store import cases
    from lendguard.store.secrets import hash_secret

    results = []
    for version in state.policy.get("shadows", []):
        try:
            policy = artifacts.get_policy(state.policy["id"], int(version))
            ref = policy.scoring.model
            result = run_shadow(state, policy, artifacts.get_model(ref.id, ref.version), hash_secret())
        except Exception as exc:  # one broken challenger must not hide the others
            result = ShadowResult(
                policy={"id": state.policy["id"], "version": int(version)}, error=type(exc).__name__
            )
        results.append(result.model_dump(mode="json"))

    def change(stored: cases.StoredCase) -> tuple[CaseRecord, tuple[str, str] | None]:
        stored.case.shadows = results
        return stored.case, cases.current_task(stored)

    cases.update_case(state.case_id, change)
    return results


def retain_until(created_at: datetime) -> datetime | None:
    """When a case record expires (infra/config retention.decision_days); None: kept."""
    from datetime import timedelta

    from lendguard.settings import settings

    days = settings.decision_retention_days
    return None if days is None else created_at + timedelta(days=days)


def _model_features(state: DecisionState) -> list[str]:
    """The scoring model's input names, from its metadata (the model is cached per container)."""
    if state.score is None:
        return []
    return artifacts.get_model(state.score.model_id, state.score.model_version).metadata.feature_names


def run_record_failure(event: dict[str, Any]) -> CaseRecord:
    """Record a FAILED case with its cause and archive what it had, so it can be re-decided."""
    from lendguard.cases.archive import archive_of_failure
    from lendguard.cases.record import failed_case
    from lendguard.store import archive, cases

    case = failed_case(event, now())
    case.retain_until = retain_until(case.created_at)
    request = event.get("request") if isinstance(event.get("request"), dict) else event
    application = request.get("application") if isinstance(request, dict) else None
    if isinstance(application, dict) and application.get("application_id") and application.get("applicant"):
        try:
            record = archive_of_failure(event, case.case_id, application, case.created_at, now())
            if record.header.subject is None:
                record.header.subject = _subject_of(application)
            case.subject = case.subject or record.header.subject
            case.application_ref = archive.put_archive(record)
        except Exception as exc:  # the failure must be recorded even if the archive is down
            # The type only: a message may quote the application.
            case.error = {**(case.error or {}), "archive_error": type(exc).__name__}
    cases.put_case(case)
    return case


def _subject_of(application: dict[str, Any]) -> Subject | None:
    """Hashed keys of an application that failed before validate made them (erasure finds it by them)."""
    from lendguard.core.application import parse_application
    from lendguard.core.errors import InvalidInput
    from lendguard.decision.stages.validate import subject_of
    from lendguard.store.secrets import hash_secret

    try:
        return subject_of(parse_application(application), hash_secret())
    except InvalidInput:
        return None


# ---- manual review ------------------------------------------------------------------------


def run_review_task(event: dict[str, Any]) -> CaseRecord:
    """A review level starts waiting: keep its task token beside the case (waitForTaskToken)."""
    from lendguard.cases import review
    from lendguard.store import cases

    token, level = str(event["task_token"]), event["level"]

    def change(stored: cases.StoredCase) -> tuple[CaseRecord, tuple[str, str] | None]:
        return review.open_task(stored.case, level, token, now()), (review.task_id(token), token)

    return cases.update_case(str(event["case_id"]), change)


def run_review_conclude(event: dict[str, Any]) -> CaseRecord:
    """The review workflow ends: apply its answers, its timeout or its failure to the case."""
    from lendguard.cases import review
    from lendguard.store import cases

    conclusion = review.ReviewConclusion.model_validate(event)
    pinned = cases.get_case(conclusion.case_id).policy or {}
    policy = artifacts.get_policy(str(pinned.get("id")), int(pinned.get("version", 0)))

    def change(stored: cases.StoredCase) -> tuple[CaseRecord, tuple[str, str] | None]:
        return review.conclude(stored.case, conclusion, policy, now()), None

    return cases.update_case(conclusion.case_id, change)
