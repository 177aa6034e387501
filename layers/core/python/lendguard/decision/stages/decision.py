"""Decision: post-model rules and cut-offs; an offer (:mod:`lendguard.decision.offer`) unless rejected.

A case about to get an offer then goes through the policy's ``after_model`` vendor groups (the
payout card's four-element check): paid only for applicants the model would lend to, and able to
withdraw the offer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lendguard.core.trusted import trusted
from lendguard.decision.offer import NO_AFFORDABLE_LIMIT, Refusal, make_offer
from lendguard.decision.stages.external_data import PayloadArchive, run_group, skip_group
from lendguard.decision.stages.rules import apply_rules
from lendguard.decision.state import DecisionState, Reason
from lendguard.policy.schema import Policy
from lendguard.vendors.base import ProviderRegistry
from lendguard.vendors.cache import VendorCache

NO_VENDOR_ACCESS = "no vendor access in this run: the rules' on_missing applies"


@dataclass(frozen=True)
class VendorAccess:
    """What calling the ``after_model`` vendor groups needs (as ExternalData has it)."""

    providers: ProviderRegistry
    archive: PayloadArchive
    cache: VendorCache | None = None


def check_before_offer(state: DecisionState, policy: Policy, vendors: VendorAccess | None) -> None:
    """Run the ``after_model`` vendor groups in order until one rejects.

    Without ``vendors`` (a run that may not call vendors) each group is recorded as skipped and its
    rules meet missing facts, so their ``on_missing`` decides: never a silent pass.
    """
    for group in policy.groups_after_model:
        if vendors is None:
            skip_group(state, policy, group, NO_VENDOR_ACCESS)
            apply_rules(state, f"vendor:{group.id}", group.rules)
        else:
            run_group(state, policy, group, vendors.providers, vendors.archive, vendors.cache)
        if state.halted:
            state.offer = None
            return


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
        out.append(trusted(Reason, code=code, message=message, source="model"))
    return out


def run(
    state: DecisionState, policy: Policy, now: datetime, vendors: VendorAccess | None = None
) -> DecisionState:
    """Reach APPROVE, REVIEW or REJECT with reasons, and an offer unless rejected.

    ``vendors`` lets the ``after_model`` vendor groups be called (see :func:`check_before_offer`).
    """
    apply_rules(state, "post_model", policy.post_model)
    assert state.score is not None, "decision needs a score"
    points, cut = state.score.final_points, policy.cutoffs
    if not state.score.reliable:
        # A score built mostly on missing inputs says nothing about this applicant: it may not
        # reject, and its adverse factors would be wrong reasons. Price at the lowest band.
        state.review_reasons.append(
            trusted(
                Reason,
                code="SCORE_UNRELIABLE",
                source="model",
                message=f"Credit score not usable: {len(state.score.missing_inputs)} model inputs missing",
            )
        )
        points = max(min(points, cut.review_min), policy.limits.score_bands[0])
    elif state.decision != "REJECT" and points < cut.review_min:
        state.reject(
            "decision",
            trusted(
                Reason,
                code="SCORE_BELOW_CUTOFF",
                source="cutoff",
                message=f"Credit score {points:.0f} below the minimum {cut.review_min:g}",
            ),
        )
    if state.decision != "REJECT":
        offer, why = make_offer(state, policy, points, now)
        if offer is None:
            code = why.code if isinstance(why, Refusal) else NO_AFFORDABLE_LIMIT
            state.reject("decision", trusted(Reason, code=code, message=str(why), source="limit"))
        else:
            state.offer = offer
            if state.score.reliable and points < cut.approve_min:
                state.review_reasons.append(
                    trusted(
                        Reason,
                        code="SCORE_IN_REVIEW_BAND",
                        source="cutoff",
                        message=f"Credit score {points:.0f} between {cut.review_min:g} and {cut.approve_min:g}",
                    )
                )
            check_before_offer(state, policy, vendors)
            if not state.halted:
                state.decision = "REVIEW" if state.review_reasons else "APPROVE"
    if state.decision == "REVIEW":
        state.reasons = [*state.review_reasons, *model_reasons(state, policy)]
    elif state.decision == "REJECT":
        state.reasons = [*state.reasons, *model_reasons(state, policy)]
    return state
