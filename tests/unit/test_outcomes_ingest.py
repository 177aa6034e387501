"""Recording a batch of loan events: per-row errors, checks against the case and loan, idempotency."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from lendguard.core.errors import InvalidInput
from lendguard.outcomes.events import LoanEvent
from lendguard.outcomes.ingest import MAX_BATCH, CaseFacts, WriteResult, record_events

TODAY = date(2026, 11, 29)


class MemoryStore:
    """The EventStore protocol in memory, with writes as DynamoDB's conditional put does them."""

    def __init__(self) -> None:
        self.cases = {
            "C1": CaseFacts(decision="APPROVE", decided_on=date(2026, 6, 1), credit_limit=Decimal("5000")),
            "C2": CaseFacts(decision="REJECT", decided_on=date(2026, 6, 1), credit_limit=None),
        }
        self.events: dict[tuple[str, str], LoanEvent] = {}

    def case_facts(self, case_id: str) -> CaseFacts | None:
        return self.cases.get(case_id)

    def events_of(self, case_id: str) -> list[LoanEvent]:
        return [e for (c, _), e in self.events.items() if c == case_id]

    def put_event(self, event: LoanEvent) -> WriteResult:
        key = (event.case_id, event.event_id)
        if key in self.events:
            return "duplicate" if self.events[key].content() == event.content() else "conflict"
        self.events[key] = event
        return "recorded"


def row(event_id: str, type_: str, day: str, case: str = "C1", loan: str = "L1", **fields) -> dict:
    return {"event_id": event_id, "case_id": case, "loan_id": loan, "type": type_, "date": day, **fields}


def errors_of(report) -> list[tuple[int, str]]:
    return [(e.row, e.field) for e in report.errors]


def test_good_rows_are_recorded_and_bad_rows_named_by_row_and_field():
    store = MemoryStore()
    report = record_events(
        [
            row("E1", "drawn", "2026-06-02", amount="3000"),
            row("E2", "repaid", "2026-07-02", amount="-1"),
            row("E3", "repaid", "2026-07-02", case="C404", amount="10"),
            row("E4", "repaid", "2026-07-02", case="C2", amount="10"),
            row("E5", "repaid", "2026-07-02", loan="L2", amount="10"),
            row("E6", "repaid", "2026-06-01", amount="10"),
            row("E7", "drawn", "2026-05-31", loan="L3", amount="10"),
            row("E8", "drawn", "2026-06-03", loan="L4", amount="5000.01"),
            row("E9", "repaid", "2026-07-02", amount="1050"),
        ],
        store,
        TODAY,
    )
    assert (report.received, report.recorded, report.duplicates, report.failed) == (9, 2, 0, 7)
    assert errors_of(report) == [
        (2, "amount"), (3, "case_id"), (4, "case_id"), (5, "loan_id"), (6, "date"), (7, "date"), (8, "amount"),
    ]  # fmt: skip
    messages = {e.row: e.message for e in report.errors}
    assert "unknown case C404" in messages[3] and "not approved (decision REJECT)" in messages[4]
    assert "before loan L1 was drawn" in messages[6] and "before the case was decided" in messages[7]
    assert "credit limit 5000" in messages[8]
    assert set(store.events) == {("C1", "E1"), ("C1", "E9")}


def test_row_order_does_not_matter_and_rows_count_from_first_row():
    store = MemoryStore()
    report = record_events(
        [row("R1", "repaid", "2026-07-01", amount="100"), row("D1", "drawn", "2026-06-05", amount="1000")],
        store,
        TODAY,
        first_row=501,
    )
    assert report.recorded == 2 and not report.errors
    later = record_events([row("R2", "repaid", "2026-08-01", amount="5")], store, TODAY)
    assert later.recorded == 1  # the draw recorded earlier counts
    bad = record_events([row("X", "repaid", "2026-08-01", amount="-5")], store, TODAY, first_row=501)
    assert errors_of(bad) == [(501, "amount")]


def test_the_same_event_again_is_a_duplicate_and_other_content_a_conflict():
    store = MemoryStore()
    record_events([row("E1", "drawn", "2026-06-02", amount="3000")], store, TODAY)
    again = record_events([row("E1", "drawn", "2026-06-02", amount="3000.00")], store, TODAY)
    assert (again.recorded, again.duplicates, again.failed) == (0, 1, 0)
    changed = record_events([row("E1", "drawn", "2026-06-02", amount="2000")], store, TODAY)
    assert errors_of(changed) == [(1, "event_id")] and "other content" in changed.errors[0].message
    within = record_events(
        [row("E2", "repaid", "2026-07-01", amount="5"), row("E2", "repaid", "2026-07-01", amount="6")],
        store,
        TODAY,
    )
    assert (within.recorded, within.failed) == (1, 1) and errors_of(within) == [(2, "event_id")]


def test_a_row_that_is_not_an_object_and_an_oversized_batch():
    report = record_events(["nope"], MemoryStore(), TODAY)  # type: ignore[list-item]
    assert errors_of(report) == [(1, "(row)")]
    with pytest.raises(InvalidInput) as exc:
        record_events([{}] * (MAX_BATCH + 1), MemoryStore(), TODAY)
    assert exc.value.details[0].field == "events"
