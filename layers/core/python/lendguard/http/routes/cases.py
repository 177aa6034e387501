"""``/v1/cases``: look cases up, list them, and review them.

- ``GET /v1/cases/{case_id}``: the whole case: decision, offer with its repayment schedule,
  reasons, trace (rules with parameters and observed values, vendors, scores), policy and model
  versions, timings, execution ARN, review state and history, re-decision links.
- ``GET /v1/cases?status=&decision=&product=&from=&to=&application_id=&order=&limit=&next_token=``:
  newest first (``order=oldest``: oldest first, the review queue), a page at a time. Each status (or the application) is a Query on its GSI, never a
  Scan; ``next_token`` is opaque and only valid with the same filters.
- ``POST /v1/cases/{case_id}/review``: ``reviewer``, ``decision`` (APPROVE / REJECT),
  optional ``limit`` (not above the one under review), ``note`` and ``level``. Resumes the
  review workflow; 409 for a second answer to the same task, or the initial reviewer trying
  the final review too.

``POST /v1/cases/{case_id}/redecide`` and ``GET /v1/cases/{case_id}/history`` are in
``lendguard.http.app`` (they run and read decision executions).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lendguard.core.base_model import Model
from lendguard.core.errors import FieldError, InvalidInput, json_object
from lendguard.core.lazy import lazy_module
from lendguard.core.text import SafeText
from lendguard.http.guard import actor_field, body_bytes, principal

if TYPE_CHECKING:
    from lendguard.cases.record import CaseRecord
    from lendguard.store.cases import CaseQuery

# The case services and records are imported on a case route's first request (or by the
# warm-up): a handler's import stays near the floor of boto3 and Powertools.
review = lazy_module("lendguard.cases.review")
service = lazy_module("lendguard.cases.service")
record = lazy_module("lendguard.cases.record")
cases = lazy_module("lendguard.store.cases")

router = Router()

CASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,79}$")
APPLICATION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")
DEFAULT_PAGE = 20
MAX_TOKEN_CHARS = 4096
PRODUCT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")
ORDERS = ("newest", "oldest")
LIST_PARAMETERS = (
    "status", "decision", "product", "from", "to", "application_id", "order", "limit", "next_token",
)  # fmt: skip


def _json(status: int, body: str) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def check_case_id(case_id: str) -> str:
    """A case id from a path; 400 naming ``case_id`` if it cannot be one (ids are execution names)."""
    if not CASE_ID.match(case_id):
        raise InvalidInput(
            "invalid case id",
            [
                FieldError(
                    field="case_id",
                    message="1-80 letters, digits, '-' or '_', starting with a letter or digit",
                )
            ],
        )
    return case_id


@cache
def _redecide_model() -> type[BaseModel]:
    """``POST /v1/cases/{case_id}/redecide``: who asks, and why (kept on the new case).

    Built on first use: its reviewer pattern lives with the review rules, imported lazily.
    """

    class RedecideRequest(Model):
        model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

        requested_by: Annotated[str, Field(min_length=1, max_length=64, pattern=review.REVIEWER_PATTERN)]
        note: Annotated[SafeText, Field(max_length=2000)] | None = None

    return RedecideRequest


def parse_redecide_request(body: str | bytes | dict[str, Any] | None) -> Any:
    """Validate a re-decision request (``requested_by``, ``note``); :class:`InvalidInput` names every bad field."""
    data = json_object(body, "invalid re-decision")
    try:
        return _redecide_model().model_validate(data)
    except ValidationError as exc:
        raise InvalidInput.from_validation_error("invalid re-decision", exc) from None


def _time(raw: str, end_of_day: bool) -> datetime:
    """An ISO 8601 time with a UTC offset, or a date (the whole day, UTC)."""
    try:
        if len(raw) == 10:
            day = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
            return day + timedelta(days=1, microseconds=-1) if end_of_day else day
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            "must be an ISO 8601 date or time, e.g. 2026-11-22 or 2026-11-22T10:00:00+08:00"
        ) from None
    if value.tzinfo is None:
        raise ValueError("must include a UTC offset, e.g. 2026-11-22T10:00:00+08:00")
    return value


def parse_list_query(params: dict[str, str]) -> tuple[CaseQuery, int, str | None]:
    """The list filters, page size and token; :class:`InvalidInput` names every bad parameter."""
    errors: list[FieldError] = []
    for name in sorted(set(params) - set(LIST_PARAMETERS)):
        errors.append(FieldError(field=name, message=f"unknown parameter; use {', '.join(LIST_PARAMETERS)}"))
    status = params.get("status")
    if status is not None and status not in record.CASE_STATUSES:
        errors.append(FieldError(field="status", message=f"must be one of {', '.join(record.CASE_STATUSES)}"))
    decision = params.get("decision")
    if decision is not None and decision not in record.DECISIONS:
        errors.append(FieldError(field="decision", message=f"must be one of {', '.join(record.DECISIONS)}"))
    application_id = params.get("application_id")
    if application_id is not None and not APPLICATION_ID.match(application_id):
        errors.append(FieldError(field="application_id", message="1-64 letters, digits, '-' or '_'"))
    product = params.get("product")
    if product is not None and not PRODUCT.match(product):
        errors.append(FieldError(field="product", message="1-64 letters, digits, '-' or '_'"))
    order = params.get("order", "newest")
    if order not in ORDERS:
        errors.append(FieldError(field="order", message=f"must be one of {', '.join(ORDERS)}"))
    times: dict[str, datetime | None] = {"from": None, "to": None}
    for name in times:
        if params.get(name) is not None:
            try:
                times[name] = _time(params[name], end_of_day=name == "to")
            except ValueError as exc:
                errors.append(FieldError(field=name, message=str(exc)))
    if times["from"] and times["to"] and times["from"] > times["to"]:
        errors.append(FieldError(field="to", message="must not be before from"))
    raw_limit = params.get("limit", str(DEFAULT_PAGE))
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= cases.MAX_PAGE:
        errors.append(FieldError(field="limit", message=f"must be an integer from 1 to {cases.MAX_PAGE}"))
    token = params.get("next_token")
    if token is not None and not (0 < len(token) <= MAX_TOKEN_CHARS):
        errors.append(FieldError(field="next_token", message=f"must be 1 to {MAX_TOKEN_CHARS} characters"))
    if errors:
        raise InvalidInput("invalid query", errors)
    query = cases.CaseQuery(
        statuses=[status] if status else list(record.CASE_STATUSES),
        decision=decision,
        created_from=times["from"],
        created_to=times["to"],
        application_id=application_id,
        product=product,
        oldest_first=order == "oldest",
    )
    return query, int(raw_limit), token


def case_summary(case: CaseRecord) -> dict[str, Any]:
    """One line of the case list."""
    review = case.review
    return {
        "case_id": case.case_id,
        "application_id": case.application_id,
        "status": case.status,
        "decision": case.decision,
        "automated_decision": case.automated_decision,
        "created_at": case.created_at.isoformat(),
        "decided_at": case.decided_at.isoformat() if case.decided_at else None,
        "product": case.product,
        "requested_amount": case.requested_amount,
        "credit_limit": case.offer.credit_limit if case.offer else None,
        "apr": case.offer.apr if case.offer else None,
        "review_status": review.status if review else None,
        "review_waiting": review.pending.level if review and review.pending else None,
        "review_opened_at": review.pending.opened_at.isoformat() if review and review.pending else None,
        "score": case.score.final_points if case.score else None,
        "reasons": [r.code for r in case.reasons],
        "redecided_from": case.redecided_from,
        "redecided_as": case.redecided_as,
    }


@router.get("/v1/cases")
def list_cases() -> Response:
    """A page of cases in the asked order, with the token of the next page (null at the end)."""
    params = dict(router.current_event.query_string_parameters or {})
    query, limit, token = parse_list_query(params)
    found, next_token = cases.query_cases(query, limit, token)
    body = {"cases": [case_summary(c) for c in found], "count": len(found), "next_token": next_token}
    return _json(200, json.dumps(body))


@router.get("/v1/cases/<case_id>")
def get_case(case_id: str) -> Response:
    """Everything about one case."""
    case = cases.get_case(check_case_id(case_id))
    return _json(200, record.case_view(case).model_dump_json())


@router.post("/v1/cases/<case_id>/review")
def post_review(case_id: str) -> Response:
    """A reviewer's answer to the review task the case is waiting on."""
    # The reviewer is the authenticated caller: the two-reviewer rule compares identities.
    data = dict(json_object(body_bytes(router), "invalid review"))
    data["reviewer"] = actor_field(data.get("reviewer"), principal(router), "reviewer")
    case, answer = service.answer_review(check_case_id(case_id), review.parse_request(data))
    body = {
        "case_id": case.case_id,
        "accepted": answer.model_dump(mode="json", exclude={"task_id", "final_review_required"}),
        "next": "final_review" if answer.final_review_required else "conclusion",
        "review": case.review.model_dump(mode="json") if case.review else None,
    }
    return _json(200, json.dumps(body))
