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

from lendguard.decision.state import DecisionState, StageTrace
from lendguard.store import artifacts

# Each Lambda imports this module but runs one of its functions: the other stages' code,
# vendor adapters, review logic and their boto3 resources are imported where they are used,
# so a function's cold start pays only for its own stage.
if TYPE_CHECKING:
    from lendguard.cases import review
    from lendguard.cases.record import CaseRecord
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


def run_validate(event: dict[str, Any], policy_id: str, policy_version: int) -> DecisionState:
    """Open a case from ``{"request": {case_id, application, received_at}, "execution_arn"}``."""
    from lendguard.core.application import parse_application
    from lendguard.decision.stages import validate
    from lendguard.store.secrets import hash_secret

    started = time.perf_counter()
    request = event["request"]
    policy = artifacts.get_policy(policy_id, policy_version)
    received_at = datetime.fromisoformat(request["received_at"])
    app = parse_application(request["application"], policy.products, received_at=received_at)
    state = validate.open_case(
        app, policy, request["case_id"], received_at, hash_secret(),
        elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
    )  # fmt: skip
    state.execution_arn = event.get("execution_arn")
    return state


def run_admission(state: DecisionState) -> DecisionState:
    from lendguard.decision.stages import admission

    return timed(state, "admission", lambda: admission.run(state, policy_of(state)))


def run_lists(state: DecisionState) -> DecisionState:
    from lendguard.decision.stages import lists
    from lendguard.store.lists import DynamoListStore

    return timed(state, "lists", lambda: lists.run(state, policy_of(state), DynamoListStore(), now()))


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
    from lendguard.decision.stages import decision

    return timed(state, "decision", lambda: decision.run(state, policy_of(state), now()))


def run_finalize(state: DecisionState) -> tuple[DecisionState, CaseRecord]:
    """Write the case record and, for a REVIEW case, start its review workflow.

    The state is returned as the execution's output. The review workflow is started from here
    (not by a ``states:startExecution`` task) with the case id as the execution name's stem, so
    a retried finalize cannot start a second one; the case is written first, so the workflow's
    first step always finds it.
    """
    from lendguard.cases import review
    from lendguard.cases.record import case_from_state
    from lendguard.store import cases, reviews

    started = time.perf_counter()
    case = case_from_state(state, now())
    settings = None
    if state.decision == "REVIEW":
        settings = policy_of(state).review
        # Reviewers and a possible re-decision need the whole application; it stays in S3.
        case.application_ref = cases.archive_application(case.case_id, state.application)
        name = reviews.execution_name(case.case_id)
        case.review = review.open_review(
            settings, reviews.execution_arn(reviews.review_state_machine_arn(), name)
        )
    state.trace.stages.append(
        StageTrace(stage="finalize", elapsed_ms=round((time.perf_counter() - started) * 1000, 3))
    )
    case.trace = state.trace
    # first_write: a retried finalize must not overwrite a case whose review has already begun.
    cases.put_case(case, first_write=True)
    if settings is not None:
        reviews.start_review(
            case.case_id, {"case_id": case.case_id, "timeout_seconds": settings.timeout_seconds}
        )
    return state, case


def run_record_failure(event: dict[str, Any]) -> CaseRecord:
    """Record a FAILED case with its cause; it can be re-decided later from the archived application."""
    from lendguard.cases.record import failed_case
    from lendguard.store import cases

    case = failed_case(event, now())
    request = event.get("request") if isinstance(event.get("request"), dict) else event
    application = request.get("application") if isinstance(request, dict) else None
    if isinstance(application, dict) and application.get("application_id") and application.get("applicant"):
        try:
            case.application_ref = cases.archive_application(case.case_id, application)
        except Exception as exc:  # the failure must be recorded even if the archive is down
            case.error = {**(case.error or {}), "archive_error": f"{type(exc).__name__}: {exc}"}
    cases.put_case(case)
    return case


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


def answer_review(
    case_id: str, body: str | bytes | dict[str, Any] | None
) -> tuple[CaseRecord, review.ReviewAnswer]:
    """A reviewer's answer: checked, written once (conditionally on the open task), then sent.

    Two answers to one task race on a conditional write of the case that requires that task
    to be the open one: exactly one wins, the other gets :class:`Conflict` (409). Only the
    winner calls SendTaskSuccess. If the task timed out meanwhile, the answer is recorded as
    not applied and the caller gets 409 too.
    """
    from lendguard.cases import review
    from lendguard.core.errors import Conflict
    from lendguard.store import cases, reviews

    request = review.parse_request(body)
    for attempt in range(3):
        stored = cases.read_case(case_id)
        case = stored.case
        pinned = case.policy or {}
        policy = artifacts.get_policy(str(pinned.get("id")), int(pinned.get("version", 0)))
        answer = review.check_answer(case, request, policy, now())
        if stored.task_id != answer.task_id or not stored.task_token:
            raise Conflict(
                f"the {answer.level} review task of case {case_id} changed meanwhile; reload the case"
            )
        token = stored.task_token
        try:
            saved = cases.save_case(
                review.record_answer(case, answer),
                expected_version=case.version,
                expected_task_id=answer.task_id,
            )
            break
        except cases.VersionConflict:
            if attempt == 2:
                raise Conflict(f"case {case_id} is changing; try again") from None
            # Reread: if the task was answered meanwhile, check_answer now says so (409).
    try:
        reviews.send_answer(token, answer.model_dump(mode="json"))
    except reviews.TaskGone as exc:
        why = f"the workflow no longer waited ({exc.code})"
        cases.update_case(
            case_id, lambda s: (review.record_not_applied(s.case, answer, why, now()), cases.current_task(s))
        )
        raise Conflict(f"the {answer.level} review of case {case_id} is closed: {why}") from None
    return saved, answer
