"""``/v1/loans``: repayment outcomes as loan events, and what evaluation reads back.

- ``POST /v1/loans/events``: body ``{"events": [...]}`` (at most 1,000). Each event is checked on
  its own (:mod:`lendguard.outcomes.events`, :mod:`lendguard.outcomes.ingest`) and against the
  loan book (:mod:`lendguard.book.ingest`: the account, the offer's validity, the available
  limit, the cost cap; a draw creates its loan). All or nothing: any bad event is a 400 naming
  ``events[i].field`` and nothing is recorded; otherwise 200 with a report
  ``{received, recorded, duplicates, failed, errors}``.
- ``GET /v1/loans/events?case_id=&as_of=``: a case's events and each loan's snapshot at
  ``as_of`` (default today), derived from the events.
- ``GET /v1/loans/outcomes?from=&to=&limit=&next_token=``: a page of decided cases received in
  the date range (UTC, from the cases' GSIs, never a scan) with what an evaluation needs: score,
  shadow scores, rule outcomes, offer, and the loan events of approved cases.

An event may carry a date up to today anywhere on Earth (UTC+14): a lender in UTC+8 reports its
own calendar dates.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router

from lendguard.core.errors import FieldError, InvalidInput, NotFound, json_object
from lendguard.core.lazy import lazy_module
from lendguard.http.routes.cases import CASE_ID, MAX_TOKEN_CHARS
from lendguard.http.routes.days import check_parameters, day_range, parse_day, raise_if

if TYPE_CHECKING:
    from lendguard.book.accounts import Account
    from lendguard.cases.record import CaseRecord

# The loan book and outcome services are imported on a loan route's first request (or by the warm-up).
_book_ingest = lazy_module("lendguard.book.ingest")
_ingest = lazy_module("lendguard.outcomes.ingest")
_snapshot = lazy_module("lendguard.outcomes.snapshot")
_accounts = lazy_module("lendguard.store.accounts")
artifacts = lazy_module("lendguard.store.artifacts")
cases = lazy_module("lendguard.store.cases")
outcomes = lazy_module("lendguard.store.outcomes")

router = Router()
logger = Logger(child=True)
MAX_OUTCOME_DAYS = 1096
OUTCOME_PARAMETERS = ("from", "to", "limit", "next_token")
# The latest calendar date anywhere: events are dated in the lender's own time zone.
_EARLIEST_ZONE_AHEAD = timedelta(hours=14)


def latest_date(now: datetime | None = None) -> date:
    return ((now or datetime.now(UTC)) + _EARLIEST_ZONE_AHEAD).date()


def open_account_of_case(case_id: str) -> Account | None:
    """The account an approved case opens (its pinned policy gives the product's terms)."""
    try:
        case = cases.get_case(case_id)
    except NotFound:
        return None
    if case.decision != "APPROVE" or case.offer is None or not case.policy:
        return None
    policy = artifacts.get_policy(str(case.policy["id"]), int(case.policy["version"]))
    return _book_ingest.account_from_case(case, policy)


def _json(status: int, body: str) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


@router.post("/v1/loans/events")
def post_events() -> Response:
    data = json_object(router.current_event.body, "invalid loan events")
    events = data.get("events")
    errors = [
        FieldError(field=k, message='unknown field; send {"events": [...]}') for k in data if k != "events"
    ]
    if not isinstance(events, list) or not events:
        errors.append(
            FieldError(field="events", message=f"must be a list of 1 to {_ingest.MAX_BATCH} events")
        )
    elif len(events) > _ingest.MAX_BATCH:
        errors.append(FieldError(field="events", message=f"at most {_ingest.MAX_BATCH} events per request"))
    if errors:
        raise InvalidInput("invalid loan events", errors)
    store = outcomes.DynamoEventStore()
    book = _book_ingest.BookCheck(_accounts.DynamoAccountStore(), open_account_of_case, store.events_of)
    # All or nothing: a bad row is a 400 naming events[i].field, and nothing is recorded.
    report = _ingest.record_events(events, store, latest_date(), book=book, all_or_nothing=True)
    logger.info(
        "loan events",
        extra={
            "received": report.received,
            "recorded": report.recorded,
            "duplicates": report.duplicates,
            "failed": report.failed,
        },
    )
    return _json(200, report.model_dump_json())


@router.get("/v1/loans/events")
def get_events() -> Response:
    params = dict(router.current_event.query_string_parameters or {})
    errors: list[FieldError] = []
    check_parameters(params, ("case_id", "as_of"), errors)
    case_id = params.get("case_id")
    if not case_id or not CASE_ID.match(case_id):
        errors.append(FieldError(field="case_id", message="required: 1-80 letters, digits, '-' or '_'"))
    as_of = parse_day(params, "as_of", errors) or latest_date()
    raise_if(errors)
    assert case_id is not None
    cases.get_case(case_id)  # 404 for an unknown case
    events = outcomes.events_of(case_id)
    body = {
        "case_id": case_id,
        "as_of": as_of.isoformat(),
        "events": [e.content() for e in sorted(events, key=lambda e: (e.date, e.event_id))],
        "loans": [s.model_dump(mode="json") for s in _snapshot.account_snapshots(case_id, events, as_of)],
    }
    return _json(200, json.dumps(body))


def outcome_row(case: CaseRecord, events: list[dict[str, Any]]) -> dict[str, Any]:
    """One decided case as evaluation reads it (no personal data: ids, scores and rule outcomes)."""
    score = case.score
    return {
        "case_id": case.case_id,
        "created_at": case.created_at.isoformat(),
        "status": case.status,
        "decision": case.decision,
        "automated_decision": case.automated_decision,
        "policy": case.policy,
        "credit_limit": case.offer.credit_limit if case.offer else None,
        "score": None
        if score is None
        else {
            "model_id": score.model_id,
            "model_version": score.model_version,
            "pd": score.pd,
            "points": score.points,
            "final_points": score.final_points,
            "shadow": [
                {k: s.get(k) for k in ("model_id", "model_version", "pd", "points", "error")}
                for s in score.shadow
            ],
        },
        "rules": [[r.rule_id, r.outcome, r.effect] for r in (case.trace.rules if case.trace else [])],
        "events": events,
    }


@router.get("/v1/loans/outcomes")
def get_outcomes() -> Response:
    params = dict(router.current_event.query_string_parameters or {})
    errors: list[FieldError] = []
    check_parameters(params, OUTCOME_PARAMETERS, errors)
    start, end = day_range(params, errors, max_days=MAX_OUTCOME_DAYS, default_days=30)
    raw_limit = params.get("limit", str(cases.MAX_PAGE))
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= cases.MAX_PAGE:
        errors.append(FieldError(field="limit", message=f"must be an integer from 1 to {cases.MAX_PAGE}"))
    token = params.get("next_token")
    if token is not None and not 0 < len(token) <= MAX_TOKEN_CHARS:
        errors.append(FieldError(field="next_token", message=f"must be 1 to {MAX_TOKEN_CHARS} characters"))
    raise_if(errors)
    query = cases.CaseQuery(
        statuses=["DECIDED", "PENDING_REVIEW"],
        created_from=datetime.combine(start, datetime.min.time(), tzinfo=UTC),
        created_to=datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        - timedelta(microseconds=1),
    )
    found, next_token = cases.query_cases(query, int(raw_limit), token)
    rows = []
    for case in found:
        events = outcomes.events_of(case.case_id) if case.decision == "APPROVE" else []
        rows.append(outcome_row(case, [e.content() for e in events]))
    body = {"from": start.isoformat(), "to": end.isoformat(), "cases": rows, "next_token": next_token}
    return _json(200, json.dumps(body))
