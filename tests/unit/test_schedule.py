"""Repayment schedules: exact cents, balances that only go down to 0, and a ledger that agrees."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lendguard.core.schedule import (
    CENT,
    Schedule,
    ScheduleError,
    add_months,
    annuity_payment,
    build_schedule,
    max_principal,
    replay,
)

METHODS = st.sampled_from(["annuity", "equal_principal"])
MONTHS = st.integers(min_value=1, max_value=60)
# Every APR a policy may carry: 0 (promotions) to the 36% legal ceiling, in basis points.
APRS = st.integers(min_value=0, max_value=3600).map(lambda bp: Decimal(bp) / 10000)
STARTS = st.dates(min_value=date(2024, 1, 1), max_value=date(2035, 12, 31))


@st.composite
def loans(draw: st.DrawFn) -> tuple[Decimal, Decimal, int, date, str]:
    months = draw(MONTHS)
    # From 1.00 a month (the smallest schedulable loan) up to a million, in cents.
    principal_cents = draw(st.integers(min_value=100 * months, max_value=100_000_000))
    return Decimal(principal_cents) / 100, draw(APRS), months, draw(STARTS), draw(METHODS)


@settings(max_examples=400, deadline=None)
@given(loans())
def test_schedule_properties(loan):
    principal, apr, months, start, method = loan
    s = build_schedule(principal, apr, months, start, method)
    rows = s.instalments
    assert len(rows) == months == s.term_months
    # Principal sums exactly to the amount; totals add up; every figure is whole cents.
    assert sum(r.principal for r in rows) == principal
    assert s.total_interest == sum(r.interest for r in rows)
    assert s.total_payable == principal + s.total_interest == sum(r.payment for r in rows)
    for r in rows:
        for value in (r.payment, r.principal, r.interest, r.balance):
            assert value == value.quantize(CENT)
        assert r.payment > 0 and r.principal > 0 and r.interest >= 0
        assert r.payment == r.principal + r.interest
    # Balances never go up and end at exactly 0.
    balances = [principal] + [r.balance for r in rows]
    assert all(b >= a for a, b in zip(balances[1:], balances[:-1], strict=True))
    assert balances[-1] == 0 and all(b > 0 for b in balances[:-1])
    # Equal instalments / equal principal: the rounding is only in the last one.
    if method == "annuity":
        assert len({r.payment for r in rows[:-1]}) <= 1
        # Each month's rounding (payment and interest, at most a cent together) compounds at r.
        r = apr / 12
        drift = CENT * (months if r == 0 else ((1 + r) ** months - 1) / r)
        assert abs(rows[-1].payment - rows[0].payment) <= drift + CENT
    else:
        assert len({r.principal for r in rows[:-1]}) <= 1
        assert 0 <= rows[-1].principal - rows[0].principal < CENT * months
    # Due dates: one a month, in order, on the start day where the month has it.
    assert [r.due_date for r in rows] == [add_months(start, k) for k in range(1, months + 1)]
    dues = [r.due_date for r in rows]
    assert all(a < b for a, b in zip([start, *dues[:-1]], dues, strict=True))


@settings(max_examples=200, deadline=None)
@given(loans())
def test_the_quoted_schedule_is_the_one_the_loan_follows(loan):
    principal, apr, months, start, method = loan
    quoted = build_schedule(principal, apr, months, start, method)
    # An independent ledger (interest on the outstanding balance, then the payment) follows it.
    assert replay(quoted) == [r.balance for r in quoted.instalments]
    # Stored as JSON in the case and read back, it is the same schedule; rebuilt from the same
    # terms on the draw date, it is the same too.
    stored = Schedule.model_validate_json(quoted.model_dump_json())
    assert stored == quoted == build_schedule(principal, apr, months, start, method)
    assert '"payment":"' in quoted.model_dump_json()  # money travels as exact strings, never floats


def test_a_known_annuity():
    s = build_schedule(10000, "0.18", 12, date(2026, 1, 31))
    assert [r.payment for r in s.instalments[:11]] == [Decimal("916.80")] * 11
    assert s.instalments[-1].payment == Decimal("916.81")
    assert s.total_interest == Decimal("1001.61")
    assert s.instalments[0].interest == Decimal("150.00")
    assert [r.due_date for r in s.instalments[:3]] == [
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
    ]


def test_a_known_equal_principal_schedule():
    s = build_schedule(1000, "0.12", 3, date(2026, 5, 10), "equal_principal")
    assert [(r.principal, r.interest, r.payment) for r in s.instalments] == [
        (Decimal("333.33"), Decimal("10.00"), Decimal("343.33")),
        (Decimal("333.33"), Decimal("6.67"), Decimal("340.00")),
        (Decimal("333.34"), Decimal("3.33"), Decimal("336.67")),
    ]
    assert s.total_interest == Decimal("20.00")


def test_zero_apr_has_no_interest():
    s = build_schedule(1000, 0, 3, date(2026, 1, 1))
    assert [r.payment for r in s.instalments] == [Decimal("333.33"), Decimal("333.33"), Decimal("333.34")]
    assert s.total_interest == 0


def test_a_tampered_schedule_does_not_replay():
    s = build_schedule(5000, "0.24", 6, date(2026, 1, 1))
    rows = list(s.instalments)
    rows[2] = rows[2].model_copy(update={"payment": rows[2].payment - CENT})
    with pytest.raises(ScheduleError, match="instalment 3"):
        replay(s.model_copy(update={"instalments": rows}))


@pytest.mark.parametrize(
    ("principal", "apr", "months", "message"),
    [
        ("100.001", "0.1", 3, "fractions of a cent"),
        ("10", "0.1", 12, "below 1.00 a month"),
        ("1000", "1.2", 12, "must be in [0, 1)"),
        ("1000", "0.1", 0, "term must be"),
    ],
)
def test_bad_terms_are_refused(principal, apr, months, message):
    with pytest.raises(ScheduleError, match=re.escape(message)):
        build_schedule(Decimal(principal), Decimal(apr), months, date(2026, 1, 1))


@pytest.mark.parametrize("method", ["annuity", "equal_principal"])
def test_max_principal_inverts_the_highest_payment(method):
    room = Decimal("500")
    p = max_principal(room, Decimal("0.18"), 12, method)
    s = build_schedule(
        p.quantize(Decimal(1), rounding="ROUND_DOWN"), Decimal("0.18"), 12, date(2026, 1, 1), method
    )
    assert s.max_payment <= room + CENT
    assert annuity_payment(Decimal("1200"), Decimal(0), 12) == 100
