"""The IRR's float-bracketed bisection returns exactly what the plain exact bisection returns."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from loan_terms import FEE_TERMS, fees_of, irr_flows, loan_terms, schedule_of

from lendguard.core.cost import _IRR_TOLERANCE, monthly_irr, npv


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
@given(**loan_terms(), **FEE_TERMS)
def test_the_bracketed_irr_is_the_exact_bisections(cents, months, apr, method, upfront, monthly_fee):
    flows = irr_flows(schedule_of(cents, months, apr, method, fees_of(upfront, monthly_fee)))
    if flows is None:
        return
    assert monthly_irr(flows) == _plain_bisection(flows)


def test_flows_far_from_a_loan_still_match():
    # A float estimate that cannot be confirmed tightly (huge, lopsided flows) falls back safely.
    flows = [Decimal("1e12"), Decimal("-1"), Decimal("-1e12"), Decimal("-3e11")]
    assert monthly_irr(flows) == _plain_bisection(flows)


def test_flows_that_no_schedule_makes_are_exact_too():
    for flows in ([Decimal(1000), Decimal(-1001)], [Decimal(100), Decimal(-10), Decimal(-200)]):
        assert monthly_irr(flows) == _plain_bisection(flows)
