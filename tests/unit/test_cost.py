"""The comprehensive cost of credit: fees, the IRR of the exact cash flows, caps and amortisation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loan_terms import loan_terms
from pydantic import ValidationError

from lendguard.core.cost import (
    CostCapError,
    cash_flows,
    comprehensive_cost,
    fit_rate_to_cap,
    monthly_irr,
    npv,
    within_cap,
)
from lendguard.core.fees import Fee
from lendguard.core.schedule import ScheduleError, build_schedule, min_amortising_principal, replay

START = date(2026, 1, 31)
CAP = Decimal("0.36")


def _float_npv(flows: list[Decimal], monthly: float) -> float:
    """An independent present value in floats (the implementation uses Decimal and Horner)."""
    return sum(float(f) / (1 + monthly) ** k for k, f in enumerate(flows))


def test_rounding_alone_puts_a_nominal_36_percent_above_36_percent():
    s = build_schedule(500, Decimal("0.36"), 3, START)
    assert s.total_fees == 0 and cash_flows(s)[0] == Decimal("500.00")
    cost = comprehensive_cost(s, "irr_x12")
    assert cost.annual_cost == pytest.approx(0.360056, abs=1e-6)
    assert _float_npv(cash_flows(s), cost.monthly_irr) == pytest.approx(0, abs=1e-4)
    assert not within_cap(s, CAP, "irr_x12")
    # compounded, the same flows cost more: (1 + r)^12 - 1 > 12 r
    compounded = comprehensive_cost(s, "compounded")
    assert compounded.annual_cost == pytest.approx((1 + cost.monthly_irr) ** 12 - 1, abs=1e-6)
    assert compounded.label.startswith("monthly IRR compounded") and cost.label == "monthly IRR x 12"


def test_fees_are_cash_flows_upfront_and_with_every_instalment():
    fees = [
        Fee(name="guarantee", timing="upfront", rate=0.02),
        Fee(name="service", timing="per_instalment", amount=5),
        Fee(name="insurance", timing="per_instalment", rate=0.001),
    ]
    s = build_schedule(3000, Decimal("0.18"), 6, START, "annuity", fees)
    assert s.upfront_fees == Decimal("60.00") and s.amount_received == Decimal("2940.00")
    assert all(i.fees == Decimal("8.00") for i in s.instalments)
    assert s.total_fees == Decimal("60.00") + 6 * Decimal("8.00")
    assert [c.total for c in s.fees] == [Decimal("60.00"), Decimal("30.00"), Decimal("18.00")]
    flows = cash_flows(s)
    assert flows[0] == Decimal("2940.00")
    assert flows[1:] == [-(i.payment + Decimal("8.00")) for i in s.instalments]
    replay(s)  # fees never touch the interest ledger
    cost = comprehensive_cost(s, "irr_x12")
    assert cost.annual_cost > 0.18 + 0.05 and cost.nominal_apr == 0.18 and cost.total_fees == 108.0
    assert "nominal APR 18.00%" in cost.text() and "(monthly IRR x 12)" in cost.text()


def test_a_loan_without_interest_or_fees_costs_nothing():
    s = build_schedule(1200, 0, 12, START)
    assert monthly_irr(cash_flows(s)) == pytest.approx(0, abs=1e-12)


@pytest.mark.parametrize(
    ("fee", "message"),
    [
        ({"name": "service", "timing": "upfront"}, "exactly one of rate"),
        ({"name": "service", "timing": "upfront", "rate": 0.01, "amount": 5}, "exactly one of rate"),
        ({"name": "service", "timing": "upfront", "amount": 5.001}, "fractions of a cent"),
        ({"name": "service", "timing": "upfront", "rate": 1.5}, "less than 1"),
        ({"name": "handling", "timing": "upfront", "amount": 5}, "service"),
        ({"name": "service", "timing": "monthly", "amount": 5}, "per_instalment"),
    ],
)
def test_a_fee_must_say_exactly_what_it_charges(fee, message):
    with pytest.raises(ValidationError) as exc:
        Fee.model_validate(fee)
    assert message in str(exc.value)


def test_the_rate_is_lowered_to_the_highest_step_within_the_cap():
    fees = [Fee(name="membership", timing="upfront", amount=30)]
    s = fit_rate_to_cap(
        Decimal(1000), 3, START, "annuity", fees, apr=Decimal("0.24"), floor=Decimal("0.05"), cap=CAP,
        annualisation="irr_x12",
    )  # fmt: skip
    assert Decimal("0.05") <= s.apr < Decimal("0.24") and within_cap(s, CAP, "irr_x12")
    dearer = build_schedule(1000, s.apr + Decimal("0.0001"), 3, START, "annuity", fees)
    assert not within_cap(dearer, CAP, "irr_x12")  # one step up breaks the cap
    with pytest.raises(CostCapError, match="above the cap 36%"):
        fit_rate_to_cap(
            Decimal(1000), 3, START, "annuity", fees, apr=Decimal("0.24"), floor=Decimal("0.20"), cap=CAP,
            annualisation="irr_x12",
        )  # fmt: skip


def test_360_over_360_months_at_36_percent_is_refused_before_any_instalment():
    with pytest.raises(ScheduleError, match="cannot amortise over 360 months"):
        build_schedule(360, Decimal("0.36"), 360, START)
    least = min_amortising_principal(Decimal("0.36"), 360, "annuity")
    s = build_schedule(least, Decimal("0.36"), 360, START)
    assert all(i.principal > 0 for i in s.instalments)
    assert min_amortising_principal(Decimal("0.36"), 360, "equal_principal") == Decimal(360)


# ---------------------------------------------------------------------------------- property test

_names = st.sampled_from(["service", "guarantee", "membership", "insurance"])
_timings = st.sampled_from(["upfront", "per_instalment"])
fee_strategy = st.one_of(
    st.builds(Fee, name=_names, timing=_timings, rate=st.decimals("0.0001", "0.02", places=4).map(float)),
    st.builds(Fee, name=_names, timing=_timings, amount=st.decimals("0.01", "30", places=2).map(float)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    **loan_terms(),
    fees=st.lists(fee_strategy, max_size=3, unique_by=lambda f: f.name),
    annualisation=st.sampled_from(["irr_x12", "compounded"]),
)
def test_every_schedule_issued_amortises_and_costs_at_most_the_cap(
    cents, months, apr, method, fees, annualisation
):
    amount = Decimal(cents) / 100
    try:
        s = fit_rate_to_cap(
            amount, months, START, method, fees, apr=apr, floor=min(apr, Decimal("0.01")), cap=CAP,
            annualisation=annualisation,
        )  # fmt: skip
    except CostCapError:
        # refused only when even the lowest rate the pricing allows is too dear
        lowest = build_schedule(amount, min(apr, Decimal("0.01")), months, START, method, fees)
        assert not within_cap(lowest, CAP, annualisation)
        return
    assert sum(i.principal for i in s.instalments) == amount
    balances = [amount, *(i.balance for i in s.instalments)]
    assert all(b < a for a, b in pairwise(balances)) and balances[-1] == 0
    assert s.apr <= apr
    cost = comprehensive_cost(s, annualisation)
    assert cost.annual_cost <= float(CAP)
    # independently of the Decimal check: the flows' present value at the cap's rate is not negative
    cap_monthly = float(CAP) / 12 if annualisation == "irr_x12" else (1 + float(CAP)) ** (1 / 12) - 1
    assert _float_npv(cash_flows(s), cap_monthly) >= -1e-6
    # and the reported IRR (rounded to 8 decimals) is the flows' root
    assert abs(npv(cash_flows(s), Decimal(str(cost.monthly_irr)))) <= amount * Decimal("1e-7")
