"""Snapshots of loans and accounts at an observation date, derived from their events.

Nothing here is stored: a snapshot is recomputed from the events whenever it is needed, so the
events stay the only truth (the loan book builds on the same derivation).

Days past due (dpd) at a date ``d`` counts only events dated on or before ``d``:

- **From instalments.** Repayments pay the instalments that fell due in due-date order (first
  in, first out). The oldest instalment not fully paid makes the loan ``d - due_date`` days past
  due (0 on its due date itself).
- **From reports.** An ``overdue`` event states the dpd on its own date; it ages one day per day
  until the next ``overdue`` report or a ``repaid`` event (a repayment without a new report is
  taken as curing the arrears the report described). A report of 0 says the loan is current.
- The loan's dpd is the larger of the two: a report can add delinquency the lender knows of, but
  cannot hide arrears its own instalments show. A ``settled`` loan is 0 dpd from that day.

Balances: ``principal_drawn`` (the ``drawn`` amounts), ``due`` (instalments due so far),
``repaid``, ``arrears`` (due not yet repaid), and ``outstanding_principal``: drawn principal less
the principal part of each repayment (its ``principal`` when given, else its whole amount),
never below 0, and 0 once settled. ``written_off`` is a charge-off's amount (or the outstanding
principal when it names none).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from lendguard.core.base_model import Model
from lendguard.core.schedule import add_months
from lendguard.outcomes.events import LoanEvent

LoanStatus = Literal["NOT_DRAWN", "CURRENT", "OVERDUE", "CHARGED_OFF", "SETTLED"]
_ZERO = Decimal("0")
# Same-day events apply in this order: a draw before its dues, dues before the day's payments.
_DAY_ORDER = {"drawn": 0, "instalment_due": 1, "overdue": 2, "repaid": 3, "charged_off": 4, "settled": 5}


class LoanSnapshot(Model):
    """One loan as it stood at the end of ``as_of``."""

    case_id: str
    loan_id: str
    as_of: date
    status: LoanStatus
    drawn_on: date | None = None
    months_on_book: int = 0
    days_past_due: int = 0
    max_days_past_due: int = 0
    principal_drawn: Decimal = _ZERO
    due: Decimal = _ZERO
    repaid: Decimal = _ZERO
    arrears: Decimal = _ZERO
    outstanding_principal: Decimal = _ZERO
    written_off: Decimal = _ZERO
    charged_off_on: date | None = None
    settled_on: date | None = None


def ordered(events: Iterable[LoanEvent]) -> list[LoanEvent]:
    """Events in the order they apply: by date, then type (see ``_DAY_ORDER``), then id."""
    return sorted(events, key=lambda e: (e.date, _DAY_ORDER[e.type], e.event_id))


def days_past_due(events: Sequence[LoanEvent], on: date) -> int:
    """The loan's dpd at the end of ``on`` (``events`` of one loan, any order)."""
    seen = [e for e in ordered(events) if e.date <= on]
    if any(e.type == "settled" for e in seen):
        return 0
    paid = sum((e.amount or _ZERO for e in seen if e.type == "repaid"), _ZERO)
    from_instalments = 0
    for due in (e for e in seen if e.type == "instalment_due"):
        amount = due.amount or _ZERO
        if paid >= amount:
            paid -= amount
            continue
        from_instalments = (on - due.date).days
        break
    from_reports = 0
    for event in reversed(seen):
        if event.type == "repaid":
            break  # a repayment after the last report ends that report's ageing
        if event.type == "overdue":
            if event.days_past_due:
                from_reports = event.days_past_due + (on - event.date).days
            break
    return max(from_instalments, from_reports)


def max_days_past_due(events: Sequence[LoanEvent], start: date, end: date) -> int:
    """The highest dpd on any day from ``start`` to ``end`` (inclusive).

    Between two event dates dpd only grows by one a day, so the maximum is reached at ``end`` or
    on the day before some event: only those days are evaluated.
    """
    if end < start:
        return 0
    days = {end}
    for event in events:
        if start < event.date <= end:
            days.add(event.date - timedelta(days=1))
        if start <= event.date <= end:
            days.add(event.date)
    return max(days_past_due(events, d) for d in days)


def months_on_book(drawn_on: date, on: date) -> int:
    """Whole calendar months from the draw to ``on`` (a loan drawn on 31 Jan is 1 on 28 Feb)."""
    if on < drawn_on:
        return 0
    months = (on.year - drawn_on.year) * 12 + on.month - drawn_on.month
    while months > 0 and add_months(drawn_on, months) > on:
        months -= 1
    return months


def snapshot(case_id: str, loan_id: str, events: Sequence[LoanEvent], as_of: date) -> LoanSnapshot:
    """One loan's snapshot at ``as_of`` from its events (events after ``as_of`` are ignored)."""
    seen = [e for e in ordered(events) if e.date <= as_of]
    draws = [e for e in seen if e.type == "drawn"]
    if not draws:
        return LoanSnapshot(case_id=case_id, loan_id=loan_id, as_of=as_of, status="NOT_DRAWN")
    drawn_on = draws[0].date
    principal = sum((e.amount or _ZERO for e in draws), _ZERO)
    due = sum((e.amount or _ZERO for e in seen if e.type == "instalment_due"), _ZERO)
    repayments = [e for e in seen if e.type == "repaid"]
    repaid = sum((e.amount or _ZERO for e in repayments), _ZERO)
    principal_paid = sum(
        ((e.principal if e.principal is not None else e.amount) or _ZERO for e in repayments), _ZERO
    )
    outstanding = max(principal - principal_paid, _ZERO)
    charged = next((e for e in seen if e.type == "charged_off"), None)
    settled = next((e for e in seen if e.type == "settled"), None)
    dpd = days_past_due(seen, as_of)
    status: LoanStatus = "OVERDUE" if dpd > 0 else "CURRENT"
    written_off = _ZERO
    if charged is not None:
        status = "CHARGED_OFF"
        written_off = charged.amount if charged.amount is not None else outstanding
    if settled is not None:
        status, outstanding = "SETTLED", _ZERO
    return LoanSnapshot(
        case_id=case_id, loan_id=loan_id, as_of=as_of, status=status, drawn_on=drawn_on,
        months_on_book=months_on_book(drawn_on, as_of), days_past_due=dpd,
        max_days_past_due=max_days_past_due(seen, drawn_on, as_of), principal_drawn=principal, due=due,
        repaid=repaid, arrears=max(due - repaid, _ZERO) if settled is None else _ZERO,
        outstanding_principal=outstanding, written_off=written_off,
        charged_off_on=charged.date if charged else None, settled_on=settled.date if settled else None,
    )  # fmt: skip


def by_loan(events: Iterable[LoanEvent]) -> dict[str, list[LoanEvent]]:
    """Events grouped by loan id."""
    loans: dict[str, list[LoanEvent]] = {}
    for event in events:
        loans.setdefault(event.loan_id, []).append(event)
    return loans


def account_snapshots(case_id: str, events: Iterable[LoanEvent], as_of: date) -> list[LoanSnapshot]:
    """A snapshot of every loan of one case (account), in loan id order."""
    return [snapshot(case_id, loan, evs, as_of) for loan, evs in sorted(by_loan(events).items())]
