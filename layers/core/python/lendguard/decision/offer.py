"""The offer: credit limit, APR, fees' comprehensive cost and the repayment schedule.

Shared by the Decision stage (a new case) and manual review (a reviewer approving a lower
limit), so both price and schedule a loan the same way. Every offer discloses its
comprehensive annual cost (interest and the product's fees, the IRR of the borrower's real
cash flows, :mod:`lendguard.core.cost`) beside the nominal APR, and never exceeds
``pricing.cost_cap`` (at most 36%): the table's rate is lowered to fit where the pricing allows,
otherwise there is no offer (reason ``COST_ABOVE_CAP``).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from datetime import date, datetime, timedelta
from decimal import Decimal

from lendguard.core.application import DECISION_TIMEZONE
from lendguard.core.cost import CostCapError, comprehensive_cost, fit_rate_to_cap
from lendguard.core.schedule import ScheduleError, add_months, build_schedule
from lendguard.core.schedule import max_principal as _max_principal
from lendguard.core.trusted import trusted
from lendguard.decision.state import DecisionState, Offer
from lendguard.policy.schema import (
    LEGAL_APR_CEILING,
    IndebtednessStep,
    LimitTable,
    Policy,
    PricingTable,
    Product,
)

NO_AFFORDABLE_LIMIT = "NO_AFFORDABLE_LIMIT"
COST_ABOVE_CAP = "COST_ABOVE_CAP"


class Refusal(str):
    """Why no offer was made (the text), with its reason ``code``."""

    code: str

    def __new__(cls, message: str, code: str = NO_AFFORDABLE_LIMIT) -> Refusal:
        obj = super().__new__(cls, message)
        obj.code = code
        return obj


# The limit steps down by this many rounding units at most while fitting the rounded schedule
# under the debt-to-income room (one step is nearly always enough: rounding moves a cent).
_MAX_FIT_STEPS = 5


def band(edges: list[float], value: float) -> int | None:
    """Index of the band whose lower edge is the largest one ≤ value; None below the first edge."""
    i = bisect_right(edges, value) - 1
    return None if i < 0 else i


def annuity_payment(principal: float, apr: float, months: int) -> float:
    """Equal monthly instalment for a fully amortising loan (unrounded; schedules round it)."""
    r = apr / 12
    if r == 0:
        return principal / months
    return principal * r / (1 - (1 + r) ** -months)


def max_principal(payment: float, apr: float, months: int) -> float:
    """The largest principal whose equal instalment does not exceed ``payment``."""
    return float(_max_principal(Decimal(str(payment)), Decimal(str(apr)), months, "annuity"))


def indebtedness_step(limits: LimitTable, debt: float, income: float) -> IndebtednessStep | None:
    """The over-indebtedness step an applicant's existing debt-to-income falls in, if any."""
    if not limits.indebtedness:
        return None
    dti = debt / income if income > 0 else math.inf
    hit = [s for s in limits.indebtedness if dti >= s.min_dti]
    return hit[-1] if hit else None


def local_date(state: DecisionState, now: datetime) -> date:
    """The decision date where the borrowers are (``DECISION_TIMEZONE``): due dates are the
    borrower's dates. Never the client's ``submitted_at`` offset, which a client chooses."""
    return now.astimezone(DECISION_TIMEZONE).date()


def issue_offer(
    limit: float,
    apr: float,
    months: int,
    product: Product,
    now: datetime,
    start: date,
    *,
    basis: str | None = None,
    candidates: dict[str, float] | None = None,
    pricing: PricingTable | None = None,
) -> Offer:
    """The offer for an already-capped ``limit``: validity by product mode and the quoted schedule.

    The schedule charges the product's fees. With ``pricing`` the comprehensive cost is held
    within its cap: ``apr`` is lowered where the pricing allows (raises
    :class:`~lendguard.core.cost.CostCapError` when it cannot be); without it the cost is only
    computed and disclosed. Also used when a reviewer approves a lower limit, so a reviewed
    offer is built exactly like an automatic one.
    """
    principal, rate = Decimal(str(limit)), Decimal(str(apr))
    method, fees = product.repayment_method, product.fees
    if pricing is None:
        schedule = build_schedule(principal, rate, months, start, method, fees)
        annualisation = "irr_x12"
    else:
        annualisation = pricing.cost_annualisation
        schedule = fit_rate_to_cap(
            principal, months, start, method, fees, apr=rate, floor=Decimal(str(pricing.lowest_apr)),
            cap=Decimal(str(pricing.effective_cost_cap)), annualisation=annualisation,
            step=Decimal(str(pricing.apr_step)),
        )  # fmt: skip
    final_apr = float(schedule.apr)
    if product.mode == "revolving":
        valid_until = datetime.combine(add_months(now.date(), product.line_months), now.timetz())
    else:
        valid_until = now + timedelta(days=product.validity_days or 0)
    # Built from the product's (validated) terms and figures computed here; the numbers are made
    # floats as validation would make them.
    return trusted(
        Offer,
        credit_limit=float(limit), apr=final_apr, term_months=months, mode=product.mode,
        valid_until=valid_until, monthly_payment=float(schedule.instalments[0].payment),
        repayment_method=product.repayment_method, reusable=product.mode == "revolving",
        max_draws=1 if product.mode == "single_draw" else None, limit_basis=basis,
        limit_candidates={k: float(v) for k, v in (candidates or {}).items()}, schedule=schedule,
        cost=comprehensive_cost(schedule, annualisation),
        apr_table=float(apr) if final_apr != apr else None,
    )  # fmt: skip


def _fee_adjusted_ceiling(room: Decimal, apr: float, months: int, product: Product) -> Decimal:
    """The largest principal whose highest instalment plus its per-instalment fees fits ``room``."""
    per = [f for f in product.fees if f.timing == "per_instalment"]
    fixed = sum((Decimal(str(f.amount)) for f in per if f.amount is not None), Decimal(0))
    share = sum((Decimal(str(f.rate)) for f in per if f.rate is not None), Decimal(0))
    left = room - fixed
    if left <= 0:
        return Decimal(0)
    # highest instalment per unit of principal, then room = P x (per_unit + share)
    per_unit = 1 / _max_principal(Decimal(1), Decimal(str(apr)), months, product.repayment_method)
    return left / (per_unit + share)


def make_offer(
    state: DecisionState, policy: Policy, points: float, now: datetime
) -> tuple[Offer | None, str]:
    """The limit, price and schedule for a score; None with a :class:`Refusal` when none can be made.

    limit = min(table[score band][income band] (cut by the over-indebtedness step), product
    maximum, requested amount, largest principal whose highest instalment and per-instalment
    fees fit the debt-to-income room), rounded down to ``limits.rounding``. The rate is the
    table's, lowered where needed to keep the comprehensive cost within ``pricing.cost_cap``.
    """
    limits, facts = policy.limits, state.facts
    product = policy.products[str(facts["application.product"])]
    income = float(facts.get("applicant.monthly_income") or 0.0)
    months = int(facts["application.term_months"])  # type: ignore[arg-type]
    s_band = band(limits.score_bands, points)
    i_band = band(limits.income_bands, income)
    if s_band is None or i_band is None:
        return None, Refusal("score or income below the lowest band of the limit table")
    # Never above the policy's cap, and never above the legal ceiling whatever the policy says.
    apr = min(policy.pricing.apr_by_score_band[s_band], policy.pricing.apr_cap, LEGAL_APR_CEILING)
    debt = float(facts.get(limits.existing_debt_fact) or 0.0)
    room = Decimal(str(max(0.0, limits.max_dti * income - debt)))
    ceiling = _fee_adjusted_ceiling(room, apr, months, product)
    candidates = {"table": limits.table[s_band][i_band]}
    step = indebtedness_step(limits, debt, income)
    if step is not None:
        candidates["indebtedness"] = candidates["table"] * step.factor
    candidates |= {
        "product maximum": product.max_amount,
        "requested amount": float(facts["application.requested_amount"]),  # type: ignore[arg-type]
        "debt-to-income ceiling": round(float(ceiling), 2),
    }
    binding = min(candidates, key=candidates.__getitem__)
    limit = math.floor(candidates[binding] / limits.rounding + 1e-9) * limits.rounding
    start = local_date(state, now)
    for _ in range(_MAX_FIT_STEPS):
        if limit < product.min_amount:
            break
        try:
            offer = issue_offer(
                limit, apr, months, product, now, start, basis=binding, candidates=candidates,
                pricing=policy.pricing,
            )  # fmt: skip
        except CostCapError as exc:
            return None, Refusal(str(exc), COST_ABOVE_CAP)
        except ScheduleError as exc:
            return None, Refusal(f"no repayment schedule for a limit of {limit:g}: {exc}")
        assert offer.schedule is not None
        highest = max(i.payment + i.fees for i in offer.schedule.instalments)
        if highest <= room:
            return offer, binding
        # The rounded instalment went a cent over the room: the next rounding step down fits.
        limit -= limits.rounding
        binding = "debt-to-income ceiling"
    return None, Refusal(
        f"limit {limit:g} below the product minimum {product.min_amount:g} (bound by {binding})"
    )
