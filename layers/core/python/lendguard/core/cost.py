"""The comprehensive cost of credit: the IRR of what the borrower actually receives and pays.

The 36% line lenders work under is not the nominal APR but the comprehensive annualised cost:
interest plus every fee, measured as the internal rate of return of the loan's real cash flows.
From the borrower's side, in cents, exactly as the schedule charges them:

    month 0:  + principal - upfront fees          (what is received)
    month k:  - (instalment k + its fees)         (what is paid), k = 1 … n

The monthly IRR ``r`` solves ``sum(flow_k / (1 + r)^k) = 0``. Disclosure rules accept either
annualisation when it is labelled, so it is a policy setting (``pricing.cost_annualisation``):

- ``irr_x12``: ``12 x r`` ("monthly IRR x 12");
- ``compounded``: ``(1 + r)^12 - 1``.

Caps are checked on the cash flows themselves, not on a rounded figure: with one inflow
followed by outflows the net present value rises with the rate, so the cost is within a cap
exactly when the flows' present value at the cap's monthly rate is ≥ 0 (:func:`within_cap`).
Even with no fees, half-up rounding alone makes 500 over 3 months at a nominal 36% cost
36.0056% (IRR x 12): the check has to be on the real flows.

Arithmetic is :class:`decimal.Decimal` with 40 significant digits.
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal, localcontext
from typing import Literal

from pydantic import ConfigDict, Field

from lendguard.core.base_model import Model
from lendguard.core.fees import Fee
from lendguard.core.schedule import RepaymentMethod, Schedule, build_schedule
from lendguard.core.trusted import trusted

__all__ = [
    "ANNUALISATION_LABELS",
    "Annualisation",
    "CostCapError",
    "CostOfCredit",
    "annualise",
    "cash_flows",
    "comprehensive_cost",
    "fit_rate_to_cap",
    "monthly_irr",
    "monthly_rate_of",
    "npv",
    "within_cap",
]

Annualisation = Literal["irr_x12", "compounded"]
ANNUALISATION_LABELS: dict[str, str] = {
    "irr_x12": "monthly IRR x 12",
    "compounded": "monthly IRR compounded, (1 + IRR)^12 - 1",
}
_PRECISION = 40
_IRR_TOLERANCE = Decimal("1e-15")
_LOWEST_RATE = Decimal("-0.99")  # where the bisection starts: a monthly rate of -99%


class CostOfCredit(Model):
    """The comprehensive annual cost of one schedule, with its label, beside the nominal APR."""

    model_config = ConfigDict(frozen=True)

    annual_cost: float = Field(description="Annualised IRR of the borrower's cash flows (0.2412 = 24.12%)")
    monthly_irr: float
    annualisation: Annualisation
    label: str = Field(description="How the figure was annualised, shown with it")
    nominal_apr: float
    total_fees: float
    amount_received: float

    def text(self) -> str:
        """``"comprehensive annual cost 24.12% (monthly IRR x 12); nominal APR 21.00%"``."""
        return (
            f"comprehensive annual cost {self.annual_cost:.2%} ({self.label}); "
            f"nominal APR {self.nominal_apr:.2%}"
        )


def cash_flows(schedule: Schedule) -> list[Decimal]:
    """The borrower's flows by month: received at 0 (principal less upfront fees), then paid."""
    return [schedule.amount_received, *(-(row.payment + row.fees) for row in schedule.instalments)]


def npv(flows: list[Decimal], monthly: Decimal) -> Decimal:
    """Present value of monthly ``flows`` (month 0 first) at the monthly rate ``monthly``."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        v = Decimal(1) / (1 + monthly)
        total = Decimal(0)
        for flow in reversed(flows):  # Horner: flow_0 + v (flow_1 + v (flow_2 + …))
            total = total * v + flow
        return +total


def monthly_rate_of(annual: Decimal, annualisation: Annualisation) -> Decimal:
    """The monthly rate whose annualised figure is ``annual`` (the inverse of :func:`annualise`)."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        if annualisation == "irr_x12":
            return annual / 12
        return ((1 + annual).ln() / 12).exp() - 1


def annualise(monthly: Decimal, annualisation: Annualisation) -> Decimal:
    """``12 x monthly`` or ``(1 + monthly)^12 - 1``."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return monthly * 12 if annualisation == "irr_x12" else (1 + monthly) ** 12 - 1


def _check_shape(flows: list[Decimal]) -> None:
    if not flows or flows[0] <= 0 or any(f > 0 for f in flows[1:]) or not any(f < 0 for f in flows[1:]):
        raise ValueError("the IRR needs one inflow followed by outflows")


def monthly_irr(flows: list[Decimal]) -> Decimal:
    """The monthly IRR of flows that start with one inflow and continue with outflows.

    Bisection on the present value, which rises with the rate for such flows, so the root is
    unique. Raises ``ValueError`` for flows of another shape.
    """
    _check_shape(flows)
    lo, hi = _LOWEST_RATE, Decimal(1)
    while npv(flows, hi) < 0:  # cost above 100% a month: widen until bracketed
        hi *= 2
    # The exact bisection, with the same midpoints and so the same result, but most of its
    # steps decided without an exact present value: the value rises with the rate, so every
    # midpoint at or below a rate known to be short of the root is "below", and every one at or
    # above a rate known to be past it is "above". Those two rates come from a float estimate,
    # each confirmed by one exact present value (or not used).
    below, above = _float_bracket(flows)
    while hi - lo > _IRR_TOLERANCE:
        mid = (lo + hi) / 2
        if below is not None and mid <= below:
            short = True
        elif above is not None and mid >= above:
            short = False
        else:
            short = npv(flows, mid) < 0
        if short:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


# Half-widths tried, tightest first, for the rates either side of the float estimate. Newton in
# floats lands within about 1e-17 of the root for loan-shaped flows, so the tightest usually
# holds and leaves the exact bisection one or two exact present values instead of a dozen; a
# side that does not hold is tried wider, and dropped (decided exactly) if none holds.
_BRACKETS = (Decimal("1e-16"), Decimal("1e-14"), Decimal("1e-12"))


def _duration_estimate(values: list[float]) -> float:
    """Newton's starting rate: the received amount grown to the total paid over the payments'
    mean time, ``(paid / received)^(1 / mean month) - 1`` (within a few percent for a loan:
    Newton then needs three or four steps instead of six from a fixed guess)."""
    paid = -sum(values[1:])
    if paid <= 0 or values[0] <= 0:
        return 0.01
    months = -sum(k * f for k, f in enumerate(values)) / paid
    try:
        rate = (paid / values[0]) ** (1 / months) - 1 if months > 0 else 0.01
    except OverflowError:  # flows far from a loan's
        return 0.01
    return rate if math.isfinite(rate) and rate > -0.99 else 0.01


def _newton(values: list[float]) -> float | None:
    """The IRR of float ``values`` by Newton's method (None when it does not settle)."""
    backwards = values[::-1]
    rate = _duration_estimate(values)
    for _ in range(60):
        v = 1.0 / (1.0 + rate)
        pv = slope = 0.0
        for value in backwards:  # Horner, with the derivative alongside
            slope = slope * v + pv
            pv = pv * v + value
        # pv = P(v) = sum(f_i v^i) with v = 1 / (1 + rate); slope = P'(v); dv/drate = -v^2.
        derivative = -slope * v * v
        if derivative == 0 or not math.isfinite(derivative):
            return None
        step = pv / derivative
        rate -= step
        if not math.isfinite(rate) or rate <= -0.99:
            return None
        if abs(step) < 1e-16:
            break
    return rate


def _float_bracket(flows: list[Decimal]) -> tuple[Decimal | None, Decimal | None]:
    """Rates just short of and just past the IRR (exactly checked), from Newton's method in floats."""
    rate = _newton([float(f) for f in flows])
    if rate is None:
        return None, None
    estimate = Decimal(repr(rate))
    below = next((r for r in (estimate - w for w in _BRACKETS) if npv(flows, r) < 0), None)
    above = next((r for r in (estimate + w for w in _BRACKETS) if npv(flows, r) >= 0), None)
    return below, above


# A float present value is within (3n + 2) units of rounding of the true one, relative to the
# sum of the flows' absolute present values (n flows: Horner's multiply and add per flow, the
# discount factor's own rounding compounding over n months, each flow's conversion to float).
# Twice that, and a few units more, decide a sign for certain.
_FLOAT_SLACK = 2.0**-52


def _npv_sign(values: list[float], monthly: float) -> int:
    """The sign of the exact present value of ``values`` at ``monthly``, decided in floats:
    1 or -1, or 0 when the float value is too close to 0 to tell (decide it exactly then)."""
    if not monthly > -1.0:
        return 0
    v = 1.0 / (1.0 + monthly)
    total = size = 0.0
    for value in reversed(values):
        total = total * v + value
        size = size * v + abs(value)
    bound = (8 * len(values) + 8) * _FLOAT_SLACK * size
    if not math.isfinite(total) or not math.isfinite(bound):
        return 0
    return 1 if total > bound else -1 if total < -bound else 0


# Half-widths tried for the float bracket of :func:`_disclosed_irr`: the disclosed figures have
# 6 and 8 decimals, so a bracket this tight rarely straddles a rounding boundary.
_FLOAT_BRACKETS = (1e-13, 1e-11, 1e-9)


def _certified_bracket(flows: list[Decimal]) -> tuple[Decimal, Decimal] | None:
    """Rates just short of and just past the IRR, each side's sign decided by :func:`_npv_sign`
    (no exact present value needed), as exact Decimals; None when none can be certified."""
    values = [float(f) for f in flows]
    rate = _newton(values)
    if rate is None:
        return None
    below = next((r for r in (rate - w for w in _FLOAT_BRACKETS) if _npv_sign(values, r) < 0), None)
    above = next((r for r in (rate + w for w in _FLOAT_BRACKETS) if _npv_sign(values, r) > 0), None)
    if below is None or above is None or below <= -0.99:
        return None
    return Decimal(below), Decimal(above)  # the floats' exact values


def within_cap(schedule: Schedule, cap: Decimal, annualisation: Annualisation) -> bool:
    """Whether the schedule's comprehensive cost is at most ``cap``, decided on the exact flows."""
    flows, monthly = cash_flows(schedule), monthly_rate_of(cap, annualisation)
    sign = _npv_sign([float(f) for f in flows], float(monthly))
    return sign > 0 if sign else npv(flows, monthly) >= 0


def _disclosed(monthly: Decimal, annualisation: Annualisation) -> tuple[float, float]:
    """The figures a cost discloses for a monthly IRR: (annual cost, monthly IRR), rounded."""
    return round(float(annualise(monthly, annualisation)), 6), round(float(monthly), 8)


def _disclosed_irr(flows: list[Decimal], annualisation: Annualisation) -> tuple[float, float]:
    """:func:`_disclosed` of :func:`monthly_irr`, mostly without running the bisection.

    The bisection's result lies within its tolerance of any bracket ``(below, above]`` of the root
    that exact present values confirm (its midpoints short of ``below`` all move ``lo`` up, those
    past ``above`` all move ``hi`` down), and the disclosed figures rise with the rate. So when
    both ends of that bracket, widened by the tolerance, disclose the same figures, those are
    the bisection's; otherwise (a figure within about 1e-15 of a rounding boundary) it is run.
    """
    _check_shape(flows)
    bracket = _certified_bracket(flows)
    if bracket is not None:
        below, above = bracket
        low = _disclosed(below - _IRR_TOLERANCE, annualisation)
        if low == _disclosed(above + _IRR_TOLERANCE, annualisation):
            return low
    return _disclosed(monthly_irr(flows), annualisation)


def comprehensive_cost(schedule: Schedule, annualisation: Annualisation) -> CostOfCredit:
    """The schedule's comprehensive annual cost, labelled, beside its nominal APR."""
    annual_cost, monthly = _disclosed_irr(cash_flows(schedule), annualisation)
    # Built from the figures above and the (validated) schedule's: nothing to validate again.
    return trusted(
        CostOfCredit,
        annual_cost=annual_cost,
        monthly_irr=monthly,
        annualisation=annualisation,
        label=ANNUALISATION_LABELS[annualisation],
        nominal_apr=float(schedule.apr),
        total_fees=float(schedule.total_fees),
        amount_received=float(schedule.amount_received),
    )


class CostCapError(ValueError):
    """No rate the pricing table allows brings the comprehensive cost within the cap."""


def fit_rate_to_cap(
    principal: Decimal,
    months: int,
    start: date,
    method: RepaymentMethod,
    fees: list[Fee] | tuple[Fee, ...],
    *,
    apr: Decimal,
    floor: Decimal,
    cap: Decimal,
    annualisation: Annualisation,
    step: Decimal = Decimal("0.0001"),
) -> Schedule:
    """The schedule at ``apr``, or at the highest lower rate whose comprehensive cost is within ``cap``.

    Lower rates are ``floor + k x step`` (``floor`` is the lowest rate the pricing table allows);
    the rate is found by bisection (the cost rises with the rate) and every schedule returned has
    passed :func:`within_cap` itself. Raises :class:`CostCapError` when even ``floor`` costs
    more than ``cap``, and :class:`~lendguard.core.schedule.ScheduleError` for terms that cannot
    be scheduled at all.
    """
    schedule = build_schedule(principal, apr, months, start, method, fees)
    if within_cap(schedule, cap, annualisation):
        return schedule

    def refused(at: Decimal) -> CostCapError:
        return CostCapError(
            f"the comprehensive cost of {principal} over {months} months is above the cap {cap:%} "
            f"({ANNUALISATION_LABELS[annualisation]}) even at the lowest rate the pricing allows, {at:%}"
        )

    if floor >= apr:
        raise refused(apr)
    best = build_schedule(principal, floor, months, start, method, fees)
    if not within_cap(best, cap, annualisation):
        raise refused(floor)
    lo, hi = 0, math.ceil((apr - floor) / step) - 1  # floor + hi x step is still below apr
    while lo < hi:
        mid = (lo + hi + 1) // 2
        trial = build_schedule(principal, floor + mid * step, months, start, method, fees)
        if within_cap(trial, cap, annualisation):
            lo, best = mid, trial
        else:
            hi = mid - 1
    return best
