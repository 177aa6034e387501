"""Decision: post-model rules, cut-offs, the credit limit and the APR."""

from __future__ import annotations

import math
from bisect import bisect_right
from datetime import datetime, timedelta

from lendguard.policy.schema import Policy
from lendguard.stages.rules import apply_rules
from lendguard.stages.state import DecisionState, Offer, Reason


def band(edges: list[float], value: float) -> int | None:
    """Index of the band whose lower edge is the largest one ≤ value; None below the first edge."""
    i = bisect_right(edges, value) - 1
    return None if i < 0 else i


def annuity_payment(principal: float, apr: float, months: int) -> float:
    """Equal monthly instalment for a fully amortising loan."""
    r = apr / 12
    if r == 0:
        return principal / months
    return principal * r / (1 - (1 + r) ** -months)


def max_principal(payment: float, apr: float, months: int) -> float:
    """The largest principal whose equal instalment does not exceed ``payment``."""
    if payment <= 0:
        return 0.0
    r = apr / 12
    if r == 0:
        return payment * months
    return payment * (1 - (1 + r) ** -months) / r


def make_offer(
    state: DecisionState, policy: Policy, points: float, now: datetime
) -> tuple[Offer | None, str]:
    """The limit and price for a score; None with the reason when no limit can be offered."""
    limits, facts = policy.limits, state.facts
    product = policy.products[str(facts["application.product"])]
    income = float(facts.get("applicant.monthly_income") or 0.0)
    months = int(facts["application.term_months"])  # type: ignore[arg-type]
    s_band = band(limits.score_bands, points)
    i_band = band(limits.income_bands, income)
    if s_band is None or i_band is None:
        return None, "score or income below the lowest band of the limit table"
    apr = min(policy.pricing.apr_by_score_band[s_band], policy.pricing.apr_cap)
    debt = float(facts.get(limits.existing_debt_fact) or 0.0)
    dti_room = max(0.0, limits.max_dti * income - debt)
    candidates = {
        "table": limits.table[s_band][i_band],
        "product maximum": product.max_amount,
        "requested amount": float(facts["application.requested_amount"]),  # type: ignore[arg-type]
        "debt-to-income ceiling": max_principal(dti_room, apr, months),
    }
    binding = min(candidates, key=candidates.__getitem__)
    limit = math.floor(candidates[binding] / limits.rounding + 1e-9) * limits.rounding
    if limit < product.min_amount:
        return None, f"limit {limit:g} below the product minimum {product.min_amount:g} (bound by {binding})"
    offer = Offer(
        credit_limit=limit, apr=apr, term_months=months, mode=product.mode,
        valid_until=now + timedelta(days=product.validity_days),
        monthly_payment=round(annuity_payment(limit, apr, months), 2),
    )  # fmt: skip
    return offer, binding


def model_reasons(state: DecisionState, policy: Policy) -> list[Reason]:
    """The features that pushed the score down most, as readable reasons."""
    if state.score is None or not state.score.reliable:
        return []
    adverse = sorted(((v, k) for k, v in state.score.contributions.items() if v > 0), reverse=True)
    texts = policy.scoring.reason_texts
    out = []
    for _, feature in adverse[: policy.scoring.max_model_reasons]:
        code = "MODEL_" + feature.upper().replace(".", "_")
        out.append(Reason(code=code, message=texts.get(feature, f"Risk factor: {feature}"), source="model"))
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
