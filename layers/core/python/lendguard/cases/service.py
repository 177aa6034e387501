"""The case service: decide, re-decide, follow re-decisions, answer a review.

The HTTP layer (:mod:`lendguard.http`) only parses, authorises and maps errors; the CLI's
local commands, the demo and the tests call these same functions.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from lendguard import deployment
from lendguard.cases import review
from lendguard.cases.record import CaseRecord
from lendguard.cases.response import DecisionResponse, response_from_case, response_from_state
from lendguard.cases.review import FieldConflict
from lendguard.core.application import parse_application
from lendguard.core.errors import Conflict, FieldError, InvalidInput, NotFound
from lendguard.decision.state import DecisionState, Reason
from lendguard.policy.schema import Policy
from lendguard.settings import settings
from lendguard.store import archive, artifacts, cases, executions, idempotency, reviews


def now() -> datetime:
    return datetime.now(UTC)


def new_case_id(now: datetime) -> str:
    """Time-ordered, unique, and a valid Step Functions execution name."""
    return f"C{now:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:12]}"


def _policy() -> Policy:
    """The policy new cases are decided with."""
    return artifacts.get_policy(*settings.policy)


class _DirectCall:
    """The context Powertools idempotency reads when ``decide`` is called outside a Lambda
    (the CLI, tests): the in-progress record then expires after the API's own time limit."""

    function_name = "lendguard-direct"
    aws_request_id = "direct"

    def get_remaining_time_in_millis(self) -> int:
        return deployment.API_FUNCTION.timeout_s * 1000


def run_case(
    case_id: str, application: dict[str, Any], received_at: datetime
) -> tuple[int, DecisionResponse]:
    """Run the decision flow for a validated application as ``case_id``: (HTTP status, response).

    ``received_at`` is the server's receive time: every stage decides on it (ages, local hour),
    and the case keeps it, so a re-decision decides on the same time.
    """
    request = {"case_id": case_id, "application": application, "received_at": received_at.isoformat()}
    result = executions.run_decision(case_id, request)
    if result.status == "SUCCEEDED" and result.output is not None:
        state = DecisionState.model_validate(result.output)
        return 200, with_borrower_reasons(response_from_state(state), state.policy, state.reasons)
    # The failure path recorded the case as FAILED with its cause; answer with that record.
    try:
        case = cases.get_case(case_id)
    except NotFound:
        raise RuntimeError(
            f"execution {result.execution_arn} ended {result.status}: {result.error}"
        ) from None
    return 502, response_from_case(case)


def with_borrower_reasons(
    response: DecisionResponse, policy_ref: dict[str, Any] | None, reasons: list[Reason]
) -> DecisionResponse:
    """The response with the reasons a borrower may see, from the pinned policy's table."""
    if reasons and policy_ref:
        policy = artifacts.get_policy(str(policy_ref.get("id")), int(policy_ref.get("version", 0)))
        response.borrower_reasons = policy.borrower_reasons.for_reasons(reasons)
    return response


def decide(
    body: str | bytes | None, context: Any = None, received_at: datetime | None = None
) -> tuple[int, DecisionResponse]:
    """Validate an application, run the decision flow, and return (HTTP status, response).

    Invalid input raises :class:`InvalidInput` before any case or execution is created.
    Idempotent on ``application_id`` (Powertools idempotency, DynamoDB): the same application
    again gets the first answer and no new case; the same id with a different body raises
    :class:`Conflict` (409). A FAILED first answer whose case was since re-decided is followed
    to the case that replaced it. ``received_at`` (default: now) is when the API received it.
    """
    received = received_at or now()
    application = parse_application(body, _policy().products, received_at=received).model_dump(mode="json")

    def _decide_once(application: dict[str, Any]) -> dict[str, Any]:
        # The idempotent unit: what it returns is stored and handed back to every repeat.
        status, response = run_case(new_case_id(received), application, received)
        return {"status": status, "response": response.model_dump(mode="json")}

    config = IdempotencyConfig(
        event_key_jmespath="application_id",
        payload_validation_jmespath="@",  # the whole (normalised) application: a changed body is a 409
        raise_on_no_idempotency_key=True,
        expires_after_seconds=deployment.IDEMPOTENCY_TTL_SECONDS,
    )
    config.register_lambda_context(context or _DirectCall())
    once = idempotent_function(
        _decide_once,
        data_keyword_argument="application",
        persistence_store=idempotency.persistence(),
        config=config,
        key_prefix="lendguard.decide",
    )
    app_id = application["application_id"]
    try:
        outcome = once(application=application)
    except IdempotencyValidationError:
        raise FieldConflict(
            f"application_id {app_id} was already decided for a different application",
            [FieldError(field="application_id", message="already used with a different body; use a new id")],
        ) from None
    except IdempotencyAlreadyInProgressError:
        raise Conflict(
            f"application {app_id} is being decided right now; repeat the request shortly"
        ) from None
    status, response = int(outcome["status"]), DecisionResponse.model_validate(outcome["response"])
    return _follow_redecisions(status, response)


def _follow_redecisions(
    status: int, response: DecisionResponse, max_hops: int = 10
) -> tuple[int, DecisionResponse]:
    """A FAILED answer whose case was re-decided: the answer of the case that replaced it."""
    for _ in range(max_hops):
        if response.status != "FAILED":
            break
        try:
            case = cases.get_case(response.case_id)
            if not case.redecided_as:
                break
            newer = cases.get_case(case.redecided_as)
        except NotFound:
            break
        response = response_from_case(newer)
        status = 502 if newer.status == "FAILED" else 200
    return status, response


def redecide(case_id: str, requested_by: str) -> tuple[int, DecisionResponse]:
    """Decide a FAILED case again, as a new case linked to it (``redecided_from`` / ``redecided_as``).

    The application comes from the failed case's archive and is checked against the policy in
    force now, on the failed case's ``received_at`` (a re-decision decides as of the time the
    application came in). The old case is linked first with a conditional write, so two
    concurrent re-decisions of one case cannot both start.
    """
    old = cases.get_case(case_id)
    if old.status != "FAILED":
        raise Conflict(f"case {case_id} is {old.status}; only a FAILED case can be re-decided")
    if old.redecided_as:
        raise Conflict(f"case {case_id} was already re-decided as {old.redecided_as}")
    try:
        raw = archive.load_application(case_id)
    except NotFound as exc:
        raise Conflict(str(exc)) from None
    try:
        application = parse_application(raw, _policy().products, received_at=old.created_at).model_dump(
            mode="json"
        )
    except InvalidInput as exc:
        raise FieldConflict(
            f"the application of case {case_id} is not valid under the policy in force", exc.details
        ) from None
    new_id = new_case_id(now())
    cases.claim_link(case_id, "redecided_as", new_id, require_status="FAILED")
    status, _ = run_case(new_id, application, old.created_at)

    def link(stored: cases.StoredCase) -> tuple[CaseRecord, tuple[str, str] | None]:
        stored.case.redecided_from, stored.case.redecided_by = case_id, requested_by
        return stored.case, cases.current_task(stored)

    new = cases.update_case(new_id, link)
    return status, with_borrower_reasons(response_from_case(new), new.policy, new.reasons)


def answer_review(case_id: str, request: review.ReviewRequest) -> tuple[CaseRecord, review.ReviewAnswer]:
    """A reviewer's answer: checked, written once (conditionally on the open task), then sent.

    Two answers to one task race on a conditional write of the case that requires that task
    to be the open one: exactly one wins, the other gets :class:`Conflict` (409). Only the
    winner calls SendTaskSuccess. If the task timed out meanwhile, the answer is recorded as
    not applied and the caller gets 409 too.
    """
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
