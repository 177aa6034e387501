"""Decision: post-model rules, cut-offs, the credit limit, the APR and the repayment schedule."""

from __future__ import annotations

import math
from bisect import bisect_right
from datetime import date, datetime, timedelta
from decimal import Decimal

from lendguard.core.application import DECISION_TIMEZONE
from lendguard.core.schedule import ScheduleError, add_months, build_schedule
from lendguard.core.schedule import max_principal as _max_principal
from lendguard.decision.stages.rules import apply_rules
from lendguard.decision.state import DecisionState, Offer, Reason
from lendguard.policy.schema import LEGAL_APR_CEILING, IndebtednessStep, LimitTable, Policy, Product

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
) -> Offer:
    """The offer for an already-capped ``limit``: validity by product mode and the quoted schedule.

    Also used when a reviewer approves a lower limit, so a reviewed offer is built exactly like
    an automatic one.
    """
    schedule = build_schedule(Decimal(str(limit)), Decimal(str(apr)), months, start, product.repayment_method)
    if product.mode == "revolving":
        valid_until = datetime.combine(add_months(now.date(), product.line_months), now.timetz())
    else:
        valid_until = now + timedelta(days=product.validity_days or 0)
    return Offer(
        credit_limit=limit, apr=apr, term_months=months, mode=product.mode, valid_until=valid_until,
        monthly_payment=float(schedule.instalments[0].payment), repayment_method=product.repayment_method,
        reusable=product.mode == "revolving", max_draws=1 if product.mode == "single_draw" else None,
        limit_basis=basis, limit_candidates=candidates or {}, schedule=schedule,
    )  # fmt: skip


def make_offer(
    state: DecisionState, policy: Policy, points: float, now: datetime
) -> tuple[Offer | None, str]:
    """The limit, price and schedule for a score; None with the reason when no limit can be offered.

    limit = min(table[score band][income band] (cut by the over-indebtedness step), product
    maximum, requested amount, largest principal whose highest instalment fits the
    debt-to-income room), rounded down to ``limits.rounding``.
    """
    limits, facts = policy.limits, state.facts
    product = policy.products[str(facts["application.product"])]
    income = float(facts.get("applicant.monthly_income") or 0.0)
    months = int(facts["application.term_months"])  # type: ignore[arg-type]
    s_band = band(limits.score_bands, points)
    i_band = band(limits.income_bands, income)
    if s_band is None or i_band is None:
        return None, "score or income below the lowest band of the limit table"
    # Never above the policy's cap, and never above the legal ceiling whatever the policy says.
    apr = min(policy.pricing.apr_by_score_band[s_band], policy.pricing.apr_cap, LEGAL_APR_CEILING)
    debt = float(facts.get(limits.existing_debt_fact) or 0.0)
    room = Decimal(str(max(0.0, limits.max_dti * income - debt)))
    ceiling = _max_principal(room, Decimal(str(apr)), months, product.repayment_method)
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
            offer = issue_offer(limit, apr, months, product, now, start, basis=binding, candidates=candidates)
        except ScheduleError as exc:
            return None, f"no repayment schedule for a limit of {limit:g}: {exc}"
        assert offer.schedule is not None
        if offer.schedule.max_payment <= room:
            return offer, binding
        # The rounded instalment went a cent over the room: the next rounding step down fits.
        limit -= limits.rounding
        binding = "debt-to-income ceiling"
    return None, f"limit {limit:g} below the product minimum {product.min_amount:g} (bound by {binding})"


def model_reasons(state: DecisionState, policy: Policy) -> list[Reason]:
    """The features that pushed the score down most, as readable reasons (adverse-action codes).

    ``Score.contributions`` rank them: for XGBoost the feature's contribution to the margin
    (log-odds of bad), for a scorecard the points the feature's bin gives below its best bin;
    either way positive means "cost the applicant", and the largest come first (ties by name).
    At most ``scoring.max_model_reasons`` are given, each with the policy's reason text for the
    feature (code ``MODEL_<FEATURE>``). A text already given by a rule reason is not repeated.
    An unreliable score gives no model reasons: its factors would be wrong.
    """
    if state.score is None or not state.score.reliable:
        return []
    adverse = sorted(((-v, k) for k, v in state.score.contributions.items() if v > 0))
    texts = policy.scoring.reason_texts
    given = {r.message for r in (*state.reasons, *state.review_reasons)}
    out: list[Reason] = []
    for _, feature in adverse:
        if len(out) >= policy.scoring.max_model_reasons:
            break
        message = texts.get(feature, f"Risk factor: {feature}")
        if message in given:
            continue
        given.add(message)
        code = "MODEL_" + feature.upper().replace(".", "_").replace("-", "_")
        out.append(Reason(code=code, message=message, source="model"))
    return out


def run(state: DecisionState, policy: Policy, now: datetime) -> DecisionState:
    """Reach APPROVE, REVIEW or REJECT with reasons, and an offer unless rejected."""
    apply_rules(state, "post_model", policy.post_model)
    assert state.score is not None, "decision needs a score"
    points, cut = state.score.final_points, policy.cutoffs
    if not state.score.reliable:
        # A score built mostly on missing inputs says nothing about this applicant: it may not
        # reject, and its adverse factors would be wrong reasons. Price at the lowest band.
        state.review_reasons.append(
            Reason(
                code="SCORE_UNRELIABLE",
                source="model",
                message=f"Credit score not usable: {len(state.score.missing_inputs)} model inputs missing",
            )
        )
        points = max(min(points, cut.review_min), policy.limits.score_bands[0])
    elif state.decision != "REJECT" and points < cut.review_min:
        state.reject(
            "decision",
            Reason(
                code="SCORE_BELOW_CUTOFF",
                source="cutoff",
                message=f"Credit score {points:.0f} below the minimum {cut.review_min:g}",
            ),
        )
    if state.decision != "REJECT":
        offer, why = make_offer(state, policy, points, now)
        if offer is None:
            state.reject("decision", Reason(code="NO_AFFORDABLE_LIMIT", message=why, source="limit"))
        else:
            state.offer = offer
            if state.score.reliable and points < cut.approve_min:
                state.review_reasons.append(
                    Reason(
                        code="SCORE_IN_REVIEW_BAND",
                        source="cutoff",
                        message=f"Credit score {points:.0f} between {cut.review_min:g} and {cut.approve_min:g}",
                    )
                )
            state.decision = "REVIEW" if state.review_reasons else "APPROVE"
    if state.decision == "REVIEW":
        state.reasons = [*state.review_reasons, *model_reasons(state, policy)]
    elif state.decision == "REJECT":
        state.reasons = [*state.reasons, *model_reasons(state, policy)]
    return state
