"""The IRR's float-bracketed bisection returns exactly what the plain exact bisection returns."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lendguard.core.cost import _IRR_TOLERANCE, cash_flows, monthly_irr, npv
from lendguard.core.fees import Fee
from lendguard.core.schedule import build_schedule


def _plain_bisection(flows: list[Decimal]) -> Decimal:
    """The reference: every midpoint decided by an exact present value, no float estimate."""
    lo, hi = Decimal("-0.99"), Decimal(1)
    while npv(flows, hi) < 0:
        hi *= 2
    while hi - lo > _IRR_TOLERANCE:
        mid = (lo + hi) / 2
        if npv(flows, mid) < 0:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cents=st.integers(min_value=50_000, max_value=5_000_000),
    months=st.integers(min_value=1, max_value=36),
    apr=st.decimals("0", "0.36", places=4),
    method=st.sampled_from(["annuity", "equal_principal"]),
    upfront=st.decimals("0", "0.05", places=4),
    monthly_fee=st.decimals("0", "20", places=2),
)
def test_the_bracketed_irr_is_the_exact_bisections(cents, months, apr, method, upfront, monthly_fee):
    fees = []
    if upfront:
        fees.append(Fee(name="service", timing="upfront", rate=float(upfront)))
    if monthly_fee:
        fees.append(Fee(name="membership", timing="per_instalment", amount=float(monthly_fee)))
    schedule = build_schedule(Decimal(cents) / 100, apr, months, date(2026, 1, 31), method, fees)
    flows = cash_flows(schedule)
    if not any(f < 0 for f in flows[1:]):
        return
    assert monthly_irr(flows) == _plain_bisection(flows)


def test_flows_far_from_a_loan_still_match():
    # A float estimate that cannot be confirmed tightly (huge, lopsided flows) falls back safely.
    flows = [Decimal("1e12"), Decimal("-1"), Decimal("-1e12"), Decimal("-3e11")]
    assert monthly_irr(flows) == _plain_bisection(flows)


def test_flows_that_no_schedule_makes_are_exact_too():
    for flows in ([Decimal(1000), Decimal(-1001)], [Decimal(100), Decimal(-10), Decimal(-200)]):
        assert monthly_irr(flows) == _plain_bisection(flows)
