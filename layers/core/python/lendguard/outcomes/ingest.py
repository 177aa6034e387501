"""Recording loan events: validated row by row, checked against their case and loan, written once.

A batch (an API request or a CSV file's chunk) is checked as a whole before anything is written,
so the order of rows within it does not matter (a repayment may come before its draw). Each row
is then its own write: a bad row is reported with its row number, field and problem, and the
good rows are recorded. Checks beyond the row's own fields:

- ``case_id`` must name a case that was approved (an account exists only for an approved offer);
- a ``drawn`` event may not be dated before the case was decided, nor exceed the offer's limit;
- every other event needs its loan's ``drawn`` event (already recorded, or in the same batch)
  and may not be dated before the draw;
- ``event_id`` is idempotent within its case: the same event again is counted as a duplicate;
  the same id with other content is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal, Protocol

from pydantic import Field

from lendguard.core.base_model import Model
from lendguard.core.errors import FieldError, InvalidInput
from lendguard.outcomes.events import LoanEvent, parse_event

MAX_BATCH = 1000


class RowError(Model):
    """One rejected event: ``row`` counts from 1 (the first event of the batch or file)."""

    row: int
    field: str
    message: str


class EventsReport(Model):
    """What happened to a batch of events."""

    received: int = 0
    recorded: int = 0
    duplicates: int = 0
    failed: int = 0
    errors: list[RowError] = Field(default_factory=list)


@dataclass(frozen=True)
class CaseFacts:
    """What the checks need to know of a case."""

    decision: str | None
    decided_on: date
    credit_limit: Decimal | None


WriteResult = Literal["recorded", "duplicate", "conflict"]


class EventStore(Protocol):
    """Where events live (:mod:`lendguard.store.outcomes` on DynamoDB)."""

    def case_facts(self, case_id: str) -> CaseFacts | None: ...

    def events_of(self, case_id: str) -> list[LoanEvent]: ...

    def put_event(self, event: LoanEvent) -> WriteResult: ...


class BatchCheck(Protocol):
    """Checks beyond the events' own (the loan book, :class:`lendguard.book.ingest.BookCheck`)."""

    def prepare(
        self, accepted: Sequence[tuple[int, LoanEvent]]
    ) -> tuple[list[tuple[int, LoanEvent]], list[RowError]]: ...

    def commit(self) -> None: ...


def record_events(
    rows: Sequence[Mapping[str, Any]],
    store: EventStore,
    today: date,
    first_row: int = 1,
    *,
    book: BatchCheck | None = None,
    all_or_nothing: bool = False,
) -> EventsReport:
    """Validate and record a batch; rows are numbered from ``first_row``.

    ``book`` adds its checks after the case checks and writes its own changes (new loans on
    accounts) before any event. With ``all_or_nothing`` a batch with any bad row raises
    :class:`InvalidInput` (fields ``events[I].FIELD``, ``I`` the row's index in ``rows``) and nothing is
    written; otherwise the good rows are recorded and the bad ones reported.
    """
    if len(rows) > MAX_BATCH:
        raise InvalidInput(
            "too many events", [FieldError(field="events", message=f"at most {MAX_BATCH} per request")]
        )
    report = EventsReport(received=len(rows))
    parsed: list[tuple[int, LoanEvent]] = []
    for offset, raw in enumerate(rows):
        row = first_row + offset
        if not isinstance(raw, Mapping):
            report.errors.append(RowError(row=row, field="(row)", message="must be a JSON object"))
            continue
        try:
            parsed.append((row, parse_event(raw, today)))
        except InvalidInput as exc:
            report.errors.extend(RowError(row=row, field=d.field, message=d.message) for d in exc.details)
    accepted = _check_against_cases(parsed, store, report.errors.append)
    if book is not None:
        accepted, book_errors = book.prepare(accepted)
        report.errors.extend(book_errors)
    if all_or_nothing and report.errors:
        raise InvalidInput(
            "invalid loan events; nothing was recorded",
            [FieldError(field=f"events[{e.row - first_row}].{e.field}", message=e.message)
             for e in sorted(report.errors, key=lambda e: e.row)],
        )  # fmt: skip
    if book is not None:
        book.commit()
    for row, event in accepted:
        result = store.put_event(event)
        if result == "recorded":
            report.recorded += 1
        elif result == "duplicate":
            report.duplicates += 1
        else:
            report.errors.append(_conflict(row, event))
    report.errors.sort(key=lambda e: e.row)
    report.failed = len({e.row for e in report.errors})
    return report


def _conflict(row: int, event: LoanEvent) -> RowError:
    return RowError(
        row=row, field="event_id",
        message=f"event {event.event_id} of case {event.case_id} was already recorded with other content",
    )  # fmt: skip


def _check_against_cases(
    parsed: Sequence[tuple[int, LoanEvent]], store: EventStore, fail: Callable[[RowError], None]
) -> list[tuple[int, LoanEvent]]:
    by_case: dict[str, list[tuple[int, LoanEvent]]] = {}
    for row, event in parsed:
        by_case.setdefault(event.case_id, []).append((row, event))
    accepted: list[tuple[int, LoanEvent]] = []
    for case_id, items in by_case.items():
        facts = store.case_facts(case_id)
        if facts is None:
            for row, _ in items:
                fail(RowError(row=row, field="case_id", message=f"unknown case {case_id}"))
            continue
        if facts.decision != "APPROVE":
            for row, _ in items:
                fail(RowError(row=row, field="case_id",
                              message=f"case {case_id} was not approved (decision {facts.decision or 'none'})"))  # fmt: skip
            continue
        accepted.extend(_check_case(items, facts, store.events_of(case_id), fail))
    return accepted


def _check_case(
    items: Sequence[tuple[int, LoanEvent]],
    facts: CaseFacts,
    existing: Sequence[LoanEvent],
    fail: Callable[[RowError], None],
) -> list[tuple[int, LoanEvent]]:
    stored = {e.event_id: e for e in existing}
    draws: dict[str, date] = {}
    for event in existing:
        if event.type == "drawn":
            draws[event.loan_id] = min(event.date, draws.get(event.loan_id, event.date))
    good: list[tuple[int, LoanEvent]] = []
    pending: list[tuple[int, LoanEvent]] = []
    batch: dict[str, LoanEvent] = {}
    for row, event in items:
        earlier = stored.get(event.event_id) or batch.get(event.event_id)
        if earlier is not None and earlier.content() != event.content():
            fail(_conflict(row, event))
            continue
        # A repeat of the same event (stored, or earlier in the batch) goes through the same
        # checks and is counted as a duplicate when written.
        batch.setdefault(event.event_id, event)
        if event.type != "drawn":
            pending.append((row, event))
        elif event.date < facts.decided_on:
            fail(
                RowError(
                    row=row, field="date", message=f"is before the case was decided ({facts.decided_on})"
                )
            )
        elif (
            facts.credit_limit is not None and event.amount is not None and event.amount > facts.credit_limit
        ):
            fail(
                RowError(
                    row=row, field="amount", message=f"is above the offer's credit limit {facts.credit_limit}"
                )
            )
        else:
            draws[event.loan_id] = min(event.date, draws.get(event.loan_id, event.date))
            good.append((row, event))
    for row, event in pending:
        drawn_on = draws.get(event.loan_id)
        if drawn_on is None:
            fail(RowError(row=row, field="loan_id", message=f"loan {event.loan_id} has no drawn event"))
        elif event.date < drawn_on:
            fail(
                RowError(
                    row=row, field="date", message=f"is before loan {event.loan_id} was drawn ({drawn_on})"
                )
            )
        else:
            good.append((row, event))
    return sorted(good, key=lambda item: item[0])
