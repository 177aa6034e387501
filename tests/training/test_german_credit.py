"""Training and online scoring proven on real credit data: Statlog German Credit (tests/data).

The split is the published one: stratified 70/30 with seed 42. XGBoost's depth, column
subsampling, child weight and tree count are chosen by 5-fold cross-validation on the training
part (the stock grid of :class:`lendguard.offline.training.xgb.CvSettings`, nothing tuned for this
data set); its categorical attributes enter the trees as codes ordered by the training split's
bad rate (documented in :class:`lendguard.models.artifact.FeatureSpec`). Dirty copies of the file
(an identifier column, a stray ``"?"``, an ``inf``) show that the column treatments keep the
holdout figure where the clean data puts it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
import yaml
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from lendguard.models.artifact import CategoricalDistribution, ModelArtifact
from lendguard.models.registry import DirectoryRegistry
from lendguard.offline.cli.main import app
from lendguard.offline.evaluation.metrics import ks, psi_from_baseline
from lendguard.offline.training.tabular import read_training_csv, train_from_frame
from lendguard.offline.training.xgb import stratified_split
from lendguard.policy.schema import Scoring

DATA = Path(__file__).resolve().parents[1] / "data" / "germancredit.csv"
SHA256 = "2c0bae00275c028fc853a1ea72cc7a68002c3f6876c41300c5c948711540c8c6"
LABEL = "creditability"


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return read_training_csv(DATA)


@pytest.fixture(scope="module")
def xgb_model(frame):
    return train_from_frame(frame, LABEL, kind="xgboost", model_id="german-xgb")


@pytest.fixture(scope="module")
def scorecard(frame):
    return train_from_frame(frame, LABEL, kind="scorecard", model_id="german-scorecard")


@pytest.fixture(scope="module")
def records(frame) -> list[dict]:
    """Each applicant as the online scorer sees it: raw values by column name (categories as text)."""
    return frame.drop(columns=[LABEL]).to_dict(orient="records")


def _booster(artifact: ModelArtifact) -> xgb.Booster:
    booster = xgb.Booster()
    booster.load_model(bytearray(artifact.model_json))
    return booster


def test_data_file_is_the_published_one(frame) -> None:
    assert hashlib.sha256(DATA.read_bytes()).hexdigest() == SHA256
    readme = (DATA.parent / "README.md").read_text()
    assert SHA256 in readme and "MIT" in readme
    assert frame.shape == (1000, 21)
    assert (frame[LABEL] == "bad").mean() == 0.3


def test_label_is_read_as_bad_equals_one(xgb_model, scorecard) -> None:
    assert xgb_model.bad_value == "bad" and scorecard.artifact.metadata.label_bad == "bad"
    assert len(xgb_model.categorical) == 13 and len(xgb_model.features) == 20


def test_xgboost_holdout_auc_lands_in_the_published_range(xgb_model, frame, records) -> None:
    meta = xgb_model.artifact.metadata
    assert 0.80 <= meta.metrics.auc <= 0.82, meta.metrics
    assert meta.metrics.gini == pytest.approx(2 * meta.metrics.auc - 1)
    assert (meta.n_train, meta.n_holdout) == (700, 300)
    # recompute the holdout metrics independently from XGBoost's own predictions
    y = (frame[LABEL] == "bad").astype(int).to_numpy()
    _, hold = stratified_split(y, 0.3, 42)
    x = np.array(
        [[np.nan if v is None else v for v in xgb_model.artifact.encode_row(records[i])[0]] for i in hold]
    )
    p = _booster(xgb_model.artifact).inplace_predict(x)
    assert meta.metrics.auc == pytest.approx(roc_auc_score(y[hold], p), abs=1e-12)
    assert meta.metrics.ks == pytest.approx(ks(y[hold], p), abs=1e-12)
    assert 0.40 <= meta.metrics.ks <= 0.55


def test_categories_are_coded_by_training_bad_rate(xgb_model, frame) -> None:
    y = (frame[LABEL] == "bad").astype(int).to_numpy()
    train, _ = stratified_split(y, 0.3, 42)
    spec = next(f for f in xgb_model.artifact.metadata.features if f.name == "purpose")
    rates = pd.Series(y[train]).groupby(frame["purpose"].to_numpy()[train]).mean()
    assert list(rates.loc[spec.categories]) == sorted(rates)  # code 0 = lowest bad rate


def test_evaluator_equals_inplace_predict_on_every_row(xgb_model, records) -> None:
    artifact = xgb_model.artifact
    ensemble = artifact.ensemble()
    rows = [artifact.encode_row(r)[0] for r in records]
    x = np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=np.float64)
    expected = _booster(artifact).inplace_predict(x)
    single = np.array([ensemble.predict_proba(row) for row in rows])
    assert np.max(np.abs(single - expected)) <= 1e-6
    assert np.max(np.abs(ensemble.predict_proba_batch(x) - expected)) <= 1e-6


def test_evaluator_equals_inplace_predict_with_missing_and_unseen_values(xgb_model, records) -> None:
    rng = np.random.default_rng(42)
    artifact = xgb_model.artifact
    damaged = []
    for r in records:
        row = dict(r)
        for k in row:
            u = rng.random()
            if u < 0.15:
                row[k] = None
            elif u < 0.20 and isinstance(row[k], str):
                row[k] = "a category never seen"
        damaged.append(row)
    rows = [artifact.encode_row(r)[0] for r in damaged]
    assert sum(v is None for row in rows for v in row) > 0.15 * 20 * 1000
    x = np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=np.float64)
    expected = _booster(artifact).inplace_predict(x)
    single = np.array([artifact.ensemble().predict_proba(row) for row in rows])
    assert np.max(np.abs(single - expected)) <= 1e-6


def test_scorecard_holdout_auc_and_points(scorecard, records) -> None:
    artifact = scorecard.artifact
    meta = artifact.metadata
    assert meta.kind == "scorecard"
    assert 0.79 <= meta.metrics.auc <= 0.81, meta.metrics  # published for logistic scorecards: 0.799-0.806
    doc = artifact.scorecard_document()
    assert all(f.coefficient > 0 for f in doc.features)
    assert doc.features[0].name == "status_of_existing_checking_account"  # strongest first (highest IV)
    scale = meta.scale
    assert doc.card.intercept_points == round(scale.offset - scale.factor * doc.intercept)
    for trained in doc.features:
        for b in trained.bins:
            assert b.points == round(-scale.factor * trained.coefficient * b.woe)
    # numeric bins are monotonic in WOE, so their points are too
    for trained in doc.features:
        if trained.type == "numeric":
            pts = [b.points for b in trained.bins]
            assert pts == sorted(pts) or pts == sorted(pts, reverse=True), trained.name
    # the stored AUC is the rounded card's, as it scores online
    y = np.array([1 if r == "bad" else 0 for r in pd.read_csv(DATA)[LABEL]])
    _, hold = stratified_split(y, 0.3, 42)
    card = artifact.scorecard()
    p = [scale.to_pd(card.points(records[i])) for i in hold]
    assert meta.metrics.auc == pytest.approx(roc_auc_score(y[hold], p), abs=1e-12)


def test_baselines_cover_categories_and_numbers(xgb_model, frame) -> None:
    base = xgb_model.artifact.metadata.baseline
    assert base is not None and base.n == 1000
    assert isinstance(base.features["housing"], CategoricalDistribution)
    assert base.features["housing"].categories["own"] == pytest.approx(0.713)
    renters = frame[frame.housing == "rent"]
    assert psi_from_baseline(base.features["housing"], base.n, renters.housing).psi > 1
    assert psi_from_baseline(base.features["age_in_years"], base.n, frame.age_in_years).psi == 0.0


# ------------------------------------------------------------------------------------ command line


def _run(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1"})


def test_cli_train_register_list_show(tmp_path) -> None:
    out, registry = tmp_path / "sc", tmp_path / "registry"
    r = _run(
        "train",
        "--data",
        str(DATA),
        "--label",
        LABEL,
        "--kind",
        "scorecard",
        "--out",
        str(out),
        "--id",
        "gc-sc",
    )
    assert r.exit_code == 0, r.output
    assert (
        (out / "model.json").is_file()
        and (out / "metadata.json").is_file()
        and (out / "report.txt").is_file()
    )
    assert "holdout: AUC 0.80" in r.output
    assert _run("models", "register", str(out), "--registry", str(registry)).exit_code == 0
    again = _run("models", "register", str(out), "--registry", str(registry))
    assert again.exit_code == 2 and "already registered" in again.output
    assert _run("models", "register", str(out), "--registry", str(registry), "--next-version").exit_code == 0
    assert DirectoryRegistry(registry).versions("gc-sc") == [1, 2]
    listing = _run("models", "list", "--registry", str(registry), "--json")
    assert listing.exit_code == 0 and [e["version"] for e in json.loads(listing.output)] == [1, 2]
    shown = _run("models", "show", "gc-sc", "--registry", str(registry))
    assert shown.exit_code == 0 and "Scorecard (intercept" in shown.output and "v2" in shown.output
    snippet = _run("models", "show", "gc-sc", "--version", "1", "--registry", str(registry), "--policy")
    scoring = Scoring.model_validate(yaml.safe_load(snippet.output)["scoring"])
    assert scoring.model.id == "gc-sc" and scoring.model.version == 1
    assert scoring.scorecard == ModelArtifact.load(out).scorecard()
    missing = _run("models", "show", "nope", "--registry", str(registry))
    assert missing.exit_code == 2 and "not registered" in missing.output


@pytest.mark.parametrize(
    ("args", "field", "text"),
    [
        (["--data", "missing.csv", "--label", LABEL], "--data", "no such file"),
        (["--data", str(DATA), "--label", "nope"], "--label", "not in the data"),
        (["--data", str(DATA), "--label", "purpose"], "--bad", "10 distinct values"),
        (["--data", str(DATA), "--label", "housing", "--bad", "castle"], "--bad", "does not occur"),
        (["--data", str(DATA), "--label", "telephone"], "--bad", "say which one means bad"),
        (["--data", str(DATA), "--label", LABEL, "--features", "age_in_years,nope"], "--features", "nope"),
        (["--data", str(DATA), "--label", LABEL, "--holdout", "1.5"], "--holdout", "between 0 and 1"),
        (["--data", str(DATA)], "--label", "required"),
        (["--label", LABEL], "--label", "only applies with --data"),
    ],
)
def test_cli_train_rejects_bad_input_naming_the_field(tmp_path, args, field, text) -> None:
    result = _run("train", *args, "--out", str(tmp_path / "m"))
    assert result.exit_code == 2, result.output
    assert field in result.output and text in result.output


def test_cli_train_rejects_a_file_that_is_not_csv(tmp_path) -> None:
    bad = tmp_path / "data.csv"
    bad.write_bytes(b"")
    result = _run("train", "--data", str(bad), "--label", "x", "--out", str(tmp_path / "m"))
    assert result.exit_code == 2 and "empty" in result.output
    assert _run("train", "--data", str(DATA), "--label", LABEL, "--kind", "forest").exit_code == 2


# ------------------------------------------------------------------ dirty data does not fool training


def _with_identifier(frame: pd.DataFrame) -> pd.DataFrame:
    ids = [f"C{i:05d}" for i in np.random.default_rng(1).permutation(len(frame))]
    return frame.assign(customer_id=ids)[["customer_id", *frame.columns]]


def _with_token(frame: pd.DataFrame) -> pd.DataFrame:
    dirty = frame.astype({"credit_amount": object})
    dirty.loc[5, "credit_amount"] = "?"
    return dirty


@pytest.fixture(scope="module")
def dirty_models(frame) -> dict[tuple[str, str], object]:
    return {
        (kind, how): train_from_frame(make(frame), LABEL, kind=kind, model_id=f"gc-{how}")
        for kind in ("xgboost", "scorecard")
        for how, make in (("identifier", _with_identifier), ("token", _with_token))
    }


def test_both_kinds_clear_080_and_xgboost_reports_its_cv_auc(xgb_model, scorecard) -> None:
    assert xgb_model.summary.holdout.auc >= 0.80 and scorecard.summary.holdout.auc >= 0.80
    cv = xgb_model.summary.cv
    assert cv is not None and cv.folds == 5 and cv.n_rows == 700  # the training part only
    assert 0.70 < cv.chosen.auc_mean < 0.85 and 0 < cv.chosen.auc_std < 0.1
    meta = xgb_model.artifact.metadata
    assert meta.params["num_boost_round"] == cv.chosen.n_trees
    assert all(meta.params[k] == v for k, v in cv.chosen.params.items())
    assert f"CV AUC {cv.chosen.auc_mean:.4f} ± {cv.chosen.auc_std:.4f}" in xgb_model.report
    assert scorecard.summary.cv is None


@pytest.mark.parametrize("kind", ["xgboost", "scorecard"])
def test_an_identifier_column_is_excluded_and_changes_nothing(
    kind, xgb_model, scorecard, dirty_models
) -> None:
    clean = {"xgboost": xgb_model, "scorecard": scorecard}[kind]
    dirty = dirty_models[(kind, "identifier")]
    treatment = dirty.summary.columns[0]
    assert treatment.name == "customer_id" and treatment.treatment == "excluded"
    assert "identifier-like" in treatment.reason and "customer_id" not in dirty.features
    assert any("customer_id" in w and "--keep" in w for w in dirty.warnings)
    assert abs(dirty.summary.holdout.auc - clean.summary.holdout.auc) <= 0.01


@pytest.mark.parametrize("kind", ["xgboost", "scorecard"])
def test_a_stray_question_mark_leaves_the_column_numeric(kind, xgb_model, scorecard, dirty_models) -> None:
    clean = {"xgboost": xgb_model, "scorecard": scorecard}[kind]
    dirty = dirty_models[(kind, "token")]
    amount = next(c for c in dirty.summary.columns if c.name == "credit_amount")
    assert amount.treatment == "numeric" and amount.tokens == {"?": 1} and amount.missing == 1
    assert "credit_amount" not in dirty.categorical
    assert any("'?' x 1" in w for w in dirty.warnings)
    assert abs(dirty.summary.holdout.auc - clean.summary.holdout.auc) <= 0.01


@pytest.mark.parametrize("kind", ["xgboost", "scorecard"])
def test_inf_exits_2_naming_the_column_and_rows(kind, frame, tmp_path) -> None:
    broken = frame.astype({"age_in_years": float})
    broken.loc[[3, 250], "age_in_years"] = [np.inf, -np.inf]
    path = tmp_path / "inf.csv"
    broken.to_csv(path, index=False)
    result = _run(
        "train", "--data", str(path), "--label", LABEL, "--kind", kind, "--out", str(tmp_path / "m")
    )
    assert result.exit_code == 2, result.output
    assert "column 'age_in_years' has infinite values in 2 rows: 4, 251" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "m").exists()


def test_cli_lists_every_column_and_writes_the_json_report(frame, tmp_path) -> None:
    path = tmp_path / "dirty.csv"
    _with_token(_with_identifier(frame)).to_csv(path, index=False)
    out = tmp_path / "sc"
    result = _run("train", "--data", str(path), "--label", LABEL, "--kind", "scorecard", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "customer_id excluded" not in result.output  # a table row, not a sentence
    assert "warning: column 'customer_id' excluded: identifier-like" in result.output
    assert (
        "warning: column 'credit_amount': numeric; non-numeric values read as missing: '?' x 1"
        in result.output
    )
    report = json.loads((out / "report.json").read_text())
    assert f"holdout: AUC {report['holdout']['auc']:.4f}" in result.output
    treatments = {c["name"]: c["treatment"] for c in report["columns"]}
    assert treatments["customer_id"] == "excluded" and treatments["credit_amount"] == "numeric"
    assert treatments[LABEL] == "label" and len(treatments) == 22
    assert report["holdout"]["auc"] >= 0.79 and report["kind"] == "scorecard"
    kept = _run(
        "train", "--data", str(path), "--label", LABEL, "--kind", "scorecard", "--out", str(tmp_path / "k"),
        "--keep", "customer_id,nope",
    )  # fmt: skip
    assert kept.exit_code == 2 and "--keep" in kept.output and "nope" in kept.output
