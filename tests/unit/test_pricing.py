"""Limits, prices, validity and the quoted schedule of an offer; the policy checks behind them."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import yaml

from lendguard.core.application import parse_application
from lendguard.core.errors import PolicyError
from lendguard.core.hashing import LOCAL_SECRET
from lendguard.core.schedule import build_schedule, replay
from lendguard.decision import offer as pricing
from lendguard.decision.pipeline import Pipeline
from lendguard.decision.stages import decision
from lendguard.offline.project import default_policy_path
from lendguard.policy.loader import load_policy_data
from lendguard.policy.schema import LEGAL_APR_CEILING

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
RAW = yaml.safe_load((default_policy_path()).read_text())


def policy_with(mutate):
    data = copy.deepcopy(RAW)
    mutate(data)
    return load_policy_data(data, "test.yaml")


@pytest.fixture
def approved(default_policy, default_model, examples):
    """The state of the approve example after the whole pipeline."""
    pipeline = Pipeline(default_policy, default_model, LOCAL_SECRET)
    state = pipeline.decide(parse_application(examples["approve"], default_policy.products), "C-price", NOW)
    assert state.decision == "APPROVE"
    return state


# ---- APR: the policy's cap, and the legal ceiling whatever the policy says -----------------------


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["pricing"].update(apr_cap=0.3601), "above the legal ceiling 36%"),
        (
            lambda d: d["pricing"].update(apr_cap=1.0, apr_by_score_band=[0.9] * 5),
            "above the legal ceiling 36%",
        ),
        (lambda d: d["pricing"]["apr_by_score_band"].__setitem__(2, 0.25), "must be in (0, apr_cap 24.00%]"),
        (lambda d: d["pricing"]["apr_by_score_band"].__setitem__(0, 0), "must be in (0, apr_cap"),
        (lambda d: d["pricing"].update(apr_cap=float("nan")), "apr_cap"),
    ],
)
def test_a_policy_pricing_above_its_cap_or_the_legal_ceiling_fails_validation(mutate, message):
    with pytest.raises(PolicyError) as exc:
        policy_with(mutate)
    assert message in str(exc.value)


def test_a_policy_at_the_legal_ceiling_is_valid():
    policy = policy_with(
        lambda d: d["pricing"].update(apr_cap=0.36, apr_by_score_band=[0.36, 0.3, 0.2, 0.15, 0.1])
    )
    assert policy.pricing.apr_cap == LEGAL_APR_CEILING


def test_offer_apr_never_exceeds_cap_or_ceiling_even_if_validation_was_bypassed(default_policy, approved):
    offer, _ = pricing.make_offer(approved, default_policy, 560, NOW)
    assert offer.apr == 0.24 == default_policy.pricing.apr_by_score_band[0]
    # A policy object built without validation (as a bug could) still never prices above 36%.
    # Its nominal rate is held at 36%, and since rounding alone puts a nominal 36% a hair above
    # 36% comprehensive cost, the rate is lowered further where the pricing allows ...
    rogue_pricing = default_policy.pricing.model_construct(
        apr_by_score_band=[0.9] * 5, apr_cap=0.9, apr_floor=0.30
    )
    rogue = default_policy.model_copy(update={"pricing": rogue_pricing})
    offer, _ = pricing.make_offer(approved, rogue, 560, NOW)
    assert offer.apr_table == LEGAL_APR_CEILING
    assert 0.30 <= offer.apr < LEGAL_APR_CEILING and offer.schedule.apr == Decimal(str(offer.apr))
    assert offer.cost.annual_cost <= LEGAL_APR_CEILING
    # ... and with no room to lower it there is no offer at all.
    stuck = default_policy.model_copy(
        update={"pricing": default_policy.pricing.model_construct(apr_by_score_band=[0.9] * 5, apr_cap=0.9)}
    )
    offer, why = pricing.make_offer(approved, stuck, 560, NOW)
    assert offer is None and why.code == pricing.COST_ABOVE_CAP and "above the cap 36%" in why


# ---- limit ---------------------------------------------------------------------------------------


def test_limit_is_the_smallest_cap_rounded_down(default_policy, approved):
    offer, basis = pricing.make_offer(approved, default_policy, 700, NOW)
    candidates = offer.limit_candidates
    assert set(candidates) >= {"table", "product maximum", "requested amount", "debt-to-income ceiling"}
    assert basis == offer.limit_basis == min(candidates, key=candidates.__getitem__)
    assert offer.credit_limit == candidates[basis] // 100 * 100


@pytest.mark.parametrize(("dti", "factor"), [(0.0, None), (0.29, None), (0.3, 0.7), (0.39, 0.7), (0.45, 0.5)])
def test_over_indebtedness_lowers_the_limit(default_policy, approved, dti, factor):
    state = approved.model_copy(deep=True)
    income = float(state.facts["applicant.monthly_income"])
    state.facts["bureau.monthly_debt"] = dti * income
    state.facts["application.requested_amount"] = 20000  # so the request does not bind
    offer, basis = pricing.make_offer(state, default_policy, 700, NOW)
    table = offer.limit_candidates["table"]
    if factor is None:
        assert "indebtedness" not in offer.limit_candidates
    else:
        assert offer.limit_candidates["indebtedness"] == pytest.approx(table * factor)
        assert offer.credit_limit <= table * factor
        assert basis in ("indebtedness", "debt-to-income ceiling")


def test_the_debt_to_income_room_covers_the_rounded_schedule(default_policy, approved):
    state = approved.model_copy(deep=True)
    income = float(state.facts["applicant.monthly_income"])
    for room in (310, 500, 777.77, 1234.56):
        state.facts["bureau.monthly_debt"] = default_policy.limits.max_dti * income - room
        offer, _ = pricing.make_offer(state, default_policy, 700, NOW)
        if offer is None:
            continue
        # The highest instalment actually quoted (rounded to the cent) fits the room.
        assert offer.schedule.max_payment <= Decimal(str(room))


def test_no_offer_below_the_product_minimum(default_policy, approved):
    state = approved.model_copy(deep=True)
    state.facts["bureau.monthly_debt"] = default_policy.limits.max_dti * float(
        state.facts["applicant.monthly_income"]
    )
    offer, why = pricing.make_offer(state, default_policy, 700, NOW)
    assert offer is None and "below the product minimum" in why


# ---- product modes and the quoted schedule ----------------------------------------------------------


def test_revolving_line_is_valid_twelve_months_and_reusable(default_policy, approved):
    offer, _ = pricing.make_offer(approved, default_policy, 700, NOW)
    assert offer.mode == "revolving" and offer.reusable and offer.max_draws is None
    assert offer.valid_until == datetime(2027, 11, 22, 2, 0, tzinfo=UTC)
    assert offer.repayment_method == "annuity"


def test_single_draw_is_valid_days_and_one_withdrawal(default_policy, approved):
    state = approved.model_copy(deep=True)
    state.facts["application.product"] = "single"
    state.facts["application.term_months"] = 6
    offer, _ = pricing.make_offer(state, default_policy, 700, NOW)
    assert offer.mode == "single_draw" and not offer.reusable and offer.max_draws == 1
    assert offer.valid_until == NOW + timedelta(days=15)
    assert offer.repayment_method == "equal_principal"
    principals = [i.principal for i in offer.schedule.instalments]
    assert len(set(principals[:-1])) == 1


def test_the_offer_quotes_the_schedule_the_loan_follows(default_policy, approved):
    offer, _ = pricing.make_offer(approved, default_policy, 700, NOW)
    s = offer.schedule
    assert s.principal == Decimal(str(offer.credit_limit)) and s.apr == Decimal(str(offer.apr))
    assert s.term_months == offer.term_months and offer.monthly_payment == float(s.instalments[0].payment)
    # Drawn in full, the loan is scheduled by the same function: the same plan to the cent.
    fees = default_policy.products["revolving"].fees
    drawn = build_schedule(Decimal(str(offer.credit_limit)), Decimal(str(offer.apr)), offer.term_months,
                           s.start_date, offer.repayment_method, fees)  # fmt: skip
    assert drawn == s and replay(s)[-1] == 0
    assert fees and s.total_fees == sum(i.fees for i in s.instalments) > 0
    # Due dates follow the applicant's own calendar (the example was submitted at UTC+8).
    assert s.start_date == date(2026, 11, 22)


def test_the_schedule_starts_on_the_applicants_local_date(default_policy, approved):
    late = datetime(2026, 11, 22, 17, 30, tzinfo=UTC)  # already 23 November in UTC+8
    offer, _ = pricing.make_offer(approved, default_policy, 700, late)
    assert offer.schedule.start_date == date(2026, 11, 23)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["products"]["single"].update(validity_days=20), "validity_days"),
        (lambda d: d["products"]["single"].update(validity_days=6), "validity_days"),
        (lambda d: d["products"]["single"].pop("validity_days"), "needs validity_days (7-15)"),
        (
            lambda d: d["products"]["revolving"].update(validity_days=365),
            "validity_days applies to single_draw",
        ),
        (lambda d: d["products"]["revolving"].update(validity_months=24), "validity_months"),
        (lambda d: d["products"]["revolving"].update(repayment_method="balloon"), "repayment_method"),
        (lambda d: d["products"]["single"].update(min_amount=5), "too small to schedule"),
        (lambda d: d["limits"]["indebtedness"].reverse(), "strictly ascending min_dti"),
        (lambda d: d["limits"]["indebtedness"][1].update(factor=0.8), "factors must decrease"),
        (lambda d: d["limits"]["indebtedness"][0].update(factor=1.2), "factor"),
        (lambda d: d["review"].update(timeout_seconds=0), "review.timeout_seconds"),
        (lambda d: d["review"].update(on_timeout="ESCALATE"), "review.on_timeout"),
        (lambda d: d["review"].update(final_review_above=-1), "review.final_review_above"),
    ],
)
def test_bad_products_limits_and_review_settings_name_the_problem(mutate, message):
    with pytest.raises(PolicyError) as exc:
        policy_with(mutate)
    assert message in str(exc.value)


def test_review_settings_default_when_absent():
    policy = policy_with(lambda d: d.pop("review"))
    assert policy.review.timeout_seconds == 48 * 3600 and policy.review.on_timeout == "REJECT"
    assert policy.review.final_review_above is None


# ---- fees and the comprehensive cost of credit ------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["pricing"].update(cost_cap=0.37), "cost_cap 37.00% is above the legal ceiling 36%"),
        (lambda d: d["pricing"].update(apr_floor=0.13), "apr_floor 13.00% is above the table's lowest"),
        (lambda d: d["pricing"].update(cost_annualisation="daily"), "cost_annualisation"),
        (
            lambda d: d["products"]["revolving"]["fees"].append(
                {"name": "service", "timing": "upfront", "amount": 1}
            ),
            "fees listed twice: ['service']",
        ),
        (
            lambda d: d["products"]["single"].update(
                fees=[{"name": "guarantee", "timing": "upfront", "amount": 300}]
            ),
            "upfront fees take the whole of the min_amount 300",
        ),
        (
            # 360 over 360 months at 36%: the first instalment would repay 0.00025 of principal
            lambda d: (
                d["pricing"].update(apr_cap=0.36, apr_by_score_band=[0.36, 0.3, 0.2, 0.15, 0.1]),
                d["products"]["revolving"].update(min_amount=360, terms=[3, 360]),
            ),
            "products.revolving: min_amount 360 cannot amortise over 360 months at the pricing's highest APR 36.00%",
        ),
    ],
)
def test_bad_fees_cost_settings_and_unamortisable_products_fail_at_load(mutate, message):
    with pytest.raises(PolicyError) as exc:
        policy_with(mutate)
    assert message in str(exc.value)


def test_the_offer_discloses_its_comprehensive_cost_beside_the_apr(default_policy, approved):
    offer = approved.offer
    assert offer.cost is not None and offer.cost.nominal_apr == offer.apr and offer.apr_table is None
    assert offer.cost.annualisation == default_policy.pricing.cost_annualisation == "irr_x12"
    # the default revolving product charges a service fee with every instalment: dearer than the APR
    assert offer.cost.total_fees == float(offer.schedule.total_fees) > 0
    assert offer.apr < offer.cost.annual_cost <= default_policy.pricing.cost_cap


def test_fees_that_no_rate_can_absorb_mean_no_offer_with_a_reason(default_policy, approved):
    fees = [{"name": "membership", "timing": "upfront", "amount": 400}]
    policy = policy_with(lambda d: d["products"]["revolving"].update(fees=fees))
    state = approved.model_copy(deep=True)
    state.offer, state.decision, state.reasons, state.review_reasons = None, None, [], []
    offer, why = pricing.make_offer(state, policy, 700, NOW)
    assert offer is None and why.code == pricing.COST_ABOVE_CAP
    decided = decision.run(state, policy, NOW)
    assert decided.decision == "REJECT" and decided.offer is None
    assert [r.code for r in decided.reasons][:1] == ["COST_ABOVE_CAP"]


def test_a_dear_product_gets_a_lower_rate_not_a_dearer_loan(default_policy, approved):
    fees = [{"name": "insurance", "timing": "per_instalment", "rate": 0.008}]
    policy = policy_with(lambda d: d["products"]["revolving"].update(fees=fees))
    offer, _ = pricing.make_offer(approved, policy, 560, NOW)  # lowest band: 24% in the table
    assert offer.apr_table == 0.24 and policy.pricing.lowest_apr <= offer.apr < 0.24
    assert offer.cost.annual_cost <= 0.36
    # the policy's own cost cap binds below the legal one
    tighter = policy_with(
        lambda d: (d["products"]["revolving"].update(fees=fees), d["pricing"].update(cost_cap=0.30))
    )
    cheaper, _ = pricing.make_offer(approved, tighter, 560, NOW)
    assert cheaper.apr < offer.apr and cheaper.cost.annual_cost <= 0.30


def test_the_response_and_the_cli_show_the_cost_beside_the_apr(default_policy, approved):
    from io import StringIO

    from rich.console import Console

    from lendguard.cases.response import response_from_state
    from lendguard.offline import render

    response = response_from_state(approved)
    body = response.model_dump(mode="json")
    assert body["offer"]["cost"]["annual_cost"] == approved.offer.cost.annual_cost
    assert body["offer"]["cost"]["label"] == "monthly IRR x 12" and body["offer"]["apr"] == body["apr"]
    console = Console(file=StringIO(), width=200, no_color=True)
    render.decision(console, response)
    shown = console.file.getvalue()
    cost = approved.offer.cost
    assert f"{cost.annual_cost:.2%} comprehensive annual cost (monthly IRR x 12)" in shown
    assert f"nominal APR {cost.nominal_apr:.2%}" in shown and f"fees {cost.total_fees:,.2f}" in shown
