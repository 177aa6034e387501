"""Loan events: validation, snapshot derivation (dpd, balances), bad definitions and labels."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from lendguard.core.errors import InvalidInput
from lendguard.outcomes.bad import BadDefinition, ever_dpd_by_month, label, parse_bad
from lendguard.outcomes.events import LoanEvent, parse_event
from lendguard.outcomes.snapshot import days_past_due, max_days_past_due, months_on_book, snapshot

TODAY = date(2026, 11, 29)
D0 = date(2026, 1, 15)


def ev(event_id: str, type_: str, day: date, loan: str = "L1", **fields) -> LoanEvent:
    return LoanEvent(event_id=event_id, case_id="C1", loan_id=loan, type=type_, date=day, **fields)


def fields_of(exc: pytest.ExceptionInfo[InvalidInput]) -> dict[str, str]:
    return {d.field: d.message for d in exc.value.details}


def base(**overrides) -> dict:
    row = {
        "event_id": "E1",
        "case_id": "C1",
        "loan_id": "L1",
        "type": "repaid",
        "date": "2026-11-01",
        "amount": "100",
    }
    return {**row, **overrides}


# ---- validation ---------------------------------------------------------------------------------


def test_a_valid_event_normalises_its_amount_to_cents():
    event = parse_event(base(amount=100), TODAY)
    assert event.amount == Decimal("100.00") and event.content()["amount"] == "100.00"
    assert parse_event(base(amount="100.00"), TODAY).content() == event.content()


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"amount": "-5"}, "amount", "negative"),
        ({"amount": "0"}, "amount", "greater than 0"),
        ({"amount": "1.234"}, "amount", "two decimal places"),
        ({"date": "2026-11-30"}, "date", "future"),
        ({"date": "29/11/2026"}, "date", "YYYY-MM-DD"),
        ({"date": 1764374400}, "date", "YYYY-MM-DD"),
        ({"type": "paid"}, "type", "unknown event type"),
        ({"event_id": "bad id!"}, "event_id", "pattern"),
        ({"days_past_due": 3}, "days_past_due", "does not apply"),
        ({"principal": "150"}, "principal", "must not exceed amount"),
        ({"colour": "red"}, "colour", "unknown field"),
    ],
)
def test_a_bad_field_is_named(overrides, field, words):
    with pytest.raises(InvalidInput) as exc:
        parse_event(base(**overrides), TODAY)
    assert words in fields_of(exc)[field]


def test_every_missing_required_field_is_named_at_once():
    with pytest.raises(InvalidInput) as exc:
        parse_event({"type": "drawn", "amount": ""}, TODAY)
    assert set(fields_of(exc)) >= {"event_id", "case_id", "loan_id", "date"}


@pytest.mark.parametrize(
    ("type_", "missing"), [("drawn", "amount"), ("instalment_due", "amount"), ("overdue", "days_past_due")]
)
def test_each_type_requires_its_fields(type_, missing):
    row = {k: v for k, v in base(type=type_).items() if k != "amount"}
    with pytest.raises(InvalidInput) as exc:
        parse_event(row, TODAY)
    assert "required for a" in fields_of(exc)[missing]


def test_settled_and_charged_off_need_no_amount():
    assert parse_event({k: v for k, v in base(type="settled").items() if k != "amount"}, TODAY).amount is None
    assert parse_event(base(type="charged_off"), TODAY).amount == Decimal("100.00")


# ---- days past due -------------------------------------------------------------------------------


def instalments() -> list[LoanEvent]:
    return [
        ev("d", "drawn", D0, amount=Decimal("3000")),
        ev("i1", "instalment_due", date(2026, 2, 15), amount=Decimal("1050")),
        ev("i2", "instalment_due", date(2026, 3, 15), amount=Decimal("1050")),
        ev("i3", "instalment_due", date(2026, 4, 15), amount=Decimal("1050")),
    ]


def test_dpd_counts_from_the_oldest_unpaid_instalment():
    events = instalments()
    assert days_past_due(events, date(2026, 2, 15)) == 0  # due today is not past due
    assert days_past_due(events, date(2026, 2, 16)) == 1
    assert days_past_due(events, date(2026, 3, 20)) == 33  # still from 15 Feb
    paid = [*events, ev("r1", "repaid", date(2026, 3, 20), amount=Decimal("1050"))]
    assert days_past_due(paid, date(2026, 3, 20)) == 5  # now the March instalment is the oldest
    assert days_past_due(paid, date(2026, 3, 19)) == 32  # the payment counts from its own date


def test_a_partial_payment_leaves_the_instalment_unpaid():
    events = [*instalments(), ev("r1", "repaid", date(2026, 2, 15), amount=Decimal("1000"))]
    assert days_past_due(events, date(2026, 2, 25)) == 10


def test_an_overdue_report_ages_until_a_repayment_or_a_new_report():
    events = [
        ev("d", "drawn", D0, amount=Decimal("3000")),
        ev("o1", "overdue", date(2026, 3, 1), days_past_due=5),
    ]
    assert days_past_due(events, date(2026, 3, 11)) == 15
    cured = [*events, ev("r", "repaid", date(2026, 3, 12), amount=Decimal("500"))]
    assert days_past_due(cured, date(2026, 3, 20)) == 0
    reported = [*events, ev("o2", "overdue", date(2026, 3, 5), days_past_due=0)]
    assert days_past_due(reported, date(2026, 3, 20)) == 0


def test_a_report_cannot_hide_arrears_the_instalments_show():
    events = [*instalments(), ev("o", "overdue", date(2026, 2, 20), days_past_due=0)]
    assert days_past_due(events, date(2026, 2, 25)) == 10


def test_settled_loans_are_current_and_empty():
    events = [*instalments(), ev("s", "settled", date(2026, 3, 1))]
    assert days_past_due(events, date(2026, 2, 28)) == 13
    snap = snapshot("C1", "L1", events, date(2026, 5, 1))
    assert snap.status == "SETTLED" and snap.days_past_due == 0 and snap.outstanding_principal == 0
    assert snap.max_days_past_due == 13  # reached on 28 Feb, the day before it settled


def test_max_dpd_is_the_worst_day_even_when_cured_later():
    events = [*instalments(), ev("r", "repaid", date(2026, 4, 1), amount=Decimal("2100"))]
    assert days_past_due(events, date(2026, 4, 1)) == 0
    assert max_days_past_due(events, D0, date(2026, 4, 10)) == 44  # 15 Feb to 31 Mar
    brute = max(days_past_due(events, D0 + timedelta(days=i)) for i in range(86))
    assert brute == 44


def test_snapshot_balances():
    events = [
        *instalments(),
        ev("r1", "repaid", date(2026, 2, 15), amount=Decimal("1050"), principal=Decimal("1000")),
        ev("r2", "repaid", date(2026, 3, 10), amount=Decimal("200")),
    ]
    snap = snapshot("C1", "L1", events, date(2026, 3, 20))
    assert snap.status == "OVERDUE" and snap.days_past_due == 5
    assert (snap.principal_drawn, snap.due, snap.repaid, snap.arrears) == (3000, 2100, 1250, 850)
    assert snap.outstanding_principal == Decimal("1800")  # 3000 - 1000 - 200 (no split: all principal)
    assert snap.months_on_book == 2
    assert snapshot("C1", "L9", [], date(2026, 3, 20)).status == "NOT_DRAWN"


def test_charged_off_writes_off_the_outstanding_principal():
    events = [*instalments(), ev("c", "charged_off", date(2026, 6, 1))]
    snap = snapshot("C1", "L1", events, date(2026, 6, 2))
    assert snap.status == "CHARGED_OFF" and snap.written_off == Decimal("3000")


def test_months_on_book_are_calendar_months():
    assert months_on_book(date(2026, 1, 31), date(2026, 2, 28)) == 1
    assert months_on_book(date(2026, 1, 15), date(2026, 2, 14)) == 0
    assert months_on_book(date(2026, 1, 15), date(2026, 7, 15)) == 6
    assert months_on_book(date(2026, 1, 15), date(2025, 7, 15)) == 0


# ---- bad definitions ------------------------------------------------------------------------------


def test_parse_bad_is_strict():
    assert parse_bad("ever_dpd>=30 within 6") == BadDefinition(dpd=30, months=6)
    assert str(parse_bad(" ever_dpd >= 90  within 12 ")) == "ever_dpd>=90 within 12"
    for text in ("ever_dpd>30 within 6", "dpd>=30 within 6", "ever_dpd>=30 in 6", "ever_dpd>=0 within 6",
                 "ever_dpd>=30 within 61", "ever_dpd>=30 within 6 months", ""):  # fmt: skip
        with pytest.raises(InvalidInput) as exc:
            parse_bad(text, field="--bad")
        assert exc.value.details[0].field == "--bad"


def test_label_is_bad_when_dpd_reached_within_the_window_and_matured_after_it():
    definition = BadDefinition(dpd=30, months=6)
    events = instalments()  # nothing ever repaid: 30 dpd on 17 March
    early = label(events, definition, date(2026, 3, 1))
    assert early.drawn and not early.matured and not early.bad and early.max_dpd == 14
    later = label(events, definition, date(2026, 3, 17))
    assert later.bad and not later.matured
    assert label(events, definition, date(2026, 7, 15)).matured


def test_delinquency_after_the_window_does_not_count():
    events = [
        ev("d", "drawn", D0, amount=Decimal("1000")),
        ev("i", "instalment_due", date(2026, 7, 1), amount=Decimal("1000")),
    ]
    result = label(events, BadDefinition(dpd=30, months=6), date(2026, 12, 1))
    assert result.matured and not result.bad and result.max_dpd == 14  # the window ended 15 July


def test_a_charge_off_within_the_window_is_bad():
    events = [ev("d", "drawn", D0, amount=Decimal("1000")), ev("c", "charged_off", date(2026, 2, 1))]
    result = label(events, BadDefinition(dpd=90, months=6), date(2026, 8, 1))
    assert result.bad and result.charged_off


def test_any_loan_of_a_revolving_account_makes_it_bad():
    events = [
        ev("d1", "drawn", D0, amount=Decimal("1000")),
        ev("d2", "drawn", date(2026, 2, 1), loan="L2", amount=Decimal("500")),
        ev("i2", "instalment_due", date(2026, 3, 1), loan="L2", amount=Decimal("520")),
    ]
    assert label(events, BadDefinition(dpd=30, months=6), date(2026, 8, 1)).bad
    assert not label([e for e in events if e.loan_id == "L1"], BadDefinition(), date(2026, 8, 1)).bad


def test_vintage_points_are_cumulative_per_month_on_book():
    points = ever_dpd_by_month(instalments(), (30, 90), date(2026, 6, 20))
    assert len(points) == 5  # 15 Feb .. 15 Jun are whole months on book
    assert [p[30] for p in points] == [False, False, True, True, True]  # 30 dpd on 17 Mar, in MOB 3
    assert [p[90] for p in points] == [False, False, False, False, True]  # 90 dpd on 16 May, in MOB 5
