"""Scoring: the model's probability of default, turned into points, plus rule adjustments."""

from __future__ import annotations

from collections.abc import Sequence

from lendguard.models.artifact import ModelArtifact
from lendguard.models.points import pd_to_points
from lendguard.policy.schema import Policy
from lendguard.stages.state import DecisionState, Score

SCORE_FACTS = ("score.pd", "score.points", "score.model_points")


def run(
    state: DecisionState, policy: Policy, model: ModelArtifact, shadows: Sequence[ModelArtifact] = ()
) -> DecisionState:
    """Score with the decision model; shadow models are scored and recorded but never decide."""
    scale = policy.scoring.scale
    names = model.metadata.feature_names
    row = [_number(state.facts.get(n)) for n in names]
    ensemble = model.ensemble()
    pd = ensemble.predict_proba(row)
    points = round(pd_to_points(pd, scale.base_points, scale.base_odds, scale.pdo), 2)
    final = round(points + state.score_adjustment, 2)
    contributions = {k: round(v, 6) for k, v in ensemble.contributions(row).items() if k != "bias" and v}
    shadow = []
    for other in shadows:
        other_row = [_number(state.facts.get(n)) for n in other.metadata.feature_names]
        other_pd = other.ensemble().predict_proba(other_row)
        shadow.append(
            {"model_id": other.metadata.model_id, "model_version": other.metadata.version, "pd": round(other_pd, 6),
             "points": round(pd_to_points(other_pd, scale.base_points, scale.base_odds, scale.pdo), 2)}
        )  # fmt: skip
    missing = [n for n, v in zip(names, row, strict=True) if v is None]
    state.score = Score(
        model_id=model.metadata.model_id, model_version=model.metadata.version, pd=round(pd, 6), points=points,
        adjustment=state.score_adjustment, final_points=final, contributions=contributions, shadow=shadow,
        missing_inputs=missing, reliable=len(missing) <= policy.scoring.max_missing_inputs,
    )  # fmt: skip
    state.facts.update({"score.pd": round(pd, 6), "score.points": final, "score.model_points": points})
    return state


def _number(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    raise TypeError(f"model feature value {value!r} is not numeric")
