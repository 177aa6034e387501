"""The committed models (tests/data/models) are what the training code makes today.

These tests train (seconds each): they live here, outside the unit tests, which only load the
fixtures.
"""

from __future__ import annotations

import xgboost

from lendguard.core.hashing import LOCAL_SECRET
from lendguard.offline.synthetic import training_rows
from lendguard.offline.training.default_model import train_default_model, train_default_scorecard

REGENERATE = "regenerate it (tests/data/models/README.md)"


def test_the_fixture_was_made_with_the_installed_xgboost(default_model) -> None:
    recorded = default_model.metadata.xgboost_version
    assert recorded == xgboost.__version__, (
        f"the model fixture was trained with xgboost {recorded}, {xgboost.__version__} is installed: "
        f"pin the fixture's version in pyproject.toml or {REGENERATE}"
    )


def _unseen_rows(seed: int) -> list[dict]:
    """Rows the models never saw (another seed), with the facts the scoring stage hands them."""
    return training_rows(2000, seed=seed + 1000, secret=LOCAL_SECRET)


def test_regenerating_the_model_gives_the_same_predictions(tmp_path, default_model) -> None:
    meta = default_model.metadata
    regenerated, _ = train_default_model(tmp_path / "v1", model_id=meta.model_id, version=meta.version)
    assert regenerated.metadata.feature_names == meta.feature_names
    assert regenerated.metadata.params == meta.params
    fixture, fresh = default_model.ensemble(), regenerated.ensemble()
    rows = _unseen_rows(meta.seed)
    assert len({round(fixture.predict_proba_mapping(r), 6) for r in rows}) > 100  # not a constant
    for row in rows:
        assert fresh.predict_proba_mapping(row) == fixture.predict_proba_mapping(row), REGENERATE
    assert regenerated.metadata.metrics == meta.metrics
    assert regenerated.metadata.baseline == meta.baseline, f"another drift baseline: {REGENERATE}"
    assert meta.baseline is not None and meta.baseline.score_sample == "scored"
    assert regenerated.sha256 == default_model.sha256, f"same predictions, other model.json: {REGENERATE}"


def test_regenerating_the_scorecard_gives_the_same_points(tmp_path, default_scorecard) -> None:
    meta = default_scorecard.metadata
    regenerated, _ = train_default_scorecard(tmp_path / "v1", model_id=meta.model_id, version=meta.version)
    fixture, fresh = default_scorecard.scorecard(), regenerated.scorecard()
    rows = _unseen_rows(meta.seed)
    points = [fixture.points(r) for r in rows]
    assert len(set(points)) > 20  # not a constant
    assert [fresh.points(r) for r in rows] == points, REGENERATE
    assert regenerated.metadata.metrics == meta.metrics
    assert regenerated.metadata.baseline == meta.baseline, f"another drift baseline: {REGENERATE}"
    assert regenerated.sha256 == default_scorecard.sha256, f"same points, other model.json: {REGENERATE}"


def test_scorecard_training_is_deterministic(tmp_path) -> None:
    a, _ = train_default_scorecard(tmp_path / "a", rows=2000, seed=5)
    b, _ = train_default_scorecard(tmp_path / "b", rows=2000, seed=5)
    assert a.model_json == b.model_json and a.metadata.metrics == b.metadata.metrics
