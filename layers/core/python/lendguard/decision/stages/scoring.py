"""Scoring: the decision model's probability of default and points, plus rule adjustments.

Two kinds of model decide:

* **XGBoost** (``kind: xgboost``): the light evaluator gives the PD, turned into points on the
  policy's scale; ``Score.contributions`` are the features' contributions to the margin
  (log-odds of *bad*; positive = pushed towards default).
* **Scorecard** (``kind: scorecard``): the card's points are the score and the PD comes from
  the **card's own scale** (stored in its metadata): ``PD = card_scale.to_pd(points)``. A policy
  whose scale differs is refused unless it declares ``scoring.convert_from`` (the card's scale);
  then the points are converted to the policy's scale at the same odds. The card is the policy's ``scoring.scorecard`` when the
  policy carries one (the analyst's edited copy), else the card stored with the model.
  ``Score.contributions`` are each feature's **points below its best bin** (positive = lost
  points), and every feature's bin and points are recorded in the trace as ``stage:
  "scorecard"`` entries of ``trace.rules`` (outcome ``hit``, or ``missing`` when the value was
  absent), with the intercept as ``INTERCEPT``. Scorecard entries are not rules and are not
  counted as rule hits.

Shadow models named in ``scoring.shadow_models`` are scored on the same facts and recorded in
``Score.shadow``; they never change the decision, and a shadow model that fails is recorded with
its error instead of failing the case (:func:`load_shadows` does the same for one that cannot
even be loaded).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lendguard.core.trusted import trusted
from lendguard.decision.state import DecisionState, RuleTrace, Score
from lendguard.models.artifact import ModelArtifact
from lendguard.models.points import PointsScale
from lendguard.models.scorecard import Scorecard, ScorecardResult
from lendguard.models.trees import BIAS
from lendguard.policy.schema import Policy

SCORECARD_STAGE = "scorecard"
"""``RuleTrace.stage`` of the scorecard lines in the trace."""
INTERCEPT = "INTERCEPT"
"""``RuleTrace.rule_id`` of the scorecard's intercept line."""


@dataclass(frozen=True)
class UnavailableShadow:
    """A shadow model that could not be loaded: recorded in the case with the error, never raised."""

    model_id: str
    version: int
    error: str


def load_shadows(
    refs: Sequence[Any], load: Callable[[str, int], ModelArtifact]
) -> list[ModelArtifact | UnavailableShadow]:
    """Load the policy's shadow models (``ModelRef`` s) with ``load(id, version)``, e.g. the store's
    ``get_model``; one that fails to load becomes an :class:`UnavailableShadow` instead of failing
    the case, since a dry-run model must never change what happens to an application."""
    out: list[ModelArtifact | UnavailableShadow] = []
    for ref in refs:
        try:
            out.append(load(ref.id, ref.version))
        except Exception as exc:  # missing object, corrupt JSON, S3 hiccup: all the same to a shadow
            out.append(UnavailableShadow(ref.id, ref.version, f"{type(exc).__name__}: {exc}"[:500]))
    return out


def run(
    state: DecisionState,
    policy: Policy,
    model: ModelArtifact,
    shadows: Sequence[ModelArtifact | UnavailableShadow] = (),
) -> DecisionState:
    """Score with the decision model; shadow models are scored and recorded but never decide."""
    scale = policy.scoring.scale
    meta = model.metadata
    card = policy.scoring.scorecard
    if card is not None and meta.kind != "scorecard":
        raise ValueError(
            f"the policy carries a scorecard but its model {meta.model_id} v{meta.version} is a "
            f"{meta.kind} model: name the scorecard model the card was built from"
        )
    if meta.kind == "scorecard":
        card = card or model.scorecard()
        result = card.evaluate(state.facts)
        pd = meta.scale.to_pd(result.points)
        convert = check_model_scale(policy, model)
        points = round(result.points if convert is None else convert.convert(result.points, scale), 2)
        contributions = {
            line.feature: round(line.shortfall, 6) for line in result.lines if line.shortfall > 0
        }
        missing = [line.feature for line in result.lines if line.missing]
        _trace_scorecard(state, result)
    else:
        row, missing = model.encode_row(state.facts)
        ensemble = model.ensemble()
        pd = ensemble.predict_proba(row)
        points = round(scale.to_points(pd), 2)
        contributions = {}
        # Contributions only feed adverse-action reasons and cost as much as the score itself:
        # skip them for a score in the approve band with no review reason so far. (A post-model
        # rule may still send such a case to review; its reasons are then the rule's own.)
        if points + state.score_adjustment < policy.cutoffs.approve_min or state.review_reasons:
            contributions = {
                k: round(v, 6) for k, v in ensemble.contributions(row).items() if k != BIAS and v
            }
    final = round(points + state.score_adjustment, 2)
    # Every value is computed here (the floats by ``round``): built without validating it again.
    state.score = trusted(
        Score,
        model_id=meta.model_id, model_version=meta.version, pd=round(pd, 6), points=points,
        adjustment=float(state.score_adjustment), final_points=final, contributions=contributions,
        shadow=[shadow_score(other, state.facts, scale) for other in shadows],
        missing_inputs=missing, reliable=len(missing) <= policy.scoring.max_missing_inputs,
    )  # fmt: skip
    state.facts.update({"score.pd": round(pd, 6), "score.points": final, "score.model_points": points})
    return state


def check_model_scale(policy: Policy, model: ModelArtifact) -> PointsScale | None:
    """The scale to convert the decision scorecard's points from (None: none), or ``PolicyError``.

    Called wherever a policy meets its decision model (the in-process pipeline when it is built,
    the scoring stage before it scores), so a policy whose scale contradicts its card's is
    refused before any applicant is scored on it.
    """
    from lendguard.core.errors import PolicyError

    try:
        return policy.scoring.card_conversion(model.metadata.kind, model.metadata.scale)
    except ValueError as exc:
        raise PolicyError(f"policy {policy.id} v{policy.version}: {exc}") from None


def _trace_scorecard(state: DecisionState, result: ScorecardResult) -> None:
    # Built from the card's own (validated) bins and points; points made floats as validation would.
    entries = state.trace.rules
    entries.append(
        trusted(
            RuleTrace, rule_id=INTERCEPT, stage=SCORECARD_STAGE, action="points", params={}, observed={},
            outcome="hit", effect="score", points=float(result.intercept_points),
        )
    )  # fmt: skip
    for line in result.lines:
        entries.append(
            trusted(
                RuleTrace, rule_id=line.feature, stage=SCORECARD_STAGE, action="points",
                params={"bin": line.bin, "best_points": line.best_points}, observed={line.feature: line.value},
                outcome="missing" if line.missing else "hit", effect="score",
                points=None if line.points is None else float(line.points),
            )
        )  # fmt: skip


def score_artifact(
    model: ModelArtifact, facts: Mapping[str, Any], scale: PointsScale, card: Scorecard | None = None
) -> dict[str, Any]:
    """PD and points of one model on ``facts`` (no side effects), for shadow runs and tools.

    Scorecards also report each feature's bin and points (``bins``).
    """
    meta = model.metadata
    out: dict[str, Any] = {"model_id": meta.model_id, "model_version": meta.version, "kind": meta.kind}
    if meta.kind == "scorecard":
        result = (card or model.scorecard()).evaluate(facts)
        out.update(
            pd=round(meta.scale.to_pd(result.points), 6),  # the card's own scale gives its odds
            points=round(result.points, 2),
            bins={line.feature: {"bin": line.bin, "points": line.points} for line in result.lines},
            missing_inputs=[line.feature for line in result.lines if line.missing],
        )
    else:
        row, missing = model.encode_row(facts)
        pd = model.ensemble().predict_proba(row)
        out.update(pd=round(pd, 6), points=round(scale.to_points(pd), 2), missing_inputs=missing)
    return out


def shadow_score(
    model: ModelArtifact | UnavailableShadow, facts: Mapping[str, Any], scale: PointsScale
) -> dict[str, Any]:
    """:func:`score_artifact` for a shadow model: an error is recorded, never raised."""
    if isinstance(model, UnavailableShadow):
        return {"model_id": model.model_id, "model_version": model.version, "error": model.error}
    try:
        return score_artifact(model, facts, scale)
    except Exception as exc:  # a shadow (dry-run) model must never fail the case it observes
        meta = model.metadata
        return {
            "model_id": meta.model_id, "model_version": meta.version, "kind": meta.kind,
            "error": f"{type(exc).__name__}: {exc}"[:500],
        }  # fmt: skip
