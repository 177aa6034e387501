"""Accounts and draws: the offer's terms, its validity, the available limit, the cost cap."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from lendguard.book.accounts import Account, AuditEntry, apply_key, available, draw, open_account
from lendguard.book.ingest import BookCheck
from lendguard.book.memory import MemoryAccountStore
from lendguard.core.errors import Conflict, InvalidInput
from lendguard.core.fees import Fee
from lendguard.outcomes.events import LoanEvent
from lendguard.outcomes.ingest import CaseFacts, record_events

OPENED = date(2026, 1, 10)


def account(mode: str = "revolving", limit: str = "5000", **kw) -> Account:
    values = {
        "account_id": "C1", "customer_key": "k" * 64, "product": "cash", "mode": mode, "credit_limit": Decimal(limit),
        "apr": Decimal("0.24"), "term_months": 6, "terms": [3, 6, 12], "repayment_method": "annuity", "fees": [],
        "cost_cap": Decimal("0.36"), "cost_annualisation": "irr_x12", "opened_on": OPENED,
        "valid_until": date(2026, 1, 25) if mode == "single_draw" else date(2027, 1, 10),
    }  # fmt: skip
    status = kw.pop("status", "ACTIVE")
    values.update(kw)
    return open_account(**values).model_copy(update={"status": status})


def ev(event_id: str, type_: str, day: date, amount: str | None = None, loan: str = "L1", **kw) -> LoanEvent:
    data = {"event_id": event_id, "case_id": "C1", "loan_id": loan, "type": type_, "date": day, **kw}
    if amount is not None:
        data["amount"] = Decimal(amount)
    return LoanEvent.model_validate(data)


def fields(exc: pytest.ExceptionInfo[InvalidInput]) -> list[str]:
    return [d.field for d in exc.value.details]


def test_a_draw_schedules_the_amount_and_term_drawn_at_the_accounts_rate():
    acct = draw(account(), ev("E1", "drawn", date(2026, 2, 1), "1200", term_months=3), [])
    (loan,) = acct.loans
    assert loan.term_months == 3 and loan.schedule.principal == Decimal("1200.00")
    assert loan.schedule.apr == Decimal("0.24") and loan.schedule.start_date == date(2026, 2, 1)
    assert acct.version == 1
    # The same draw again changes nothing.
    assert draw(acct, ev("E1", "drawn", date(2026, 2, 1), "1200", term_months=3), []) is acct


def test_a_revolving_line_is_freed_as_it_is_repaid():
    first = ev("E1", "drawn", date(2026, 2, 1), "4000")
    acct = draw(account(), first, [])
    assert available(acct, [first], date(2026, 2, 2)) == Decimal("1000.00")
    with pytest.raises(InvalidInput) as exc:
        draw(acct, ev("E2", "drawn", date(2026, 2, 2), "1500", loan="L2"), [first])
    assert fields(exc) == ["amount"] and "available limit 1000.00" in str(exc.value)
    repaid = ev("E3", "repaid", date(2026, 2, 3), "1000")
    acct = draw(acct, ev("E2", "drawn", date(2026, 2, 4), "1500", loan="L2"), [first, repaid])
    assert [loan.loan_id for loan in acct.loans] == ["L1", "L2"]


def test_a_single_draw_offer_takes_one_draw_within_its_validity():
    single = account("single_draw")
    with pytest.raises(InvalidInput) as exc:
        draw(single, ev("E1", "drawn", date(2026, 1, 26), "1000"), [])
    assert fields(exc) == ["date"] and "expired" in str(exc.value)
    drawn = draw(single, ev("E1", "drawn", date(2026, 1, 20), "1000"), [])
    with pytest.raises(InvalidInput) as exc:
        draw(drawn, ev("E2", "drawn", date(2026, 1, 21), "100", loan="L2"), [])
    assert "loan_id" in fields(exc)


def test_frozen_accounts_other_terms_and_dates_before_opening_are_refused():
    with pytest.raises(InvalidInput) as exc:
        draw(account(status="FROZEN"), ev("E1", "drawn", date(2026, 1, 1), "100", term_months=9), [])
    assert fields(exc) == ["case_id", "date", "term_months"]


def test_the_cost_cap_is_checked_again_on_the_drawn_schedule():
    # An upfront fee that is harmless on 12 months makes a 3-month draw cost more than 36%.
    fee = Fee(name="service", timing="upfront", rate=0.03)
    acct = account(apr=Decimal("0.23"), fees=[fee])
    draw(acct, ev("E1", "drawn", date(2026, 2, 1), "1200", term_months=12), [])
    with pytest.raises(InvalidInput) as exc:
        draw(acct, ev("E1", "drawn", date(2026, 2, 1), "1200", term_months=3), [])
    assert fields(exc) == ["amount"] and "comprehensive cost" in str(exc.value)


class _Events:
    def __init__(self) -> None:
        self.written: list[LoanEvent] = []

    def case_facts(self, case_id: str) -> CaseFacts | None:
        return (
            CaseFacts(decision="APPROVE", decided_on=OPENED, credit_limit=None) if case_id == "C1" else None
        )

    def events_of(self, case_id: str) -> list[LoanEvent]:
        return [e for e in self.written if e.case_id == case_id]

    def put_event(self, event: LoanEvent):
        self.written.append(event)
        return "recorded"


def row(event_id: str, type_: str, day: str, amount: str, loan: str = "L1") -> dict:
    return {
        "event_id": event_id,
        "case_id": "C1",
        "loan_id": loan,
        "type": type_,
        "date": day,
        "amount": amount,
    }


def test_a_batch_with_a_draw_above_the_limit_writes_neither_loans_nor_events():
    store, events = MemoryAccountStore(), _Events()
    book = BookCheck(store, lambda case_id: account() if case_id == "C1" else None, events.events_of)
    rows = [row("E1", "drawn", "2026-02-01", "3000"), row("E2", "drawn", "2026-02-01", "3000", loan="L2")]
    with pytest.raises(InvalidInput) as exc:
        record_events(rows, events, date(2026, 3, 1), book=book, all_or_nothing=True)
    assert fields(exc) == ["events[1].amount"]
    assert events.written == [] and store.get("C1") is None
    book = BookCheck(store, lambda case_id: account() if case_id == "C1" else None, events.events_of)
    report = record_events(rows[:1], events, date(2026, 3, 1), book=book, all_or_nothing=True)
    assert report.recorded == 1 and len(store.get("C1").loans) == 1


def test_apply_keys_apply_once_and_stale_versions_conflict():
    store = MemoryAccountStore([account()])
    acct = store.get("C1")
    entry = AuditEntry(apply_key=apply_key("C1", "inloan", date(2026, 3, 1)), job="inloan",
                       run_date=date(2026, 3, 1), action="FREEZE", changes={"status": ["ACTIVE", "FROZEN"]})  # fmt: skip
    assert store.apply(acct.model_copy(update={"status": "FROZEN"}), entry) is True
    assert store.apply(acct, entry) is False  # the same key again, even from a stale read
    other = entry.model_copy(update={"apply_key": apply_key("C1", "inloan", date(2026, 3, 2))})
    with pytest.raises(Conflict):
        store.apply(acct, other)
    assert store.get("C1").status == "FROZEN" and store.get("C1").version == 1
