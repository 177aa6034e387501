"""Random loans for property tests of the schedule and its cost (hypothesis strategies and helpers).

The cost tests draw a loan (amount, term, rate, repayment method, fees), build its schedule from
:data:`START` and check a property of its cash flows; these name those draws once.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from lendguard.core.cost import cash_flows
from lendguard.core.fees import Fee
from lendguard.core.schedule import Schedule, build_schedule

START = date(2026, 1, 31)
# An upfront fee rate and a flat per-instalment fee, as test_the_* draw them.
FEE_TERMS: dict[str, st.SearchStrategy[Any]] = {
    "upfront": st.decimals("0", "0.05", places=4),
    "monthly_fee": st.decimals("0", "20", places=2),
}


def loan_terms(max_cents: int = 5_000_000, max_months: int = 36) -> dict[str, st.SearchStrategy[Any]]:
    """Strategies for ``cents`` (from 500.00), ``months``, ``apr`` (up to 36%) and ``method``."""
    return {
        "cents": st.integers(min_value=50_000, max_value=max_cents),
        "months": st.integers(min_value=1, max_value=max_months),
        "apr": st.decimals("0", "0.36", places=4),
        "method": st.sampled_from(["annuity", "equal_principal"]),
    }


def fees_of(upfront: Decimal, monthly_fee: Decimal = Decimal(0)) -> list[Fee]:
    """An upfront ``service`` fee (a rate) and a ``membership`` fee per instalment, those not zero."""
    fees = []
    if upfront:
        fees.append(Fee(name="service", timing="upfront", rate=float(upfront)))
    if monthly_fee:
        fees.append(Fee(name="membership", timing="per_instalment", amount=float(monthly_fee)))
    return fees


def schedule_of(cents: int, months: int, apr: Decimal, method: str, fees: list[Fee]) -> Schedule:
    """The schedule of a loan of ``cents`` starting on :data:`START`."""
    return build_schedule(Decimal(cents) / 100, apr, months, START, method, fees)


def irr_flows(schedule: Schedule) -> list[Decimal] | None:
    """The schedule's cash flows, or None when no later flow is negative (the IRR is undefined)."""
    flows = cash_flows(schedule)
    return flows if any(f < 0 for f in flows[1:]) else None
