"""Scorecards: monotonic binning, the card in the policy, training, and scoring in the flow."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from lendguard.core.application import parse_application
from lendguard.core.errors import PolicyError
from lendguard.core.hashing import LOCAL_SECRET
from lendguard.decision.pipeline import Pipeline
from lendguard.decision.stages import decision, scoring
from lendguard.decision.state import DecisionState, Reason, Score, Subject
from lendguard.models.artifact import ModelArtifact
from lendguard.models.points import PointsScale
from lendguard.models.scorecard import OTHER_BIN, Scorecard, ScorecardDocument, ScorecardFeature
from lendguard.offline.project import default_policy_path
from lendguard.offline.training.binning import bin_categorical, bin_numeric
from lendguard.policy.loader import load_policy_data
from lendguard.policy.schema import Scoring

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


def _rates(binning) -> list[float]:
    return [b.bad / b.n for b in binning.bins]


# ------------------------------------------------------------------------------------ binning


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_numeric_binning_is_monotonic_and_sized(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=4000)
    p = 1 / (1 + np.exp(-(-1.5 + 0.9 * x + 0.4 * np.sin(3 * x))))  # monotone trend, wiggles
    y = (rng.random(4000) < p).astype(int)
    b = bin_numeric("x", x, y, max_bins=6, min_bin_share=0.05)
    rates = _rates(b)
    assert b.direction == "increasing" and rates == sorted(rates) and len(set(rates)) == len(rates)
    assert 2 <= len(b.bins) <= 6
    assert all(bin_.n >= 0.05 * 4000 and bin_.good > 0 and bin_.bad > 0 for bin_ in b.bins)
    assert b.bins[0].lower is None and b.bins[-1].upper is None
    assert all(a.upper == c.lower for a, c in zip(b.bins, b.bins[1:], strict=False))
    assert [bin_.woe for bin_ in b.bins] == sorted(bin_.woe for bin_ in b.bins)  # WOE rises with risk
    assert b.iv == pytest.approx(sum(bin_.iv for bin_ in b.bins))
    # bins reproduce the counts they were built from
    idx = b.assign(x)
    assert [int((idx == i).sum()) for i in range(len(b.bins))] == [bin_.n for bin_ in b.bins]


def test_numeric_binning_finds_a_decreasing_trend_and_uses_few_values_as_they_are() -> None:
    rng = np.random.default_rng(9)
    age = rng.integers(20, 24, 3000).astype(float)  # four distinct values
    y = (rng.random(3000) < 0.6 - 0.1 * (age - 20)).astype(int)
    b = bin_numeric("age", age, y)
    assert b.direction == "decreasing"
    assert [x.label() for x in b.bins] == ["< 21", "[21, 22)", "[22, 23)", ">= 23"]


def test_missing_values_get_their_own_bin_or_the_riskiest_one() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=2000)
    y = (rng.random(2000) < 1 / (1 + np.exp(-x))).astype(int)
    many = x.copy()
    many[:300] = np.nan
    b = bin_numeric("x", many, y)
    assert b.missing is not None and b.missing.n == 300 and b.n_missing == 300
    assert b.assign([np.nan])[0] == len(b.bins)
    few = x.copy()
    few[:20] = np.nan  # 1%: below the 5% minimum
    b = bin_numeric("x", few, y)
    assert b.missing is None and b.n_missing == 20
    assert b.assign([None])[0] == b.riskiest == int(np.argmax([x.woe for x in b.bins]))


def test_categorical_binning_orders_by_bad_rate_and_merges_small_categories() -> None:
    rng = np.random.default_rng(6)
    cats = rng.choice(["a", "b", "c", "d", "rare"], p=[0.4, 0.3, 0.2, 0.08, 0.02], size=5000)
    risk = {"a": 0.1, "b": 0.2, "c": 0.35, "d": 0.5, "rare": 0.5}
    y = (rng.random(5000) < np.vectorize(risk.get)(cats)).astype(int)
    b = bin_categorical("c", cats, y)
    rates = _rates(b)
    assert rates == sorted(rates)
    assert not any(bin_.values == ["rare"] for bin_ in b.bins)  # 2% of rows: merged
    assert sorted(v for bin_ in b.bins for v in bin_.values) == ["a", "b", "c", "d", "rare"]
    assert b.assign(["never seen"])[0] == b.riskiest
    assert b.categories == ["a", "b", "c", "d", "rare"]


def test_binning_argument_errors() -> None:
    with pytest.raises(ValueError, match="max_bins"):
        bin_numeric("x", [1, 2], [0, 1], max_bins=0)
    with pytest.raises(ValueError, match="no non-missing"):
        bin_numeric("x", [None, None], [0, 1])
    with pytest.raises(ValueError, match="0 \\(good\\) / 1 \\(bad\\)"):
        bin_categorical("x", ["a", "b"], [0, 2])


# ------------------------------------------------------------------------------------ the card


CARD = {
    "intercept_points": 500,
    "features": [
        {
            "name": "features.dti",
            "type": "numeric",
            "bins": [
                {"upper": 0.2, "points": 30},
                {"lower": 0.2, "upper": 0.5, "points": 10},
                {"lower": 0.5, "points": -15},
            ],
            "missing_points": -15,
        },
        {
            "name": "applicant.employment",
            "type": "categorical",
            "bins": [{"values": ["employed", 3], "points": 12}, {"values": ["self_employed"], "points": -4}],
            "other_points": -6,
            "missing_points": -6,
        },
    ],
}


def test_card_scores_with_lower_edges_inclusive() -> None:
    card = Scorecard.model_validate(CARD)
    assert card.points({"features.dti": 0.2, "applicant.employment": "employed"}) == 500 + 10 + 12
    assert card.points({"features.dti": 0.19999, "applicant.employment": 3.0}) == 500 + 30 + 12
    result = card.evaluate({"features.dti": None, "applicant.employment": "retired"})
    assert result.points == 500 - 15 - 6
    dti, employment = result.lines
    assert (dti.bin, dti.missing, dti.shortfall) == ("missing", True, 45)
    assert (employment.bin, employment.points, employment.shortfall) == (OTHER_BIN, -6, 18)
    assert card.points_range == (500 - 15 - 6, 500 + 30 + 12)
    with pytest.raises(TypeError, match=r"features\.dti"):
        card.points({"features.dti": "high"})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["features"][0]["bins"][1].update(lower=0.3), "must start where bin 0 ends"),
        (lambda c: c["features"][0]["bins"][0].update(lower=0.0), "no lower edge"),
        (lambda c: c["features"][0]["bins"][2].update(upper=9), "no upper edge"),
        (lambda c: c["features"][0]["bins"][1].update(upper=0.2), "lower >= upper"),
        (lambda c: c["features"][1].pop("other_points"), "need other_points"),
        (lambda c: c["features"][1]["bins"][1]["values"].append("employed"), "listed in two bins"),
        (lambda c: c["features"][0].update(other_points=1), "only applies to categorical"),
        (lambda c: c["features"][0]["bins"][0].update(values=["x"]), "not values"),
        (lambda c: c["features"].append(copy.deepcopy(c["features"][0])), "listed twice"),
        (lambda c: c["features"][0]["bins"][0].update(points=float("nan")), "finite number"),
    ],
)
def test_card_validation_names_the_problem(change, message: str) -> None:
    card = copy.deepcopy(CARD)
    change(card)
    with pytest.raises(ValidationError, match=message):
        Scorecard.model_validate(card)


def test_scoring_section_checks_shadow_models() -> None:
    base = {"model": {"id": "m", "version": 1}}
    assert Scoring.model_validate({**base, "scorecard": CARD}).scorecard is not None
    with pytest.raises(ValidationError, match="repeat the decision model"):
        Scoring.model_validate({**base, "shadow_models": [{"id": "m", "version": 1}]})
    with pytest.raises(ValidationError, match="twice"):
        Scoring.model_validate(
            {**base, "shadow_models": [{"id": "s", "version": 1}, {"id": "s", "version": 1}]}
        )


# ------------------------------------------------------------ the trained card (tests/data/models)


def test_trained_scorecard_is_consistent(default_scorecard, tmp_path) -> None:
    doc = default_scorecard.scorecard_document()
    assert all(f.coefficient > 0 for f in doc.features)
    assert all(("IV" in why) or ("coefficient" in why) for why in doc.rejected.values())
    assert default_scorecard.metadata.feature_names == doc.card.feature_names
    assert 0.8 < default_scorecard.metadata.metrics.auc < 0.95
    default_scorecard.save(tmp_path)
    again = ModelArtifact.load(tmp_path)
    assert again == default_scorecard and again.scorecard() == doc.card
    assert ScorecardDocument.model_validate_json(again.model_json) == doc
    with pytest.raises(ValueError, match="not an XGBoost model"):
        again.ensemble()


def test_xgboost_artifacts_have_no_card(default_model) -> None:
    with pytest.raises(ValueError, match="not a scorecard"):
        default_model.scorecard()


# ------------------------------------------------------------------------------------ in the flow


def _policy_with_scorecard(artifact: ModelArtifact, card: Scorecard | None, shadows=()):
    doc = yaml.safe_load((default_policy_path()).read_text())
    doc["scoring"]["model"] = {"id": artifact.metadata.model_id, "version": artifact.metadata.version}
    if card is not None:
        doc["scoring"]["scorecard"] = card.model_dump(mode="json", exclude_none=True)
    doc["scoring"]["shadow_models"] = list(shadows)
    return load_policy_data(doc, "test")


def _decide(policy, model, raw, case_id="C-sc"):
    return Pipeline(policy, model, LOCAL_SECRET).decide(parse_application(raw, policy.products), case_id, NOW)


def test_a_scorecard_decides_and_every_feature_is_traced(default_scorecard, examples) -> None:
    policy = _policy_with_scorecard(default_scorecard, None)
    state = _decide(policy, default_scorecard, examples["approve"])
    score = state.score
    assert score.model_id == "default-scorecard" and state.decision in ("APPROVE", "REVIEW", "REJECT")
    lines = [r for r in state.trace.rules if r.stage == scoring.SCORECARD_STAGE]
    card = default_scorecard.scorecard()
    assert [r.rule_id for r in lines] == [scoring.INTERCEPT, *card.feature_names]
    assert sum(r.points for r in lines) == pytest.approx(score.points)
    assert score.pd == pytest.approx(policy.scoring.scale.to_pd(score.points), abs=1e-6)
    for r in lines[1:]:
        feature = next(f for f in card.features if f.name == r.rule_id)
        assert r.observed == {r.rule_id: state.facts.get(r.rule_id)}
        assert r.params["bin"] == feature.locate(state.facts.get(r.rule_id))[1]
        shortfall = feature.best_points - r.points
        assert score.contributions.get(r.rule_id, 0.0) == pytest.approx(max(shortfall, 0.0))


def test_the_policys_card_is_what_scores(default_scorecard, examples) -> None:
    card = default_scorecard.scorecard()
    stored = _decide(_policy_with_scorecard(default_scorecard, None), default_scorecard, examples["approve"])
    edited = card.model_copy(update={"intercept_points": card.intercept_points + 40})
    state = _decide(_policy_with_scorecard(default_scorecard, edited), default_scorecard, examples["approve"])
    assert state.score.points == pytest.approx(stored.score.points + 40)


def test_a_policy_card_needs_a_scorecard_model(default_scorecard, default_model, examples) -> None:
    policy = _policy_with_scorecard(default_scorecard, default_scorecard.scorecard())
    with pytest.raises(ValueError, match="carries a scorecard but its model"):
        _decide(policy, default_model, examples["approve"])


def _broken_scorecard(template: ModelArtifact) -> ModelArtifact:
    """A scorecard that reads a text fact as a number: it fails on every application."""
    card = Scorecard.model_validate(
        {
            "features": [
                {
                    "name": "applicant.employment",
                    "type": "numeric",
                    "bins": [{"points": 1}],
                    "missing_points": 0,
                }
            ]
        }
    )
    doc = ScorecardDocument(card=card, intercept=0.0, features=[
        {"name": "applicant.employment", "type": "numeric", "iv": 0.1, "coefficient": 1.0, "direction": "increasing",
         "bins": [{"label": "all", "n": 1, "good": 1, "bad": 0, "woe": 0.0, "points": 1}]}])  # fmt: skip
    meta = template.metadata.model_copy(
        update={"model_id": "broken", "features": [template.metadata.features[0].model_copy(update={"name": "applicant.employment"})], "model_sha256": None}
    )  # fmt: skip
    return ModelArtifact(meta, doc.model_dump_json().encode())


def test_shadow_models_are_recorded_and_never_decide(
    default_policy, default_model, default_scorecard, examples
) -> None:
    state = _decide(default_policy, default_model, examples["review"])
    plain = scoring.run(copy.deepcopy(state), default_policy, default_model, [])
    before = (state.decision, plain.score.points, plain.score.pd, plain.score.contributions)
    rescored = scoring.run(
        copy.deepcopy(state),
        default_policy,
        default_model,
        [default_scorecard, _broken_scorecard(default_scorecard)],
    )
    assert (state.decision, rescored.score.points, rescored.score.pd, rescored.score.contributions) == before
    shadow_sc, broken = rescored.score.shadow
    assert shadow_sc["model_id"] == "default-scorecard" and shadow_sc["kind"] == "scorecard"
    assert shadow_sc["points"] == pytest.approx(default_scorecard.scorecard().points(state.facts), abs=0.01)
    assert set(shadow_sc["bins"]) == set(default_scorecard.scorecard().feature_names)
    assert broken["model_id"] == "broken" and "TypeError" in broken["error"] and "pd" not in broken


def test_model_reasons_rank_points_below_the_best_bin(default_policy) -> None:
    state = DecisionState(
        case_id="C", application={}, received_at=NOW, policy={"id": "default", "version": 1},
        subject=Subject(id_number="a", phone="b", device_id="c"),
        score=Score(model_id="sc", model_version=1, pd=0.1, points=540, final_points=540, contributions={
            "features.dti": 25.0, "bureau.multi_lender_7d": 40.0, "applicant.age": 25.0, "fraud_score.score": 3.0}),
        review_reasons=[Reason(code="PM_HIGH_DTI", message="Debt burden relative to income")],
    )  # fmt: skip
    reasons = decision.model_reasons(state, default_policy)
    # ranked by lost points, ties by name; the text a rule already gave is not repeated
    assert [r.code for r in reasons] == [
        "MODEL_BUREAU_MULTI_LENDER_7D",
        "MODEL_APPLICANT_AGE",
        "MODEL_FRAUD_SCORE_SCORE",
    ]
    assert all(r.source == "model" for r in reasons)
    assert reasons[0].message == default_policy.scoring.reason_texts["bureau.multi_lender_7d"]
    state.score.reliable = False
    assert decision.model_reasons(state, default_policy) == []


def test_scorecard_feature_names_may_be_facts() -> None:
    f = ScorecardFeature.model_validate(CARD["features"][0])
    assert f.name == "features.dti" and f.best_points == 30
    with pytest.raises(ValidationError):
        ScorecardFeature.model_validate({**CARD["features"][0], "name": "bad name!"})


def test_default_policy_still_loads(default_policy) -> None:
    assert default_policy.scoring.scorecard is None and default_policy.scoring.shadow_models == []
    assert default_policy_path().exists()


def test_a_shadow_model_that_cannot_be_loaded_is_recorded(default_policy, default_model, examples) -> None:
    from lendguard.core.errors import NotFound
    from lendguard.policy.schema import ModelRef

    def load(model_id: str, version: int) -> ModelArtifact:
        if model_id == "gone":
            raise NotFound(f"model {model_id} v{version} is not stored")
        return default_model

    shadows = scoring.load_shadows(
        [ModelRef(id="gone", version=3), ModelRef(id="default-xgb", version=1)], load
    )
    assert isinstance(shadows[0], scoring.UnavailableShadow) and shadows[1] is default_model
    state = _decide(default_policy, default_model, examples["approve"])
    rescored = scoring.run(copy.deepcopy(state), default_policy, default_model, shadows)
    gone, same = rescored.score.shadow
    assert gone == {"model_id": "gone", "model_version": 3, "error": "NotFound: model gone v3 is not stored"}
    assert same["pd"] == state.score.pd and rescored.score.points == state.score.points


# ------------------------------------------------------------------------- the card's own scale

CARD_SCALE = {"base_points": 500, "base_odds": 20, "pdo": 50}
DEFAULT_SCALE = {"base_points": 600, "base_odds": 50, "pdo": 20}


def _on_scale(artifact: ModelArtifact, scale: dict) -> ModelArtifact:
    """The same card, its metadata saying it was trained on another points scale."""
    meta = artifact.metadata.model_copy(update={"scale": PointsScale(**scale)})
    return ModelArtifact(meta, artifact.model_json)


def _policy_on(artifact: ModelArtifact, scale: dict, convert_from: dict | None = None):
    doc = yaml.safe_load((default_policy_path()).read_text())
    doc["scoring"]["model"] = {"id": artifact.metadata.model_id, "version": artifact.metadata.version}
    doc["scoring"]["scale"] = scale
    if convert_from is not None:
        doc["scoring"]["convert_from"] = convert_from
    return load_policy_data(doc, "test")


def test_the_pd_comes_from_the_cards_own_scale(default_scorecard, examples) -> None:
    model = _on_scale(default_scorecard, CARD_SCALE)
    state = _decide(_policy_on(model, CARD_SCALE), model, examples["approve"])
    raw = model.scorecard().points(state.facts)
    assert state.score.points == pytest.approx(raw, abs=0.01)
    assert state.score.pd == pytest.approx(PointsScale(**CARD_SCALE).to_pd(raw), abs=1e-6)
    # the default scale would have read the same points as quite another PD
    assert state.score.pd > 2 * PointsScale().to_pd(raw)


def test_a_policy_whose_scale_contradicts_the_card_is_refused(default_scorecard, examples) -> None:
    model = _on_scale(default_scorecard, CARD_SCALE)
    policy = _policy_on(model, DEFAULT_SCALE)
    with pytest.raises(
        PolicyError, match=r"contradicts the scale the scorecard .* \(500 points at 20:1, PDO 50\)"
    ):
        Pipeline(policy, model, LOCAL_SECRET)
    # the scoring stage refuses too (where a deployed flow meets its model)
    state = _decide(_policy_on(model, CARD_SCALE), model, examples["approve"])
    with pytest.raises(PolicyError, match=r"declare scoring\.convert_from"):
        scoring.run(state, policy, model)
    wrong = _policy_on(model, DEFAULT_SCALE, {**CARD_SCALE, "pdo": 40})
    with pytest.raises(PolicyError, match="is not the scale the scorecard"):
        Pipeline(wrong, model, LOCAL_SECRET)


def test_a_declared_conversion_keeps_the_odds(default_scorecard, examples) -> None:
    card_scale = PointsScale(**CARD_SCALE)
    model = _on_scale(default_scorecard, CARD_SCALE)
    state = _decide(_policy_on(model, DEFAULT_SCALE, CARD_SCALE), model, examples["approve"])
    raw = model.scorecard().points(state.facts)
    assert state.score.pd == pytest.approx(card_scale.to_pd(raw), abs=1e-6)
    # converted points mean the same odds on the policy's scale
    assert state.score.points == pytest.approx(PointsScale().to_points(card_scale.to_pd(raw)), abs=0.01)
    assert card_scale.convert(card_scale.to_points(0.1), PointsScale()) == pytest.approx(
        PointsScale().to_points(0.1)
    )
