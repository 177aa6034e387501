"""Offline training: metrics, determinism, the artifact round trip, and the evaluator on the result."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.metrics import roc_auc_score

from lendguard.models.artifact import (
    METADATA_FILE,
    MODEL_FILE,
    BinnedDistribution,
    ModelArtifact,
    ModelMetadata,
)
from lendguard.models.points import PointsScale
from lendguard.offline.training.xgb import TrainingReport, ks_statistic, train_xgboost

FEATURES = ["income", "debt_ratio", "age", "inquiries", "utilisation", "noise"]
WHEN = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
FAST = {"num_boost_round": 60}


def _frame(n: int = 2500, seed: int = 7) -> pd.DataFrame:
    """Synthetic applications with a planted logistic signal and missing values."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(8.0, 0.6, n)
    debt_ratio = rng.beta(2, 5, n)
    age = rng.integers(18, 70, n).astype(float)
    inquiries = rng.poisson(1.5, n).astype(float)
    utilisation = rng.uniform(0, 1.2, n)
    noise = rng.normal(size=n)
    logit = (
        -2.6
        - 0.8 * (np.log(income) - 8.0)
        + 2.5 * debt_ratio
        - 0.03 * (age - 40)
        + 0.35 * inquiries
        + 1.2 * (utilisation > 0.9)
    )
    bad = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame(
        {
            "income": income,
            "debt_ratio": debt_ratio,
            "age": age,
            "inquiries": inquiries,
            "utilisation": utilisation,
            "noise": noise,
            "bad": bad,
        }
    )
    frame.loc[rng.random(n) < 0.08, "income"] = np.nan
    frame.loc[rng.random(n) < 0.05, "utilisation"] = np.nan
    frame["oracle"] = logit  # not a feature: the planted truth, for a sanity bound
    return frame


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return _frame()


@pytest.fixture(scope="module")
def trained(frame: pd.DataFrame) -> tuple[ModelArtifact, TrainingReport]:
    return train_xgboost(frame, "bad", FEATURES, model_id="pd-test", seed=42, trained_at=WHEN)


def test_holdout_metrics_are_sensible(trained, frame) -> None:
    artifact, report = trained
    m = report.metrics
    oracle_auc = roc_auc_score(frame["bad"], frame["oracle"])
    assert 0.65 < m.auc <= oracle_auc + 0.03, (m.auc, oracle_auc)
    assert m.gini == pytest.approx(2 * m.auc - 1)
    assert 0.2 < m.ks < 0.7
    assert report.train_auc >= m.auc - 0.02
    assert report.n_train + report.n_holdout == len(frame)
    assert report.n_holdout == pytest.approx(0.3 * len(frame), abs=1)
    assert report.bad_rate_train == pytest.approx(report.bad_rate_holdout, abs=0.01)  # stratified
    assert report.num_boost_round == 250
    assert next(iter(report.importance_gain)) in {"debt_ratio", "income", "utilisation", "inquiries"}
    assert set(report.importance_gain) == set(FEATURES)
    assert artifact.metadata.metrics == m
    text = report.to_text()
    assert "AUC" in text and "KS" in text and "Gini" in text and "debt_ratio" in text


def test_metadata(trained, frame) -> None:
    artifact, report = trained
    meta = artifact.metadata
    assert meta.model_id == "pd-test" and meta.version == 1 and meta.kind == "xgboost"
    assert meta.feature_names == FEATURES
    assert meta.label == "bad"
    assert meta.trained_at == WHEN
    assert meta.seed == 42
    assert meta.params["num_boost_round"] == 250
    assert meta.params["seed"] == 42 and meta.params["objective"] == "binary:logistic"
    assert meta.model_sha256 == artifact.sha256
    assert meta.data_sha256 == report.data_sha256
    assert len(meta.data_sha256) == 64
    assert meta.xgboost_version == xgb.__version__
    baseline = meta.baseline
    assert baseline is not None and baseline.n == len(frame) and baseline.score_scale == "points"
    assert len(baseline.score.proportions) == 10
    assert sum(baseline.score.proportions) == pytest.approx(1.0)
    income = baseline.features["income"]
    assert income.missing == pytest.approx(frame["income"].isna().mean())
    assert baseline.features["inquiries"].proportions  # discrete: fewer, merged bins
    # the stored bins reproduce the stored shares
    shares, missing = income.shares(frame["income"].to_numpy())
    assert shares == pytest.approx(income.proportions) and missing == pytest.approx(income.missing)


def test_training_is_deterministic(frame, trained) -> None:
    artifact, report = trained
    again, report2 = train_xgboost(frame, "bad", FEATURES, model_id="pd-test", seed=42, trained_at=WHEN)
    assert again.model_json == artifact.model_json
    assert report2 == report
    assert again == artifact
    other, _ = train_xgboost(frame, "bad", FEATURES, model_id="pd-test", seed=43, params=FAST)
    assert other.model_json != artifact.model_json


def test_data_hash_follows_the_used_columns(frame) -> None:
    a, _ = train_xgboost(frame, "bad", FEATURES, model_id="m", params=FAST)
    b, _ = train_xgboost(frame.assign(unused=1.0), "bad", FEATURES, model_id="m", params=FAST)
    changed = frame.copy()
    changed.loc[0, "noise"] = 123.0
    c, _ = train_xgboost(changed, "bad", FEATURES, model_id="m", params=FAST)
    assert a.metadata.data_sha256 == b.metadata.data_sha256 != c.metadata.data_sha256


def test_evaluator_on_trained_artifact_equals_xgboost(trained, frame) -> None:
    artifact, _ = trained
    booster = xgb.Booster()
    booster.load_model(bytearray(artifact.model_json))
    x = frame[FEATURES].to_numpy(dtype=np.float64)
    expected = booster.inplace_predict(x)
    ensemble = artifact.ensemble()
    assert artifact.ensemble() is ensemble  # cached
    np.testing.assert_allclose(ensemble.predict_proba_batch(x), expected, rtol=0, atol=1e-6)
    records = frame[FEATURES].to_dict("records")
    for i in range(0, len(records), 5):
        values = {k: (None if pd.isna(v) else v) for k, v in records[i].items()}
        assert ensemble.predict_proba_mapping(values) == pytest.approx(expected[i], abs=1e-6)


def test_artifact_round_trip(trained, tmp_path) -> None:
    artifact, _ = trained
    target = artifact.save(tmp_path / "pd-test" / "v1")
    assert sorted(p.name for p in target.iterdir()) == [METADATA_FILE, MODEL_FILE]
    loaded = ModelArtifact.load(target)
    assert loaded == artifact
    assert loaded.metadata.baseline == artifact.metadata.baseline
    files = artifact.to_files()
    assert set(files) == {MODEL_FILE, METADATA_FILE}
    assert ModelArtifact.from_files(files) == artifact
    json.loads(files[METADATA_FILE])  # plain JSON for S3 / humans
    row = dict.fromkeys(FEATURES, 0.5)
    assert loaded.ensemble().predict_proba_mapping(row) == artifact.ensemble().predict_proba_mapping(row)


def test_tampered_or_incomplete_artifacts_are_rejected(trained) -> None:
    artifact, _ = trained
    files = artifact.to_files()
    with pytest.raises(ValueError, match="sha256"):
        ModelArtifact.from_files({**files, MODEL_FILE: files[MODEL_FILE] + b" "})
    with pytest.raises(ValueError, match="missing"):
        ModelArtifact.from_files({MODEL_FILE: files[MODEL_FILE]})
    meta = artifact.metadata.model_copy(
        update={"model_sha256": None, "features": artifact.metadata.features[:3]}
    )
    with pytest.raises(ValueError, match="differ"):
        ModelArtifact(meta, artifact.model_json).ensemble()


def test_metadata_validation(trained) -> None:
    data = json.loads(trained[0].to_files()[METADATA_FILE])
    ModelMetadata.model_validate(data)
    for field, bad in [("version", 0), ("data_sha256", "xyz"), ("kind", "lightgbm"), ("model_id", "a/b")]:
        with pytest.raises(ValueError):
            ModelMetadata.model_validate({**data, field: bad})
    with pytest.raises(ValueError, match="unique"):
        ModelMetadata.model_validate({**data, "features": [{"name": "a"}, {"name": "a"}]})
    with pytest.raises(ValueError):
        BinnedDistribution(edges=[1.0, 1.0], proportions=[0.3, 0.3, 0.4])
    with pytest.raises(ValueError):
        BinnedDistribution(edges=[1.0], proportions=[0.3, 0.3])


def test_custom_scale_and_version(frame) -> None:
    scale = PointsScale(base_points=500, base_odds=20, pdo=40)
    artifact, report = train_xgboost(
        frame, "bad", FEATURES, model_id="pd-test", version=3, params=FAST, scale=scale, holdout=0.25
    )
    assert artifact.metadata.scale == scale and artifact.metadata.version == 3
    assert report.n_holdout == pytest.approx(0.25 * len(frame), abs=1)
    assert report.num_boost_round == 60
    assert artifact.ensemble().n_trees == 60


def test_invalid_inputs(frame) -> None:
    with pytest.raises(ValueError, match="0 \\(good\\) / 1 \\(bad\\)"):
        train_xgboost(frame.assign(bad=frame["bad"] * 2), "bad", FEATURES, model_id="m")
    with pytest.raises(ValueError, match="not in the frame"):
        train_xgboost(frame, "bad", [*FEATURES, "nope"], model_id="m")
    with pytest.raises(ValueError, match="numeric"):
        train_xgboost(frame.assign(noise="x"), "bad", FEATURES, model_id="m")
    with pytest.raises(ValueError, match="objective"):
        train_xgboost(frame, "bad", FEATURES, model_id="m", params={"objective": "reg:squarederror"})
    with pytest.raises(ValueError, match="holdout"):
        train_xgboost(frame, "bad", FEATURES, model_id="m", holdout=1.0)


def test_ks_statistic() -> None:
    assert ks_statistic([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == pytest.approx(1.0)
    assert ks_statistic([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == pytest.approx(0.0)  # ties: one threshold
    assert ks_statistic([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4]) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        ks_statistic([1, 1], [0.1, 0.2])


# ------------------------------------------------------------------ column treatments and CV


def _dirty(n: int = 200, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return pd.DataFrame(
        {
            "customer_ref": [f"C{i:06d}" for i in rng.permutation(n)],  # unique text
            "row": np.arange(1, n + 1),  # a run of whole numbers: row numbers
            "applicant_id": rng.choice(10**6, n, replace=False),  # distinct integers, an id's name
            "city": [f"city{i}" for i in rng.integers(0, 150, n)],  # too many categories to code
            "income": [str(v) for v in rng.integers(2000, 9000, n)],  # numbers written as text ...
            "grade": rng.choice(["A", "B", "C"], n),
            "score": rng.normal(size=n),
            "bad": y,
        }
    ).astype({"income": object})


def test_columns_are_planned_with_reasons() -> None:
    from lendguard.offline.training.columns import plan_columns

    frame = _dirty()
    frame.loc[[4, 9, 11], "income"] = ["?", "?", "n/a"]  # ... with a few stray tokens
    plan = plan_columns(frame, "bad")
    by = {c.name: c for c in plan.columns}
    assert [c.name for c in plan.columns] == list(frame.columns)  # every column, in file order
    assert by["bad"].treatment == "label"
    for name in ("customer_ref", "row", "applicant_id"):
        assert by[name].treatment == "excluded" and "identifier-like" in by[name].reason, name
    assert by["city"].treatment == "excluded" and "very high cardinality" in by["city"].reason
    assert by["income"].treatment == "numeric" and by["income"].tokens == {"?": 2, "n/a": 1}
    assert by["income"].missing == 3 and plan.frame["income"].isna().sum() == 3
    assert plan.frame["income"].dtype == np.float64
    assert by["grade"].treatment == "categorical" and by["score"].treatment == "numeric"
    assert plan.features == ["income", "grade", "score"] and plan.categorical == ["grade"]
    assert any("'?' x 2, 'n/a' x 1" in w for w in plan.warnings)
    assert any("--keep customer_ref" in w for w in plan.warnings)
    kept = plan_columns(frame, "bad", keep=["applicant_id"])
    assert "applicant_id" in kept.features and "kept with --keep" in kept.columns[2].reason


def test_a_text_column_with_many_non_numbers_stays_categorical() -> None:
    from lendguard.offline.training.columns import plan_columns

    frame = _dirty()
    frame.loc[:30, "income"] = "unknown"  # 15%: text, not a numeric column with stray tokens
    by = {c.name: c for c in plan_columns(frame, "bad").columns}
    # as text its ~170 distinct values in 200 rows are far too many categories to learn from
    assert by["income"].tokens == {} and by["income"].treatment == "excluded"
    assert "very high cardinality" in by["income"].reason
    few = frame.assign(income=np.where(np.arange(len(frame)) % 2, "low", "unknown"))
    assert {c.name: c for c in plan_columns(few, "bad").columns}["income"].treatment == "categorical"


def test_infinite_values_name_the_column_and_rows() -> None:
    from lendguard.core.errors import InvalidInput
    from lendguard.offline.training.columns import plan_columns

    frame = _dirty()
    frame.loc[[2, 40], "score"] = [np.inf, -np.inf]
    with pytest.raises(InvalidInput) as exc:
        plan_columns(frame, "bad")
    (detail,) = exc.value.details
    assert detail.field == "--data" and "column 'score'" in detail.message and "rows: 3, 41" in detail.message
    with pytest.raises(InvalidInput, match="invalid training input") as stray:
        plan_columns(frame.drop(columns="score"), "bad", keep=["nope"])
    assert stray.value.details[0].field == "--keep"


def test_xgboost_refuses_inf_before_xgboost_sees_it(frame) -> None:
    broken = frame.copy()
    broken.loc[7, "income"] = np.inf
    with pytest.raises(ValueError, match=r"column 'income' has infinite values in 1 row: 8"):
        train_xgboost(broken, "bad", FEATURES, model_id="inf", params=FAST)


def test_cross_validation_chooses_on_the_training_part_only(frame) -> None:
    from lendguard.offline.training.xgb import CvSettings

    settings = CvSettings(folds=3, grid={"max_depth": [2, 3]}, early_stopping_rounds=10, max_rounds=200)
    artifact, report = train_xgboost(frame, "bad", FEATURES, model_id="cv", trained_at=WHEN, cv=settings)
    cv = report.cv
    assert cv is not None and cv.folds == 3 and cv.n_rows == report.n_train < len(frame)
    assert [c.params for c in cv.candidates] == [{"max_depth": 2}, {"max_depth": 3}]
    assert cv.chosen == max(cv.candidates, key=lambda c: c.auc_mean)
    assert 0 < cv.chosen.auc_std < 0.2 and 1 <= cv.chosen.n_trees < 200
    assert artifact.metadata.params["num_boost_round"] == report.num_boost_round == cv.chosen.n_trees
    assert artifact.metadata.params["max_depth"] == cv.chosen.params["max_depth"]
    assert "CV AUC" in report.to_text() and "3-fold on the" in report.to_text()
    # the same inputs choose the same model
    again, _ = train_xgboost(frame, "bad", FEATURES, model_id="cv", trained_at=WHEN, cv=settings)
    assert again == artifact
