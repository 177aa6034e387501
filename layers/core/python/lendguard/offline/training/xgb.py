"""Offline training of XGBoost probability-of-default models (never imported online).

``train_xgboost`` splits a labelled frame (stratified, seeded), fits a ``binary:logistic``
booster with conservative defaults for small tabular credit data, measures the holdout
AUC / KS / Gini, records the score and feature distributions for drift monitoring, and returns a
:class:`~lendguard.models.artifact.ModelArtifact` plus a :class:`TrainingReport`.

Conventions: label 1 = bad (default), 0 = good; the model predicts PD. Training is deterministic:
the same frame, parameters and seed give byte-identical ``model.json`` and identical metrics.

Categorical features (declared in ``categorical``) enter the trees as numbers, because the
light online evaluator supports numerical splits only: each category's code is its rank by the
training split's bad rate (lowest bad rate = 0; ties by name), recorded in the metadata
(:class:`~lendguard.models.artifact.FeatureSpec` ``categories``). Ordered this way, one
threshold separates better from worse categories, as XGBoost's own categorical splits would.
Categories absent from the training split are missing (NaN), online and offline alike.

Hyperparameters and the number of trees can be chosen by stratified k-fold cross-validation on
the **training part only** (``cv``, :class:`CvSettings`): for each point of a small grid, each
fold's booster grows one tree at a time and is scored on its own validation fold; the mean fold
AUC stops the growth (early stopping on the folds, never on the holdout). The point and tree
count with the best mean fold AUC are then trained on the whole training part, and the holdout
is scored once. Categories are coded from each fold's own training rows, so the validation
folds see no label information they should not. The CV AUC (mean ± standard deviation over
the folds) is reported beside the holdout figure.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from pydantic import ConfigDict, Field
from sklearn.model_selection import StratifiedKFold, train_test_split

from lendguard.core.base_model import Model
from lendguard.models.artifact import (
    Baseline,
    BinnedDistribution,
    CategoricalDistribution,
    FeatureSpec,
    HoldoutMetrics,
    ModelArtifact,
    ModelMetadata,
)
from lendguard.models.encoding import category_key, is_missing
from lendguard.models.points import LOG_ODDS_MAX, LOG_ODDS_MIN, PointsScale
from lendguard.offline.evaluation.metrics import auc as auc_score
from lendguard.offline.evaluation.metrics import ks as ks_score

__all__ = [
    "DEFAULT_NUM_BOOST_ROUND",
    "DEFAULT_PARAMS",
    "CvCandidate",
    "CvResult",
    "CvSettings",
    "TrainingReport",
    "check_labelled_frame",
    "data_sha256",
    "ks_statistic",
    "stratified_split",
    "train_xgboost",
]

DEFAULT_NUM_BOOST_ROUND = 250
DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary:logistic",
    "eval_metric": "auc",
    "tree_method": "hist",
    "max_depth": 3,
    "eta": 0.05,
    "min_child_weight": 3.0,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "lambda": 1.0,
    "alpha": 0.0,
    "gamma": 0.0,
    "max_bin": 256,
    "nthread": 2,
}
"""Defaults for small tabular credit data (hundreds to a few hundred thousand rows): shallow trees,
a small learning rate, row / column subsampling. ``num_boost_round`` (or ``n_estimators``) in the
``params`` argument sets the number of trees (default :data:`DEFAULT_NUM_BOOST_ROUND`)."""


class CvSettings(Model):
    """How cross-validation chooses the hyperparameters and the number of trees.

    The default grid is small on purpose (shallow trees and column subsampling matter most on
    small credit samples); every point is early-stopped on the mean AUC of the folds.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    folds: int = Field(default=5, ge=2, le=20)
    grid: dict[str, list[float | int]] = Field(
        default_factory=lambda: {
            "max_depth": [2, 3],
            "min_child_weight": [1, 5],
            "colsample_bytree": [0.5, 0.8],
        }
    )
    early_stopping_rounds: int = Field(default=50, ge=1)
    max_rounds: int = Field(default=1000, ge=1)


class CvCandidate(Model):
    """One grid point: its parameters, the tree count its folds stopped at, and the fold AUCs."""

    model_config = ConfigDict(frozen=True)

    params: dict[str, float | int]
    n_trees: int
    auc_mean: float
    auc_std: float


class CvResult(Model):
    """What cross-validation on the training part chose, and how sure it is (spread over folds)."""

    model_config = ConfigDict(frozen=True)

    folds: int
    n_rows: int = Field(description="Rows cross-validated: the training part only")
    chosen: CvCandidate
    candidates: list[CvCandidate]

    def text(self) -> str:
        """``CV AUC 0.7769 ± 0.0245 (5-fold on the 700 training rows; 186 trees)``."""
        c = self.chosen
        return (
            f"CV AUC {c.auc_mean:.4f} ± {c.auc_std:.4f} ({self.folds}-fold on the {self.n_rows} training rows; "
            f"{c.n_trees} trees, {', '.join(f'{k}={v:g}' for k, v in c.params.items())})"
        )


class TrainingReport(Model):
    """What training produced: sample sizes, bad rates, holdout metrics and gain importances."""

    model_config = ConfigDict(frozen=True, protected_namespaces=())

    model_id: str
    version: int
    label: str
    n_train: int
    n_holdout: int
    bad_rate_train: float
    bad_rate_holdout: float
    num_boost_round: int
    train_auc: float
    metrics: HoldoutMetrics
    importance_gain: dict[str, float] = Field(
        description="XGBoost 'gain' (average loss reduction of the feature's splits), 0 if unused; sorted"
    )
    data_sha256: str
    cv: CvResult | None = Field(default=None, description="Cross-validation on the training part, if run")

    def to_text(self) -> str:
        """A short human-readable report."""
        m = self.metrics
        lines = [
            f"model {self.model_id} v{self.version}  label={self.label}  trees={self.num_boost_round}",
            f"rows: train {self.n_train} (bad {self.bad_rate_train:.1%}), "
            f"holdout {self.n_holdout} (bad {self.bad_rate_holdout:.1%})",
            f"holdout: AUC {m.auc:.4f}  KS {m.ks:.4f}  Gini {m.gini:.4f}   (train AUC {self.train_auc:.4f})",
            *([self.cv.text()] if self.cv is not None else []),
            f"data sha256 {self.data_sha256[:16]}…",
            "importance (gain):",
        ]
        total = sum(self.importance_gain.values()) or 1.0
        width = max((len(n) for n in self.importance_gain), default=0)
        for name, gain in self.importance_gain.items():
            lines.append(f"  {name:<{width}}  {gain:10.4f}  {gain / total:6.1%}")
        return "\n".join(lines)


def ks_statistic(y_true: Any, score: Any) -> float:
    """Kolmogorov–Smirnov: max over thresholds of |CDF_bad(s) − CDF_good(s)| (label 1 = bad).

    Tied scores are treated as one threshold, so the result does not depend on row order. Kept
    for callers of this module; the definition lives in :func:`lendguard.offline.evaluation.metrics.ks`.
    """
    return ks_score(y_true, score)


def data_sha256(frame: pd.DataFrame, columns: list[str]) -> str:
    """sha256 of the training columns written as CSV (row order and values; not the file's bytes)."""
    body = frame[columns].to_csv(index=False, lineterminator="\n").encode("utf-8")
    return hashlib.sha256(body).hexdigest()


def stratified_split(y: np.ndarray, holdout: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the training and holdout parts: stratified on the label, seeded.

    ``train_test_split(arange(n), test_size=holdout, stratify=y, random_state=seed)``: the split
    the published German Credit results use (70/30, seed 42), shared by XGBoost and scorecards.
    """
    if not 0.0 < holdout < 1.0:
        raise ValueError("holdout must be strictly between 0 and 1")
    idx_train, idx_hold = train_test_split(
        np.arange(len(y)), test_size=holdout, stratify=y, random_state=seed
    )
    return np.asarray(idx_train), np.asarray(idx_hold)


def _margin_to_points(margin: np.ndarray, scale: PointsScale) -> np.ndarray:
    log_odds = np.clip(-margin.astype(np.float64), LOG_ODDS_MIN, LOG_ODDS_MAX)  # same clamp as pd_to_points
    return scale.offset + scale.factor * log_odds


def _resolve_params(params: dict[str, Any] | None, seed: int) -> tuple[dict[str, Any], int]:
    merged = dict(DEFAULT_PARAMS)
    extra = dict(params or {})
    rounds = extra.pop("num_boost_round", extra.pop("n_estimators", DEFAULT_NUM_BOOST_ROUND))
    merged.update(extra)
    if merged.get("objective") != "binary:logistic":
        raise ValueError(f"objective must be binary:logistic, got {merged.get('objective')!r}")
    if merged.get("booster", "gbtree") != "gbtree":
        raise ValueError("only the gbtree booster can be evaluated online")
    merged["seed"] = seed
    rounds = int(rounds)
    if rounds < 1:
        raise ValueError("num_boost_round must be >= 1")
    return merged, rounds


def check_labelled_frame(
    frame: pd.DataFrame, label: str, features: list[str], categorical: list[str] | tuple[str, ...] = ()
) -> tuple[np.ndarray, dict[str, str]]:
    """Validate a training frame; return the 0/1 label array and each feature's kind.

    Kinds are ``"float"`` for numeric (and boolean) columns and ``"category"`` for the columns
    named in ``categorical``; any other non-numeric feature is an error naming it.
    """
    if not features:
        raise ValueError("no features")
    if len(set(features)) != len(features):
        raise ValueError("duplicate feature names")
    if label in features:
        raise ValueError(f"label {label!r} is also a feature")
    absent = [c for c in [*features, label] if c not in frame.columns]
    if absent:
        raise ValueError(f"columns not in the frame: {absent}")
    stray = sorted(set(categorical) - set(features))
    if stray:
        raise ValueError(f"categorical names columns that are not features: {stray}")
    non_numeric = [
        c
        for c in features
        if c not in categorical
        and not (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))
    ]
    if non_numeric:
        raise ValueError(f"features must be numeric or declared categorical: {non_numeric}")
    from lendguard.offline.training.columns import describe_infinite, infinite_rows

    infinite = {c: rows for c in features if c not in categorical and (rows := infinite_rows(frame[c]))}
    if infinite:
        raise ValueError("; ".join(describe_infinite(c, rows) for c, rows in infinite.items()))
    y_raw = frame[label]
    if y_raw.isna().any():
        raise ValueError(f"label {label!r} has missing values")
    if not set(pd.unique(y_raw.astype(float))) <= {0.0, 1.0}:
        raise ValueError(f"label {label!r} must be 0 (good) / 1 (bad)")
    y = y_raw.astype(np.int64).to_numpy()
    if min(int(y.sum()), int(y.size - y.sum())) < 2:
        raise ValueError("need at least two goods and two bads")
    return y, {c: ("category" if c in categorical else "float") for c in features}


def _category_codes(values: list[Any], y_train: np.ndarray, idx_train: np.ndarray) -> list[str]:
    """Categories of the training rows, ordered by bad rate (lowest first), ties by name."""
    stats: dict[str, list[int]] = {}
    for i in idx_train:
        v = values[i]
        if not is_missing(v):
            s = stats.setdefault(category_key(v), [0, 0])
            s[0] += 1
            s[1] += int(y_train[i])
    return sorted(stats, key=lambda k: (stats[k][1] / stats[k][0], k))


def _design_matrix(frame: pd.DataFrame, specs: list[FeatureSpec]) -> np.ndarray:
    """Features as float64 (categories as their codes; unknown or missing = NaN)."""
    columns = []
    for spec in specs:
        if spec.type == "float":
            columns.append(frame[spec.name].astype(np.float64).to_numpy())
        else:
            codes = {c: float(i) for i, c in enumerate(spec.categories or ())}
            columns.append(
                np.asarray(
                    [
                        np.nan if is_missing(v) else codes.get(category_key(v), np.nan)
                        for v in frame[spec.name].tolist()
                    ],
                    dtype=np.float64,
                )
            )
    return np.column_stack(columns)


# A fold whose training rows hold no value of a category feature still needs a spec: every
# value is then unknown (NaN) to that fold's boosters.
_NO_CATEGORY = "\x00no category in this fold"


def _grid(settings: CvSettings) -> list[dict[str, float | int]]:
    from itertools import product

    keys = sorted(settings.grid)
    return [dict(zip(keys, values, strict=True)) for values in product(*(settings.grid[k] for k in keys))]


def cross_validate(
    frame: pd.DataFrame,
    features: list[str],
    kinds: dict[str, str],
    y: np.ndarray,
    idx_train: np.ndarray,
    base: dict[str, Any],
    settings: CvSettings,
    seed: int,
) -> CvResult:
    """Choose the grid point and tree count by stratified k-fold CV on the rows ``idx_train``.

    Each fold codes categories from its own training rows; every grid point grows all folds'
    boosters together, one tree at a time, until the mean validation AUC has not improved for
    ``early_stopping_rounds`` trees. Ties go to the earlier grid point (the grid is ordered
    from simpler to richer by its keys' values).
    """
    splitter = StratifiedKFold(n_splits=settings.folds, shuffle=True, random_state=seed)
    folds = []
    for fit_pos, val_pos in splitter.split(idx_train, y[idx_train]):
        fit_rows, val_rows = idx_train[fit_pos], idx_train[val_pos]
        specs = [
            FeatureSpec(
                name=n,
                type="category",
                categories=_category_codes(frame[n].tolist(), y, fit_rows) or [_NO_CATEGORY],
            )
            if kinds[n] == "category"
            else FeatureSpec(name=n)
            for n in features
        ]
        x = _design_matrix(frame, specs)
        folds.append((x[fit_rows], y[fit_rows], x[val_rows], y[val_rows]))
    candidates = []
    for point in _grid(settings):
        # One thread per booster: on a few hundred rows per fold, threads cost more than they save
        # (and on a busy machine OpenMP's waiting makes them far slower).
        params = {**base, **point, "eval_metric": "auc", "nthread": 1}
        packs = []
        for x_fit, y_fit, x_val, y_val in folds:
            dfit = xgb.DMatrix(x_fit, label=y_fit, feature_names=features, nthread=params.get("nthread"))
            dval = xgb.DMatrix(x_val, label=y_val, feature_names=features, nthread=params.get("nthread"))
            packs.append((xgb.Booster(params, [dfit, dval]), dfit, dval))
        best_mean, best_std, best_round = -1.0, 0.0, 0
        for i in range(settings.max_rounds):
            scores = []
            for booster, dfit, dval in packs:
                booster.update(dfit, i)
                scores.append(float(booster.eval_set([(dval, "valid")], i).rsplit(":", 1)[1]))
            mean = float(np.mean(scores))
            if mean > best_mean + 1e-12:
                best_mean, best_std, best_round = mean, float(np.std(scores)), i
            elif i - best_round >= settings.early_stopping_rounds:
                break
        candidates.append(
            CvCandidate(params=point, n_trees=best_round + 1, auc_mean=best_mean, auc_std=best_std)
        )
    chosen = max(candidates, key=lambda c: c.auc_mean)  # max keeps the first of equals
    return CvResult(folds=settings.folds, n_rows=len(idx_train), chosen=chosen, candidates=candidates)


def train_xgboost(
    frame: pd.DataFrame,
    label: str,
    features: list[str],
    *,
    model_id: str,
    categorical: list[str] | tuple[str, ...] = (),
    version: int = 1,
    seed: int = 42,
    holdout: float = 0.3,
    params: dict[str, Any] | None = None,
    scale: PointsScale | None = None,
    trained_at: datetime | None = None,
    cv: CvSettings | None = None,
) -> tuple[ModelArtifact, TrainingReport]:
    """Train a ``binary:logistic`` XGBoost PD model and package it with its metadata.

    The frame is split stratified on the label (``train_test_split(stratify=y,
    random_state=seed)``); ``holdout`` is the holdout share. Missing feature values (NaN) are
    allowed and learned by XGBoost's default directions. Features named in ``categorical`` are
    coded by training bad rate (see the module doc). ``params`` override
    :data:`DEFAULT_PARAMS`; ``num_boost_round`` / ``n_estimators`` in it set the number of trees.
    With ``cv`` the grid's parameters and the number of trees are chosen by cross-validation on
    the training part (see the module doc) and override ``params``' and the default tree count.
    ``trained_at`` defaults to now (UTC); everything else in the result is a function of the
    inputs.
    """
    if not 0.0 < holdout < 1.0:
        raise ValueError("holdout must be strictly between 0 and 1")
    scale = scale or PointsScale()
    features = list(features)
    y, kinds = check_labelled_frame(frame, label, features, categorical)
    xgb_params, rounds = _resolve_params(params, seed)

    idx_train, idx_holdout = stratified_split(y, holdout, seed)
    specs = [
        FeatureSpec(name=n, type="category", categories=_category_codes(frame[n].tolist(), y, idx_train))
        if kinds[n] == "category"
        else FeatureSpec(name=n)
        for n in features
    ]
    cv_result = None
    if cv is not None:
        cv_result = cross_validate(frame, features, kinds, y, idx_train, xgb_params, cv, seed)
        xgb_params = {**xgb_params, **cv_result.chosen.params}
        rounds = cv_result.chosen.n_trees
    x = _design_matrix(frame, specs)
    x_train, y_train = x[idx_train], y[idx_train]
    x_hold, y_hold = x[idx_holdout], y[idx_holdout]
    dtrain = xgb.DMatrix(x_train, label=y_train, feature_names=features, nthread=xgb_params.get("nthread"))
    booster = xgb.train(xgb_params, dtrain, num_boost_round=rounds)
    model_json = bytes(booster.save_raw("json"))

    p_train = booster.inplace_predict(x_train)
    p_hold = booster.inplace_predict(x_hold)
    auc = auc_score(y_hold, p_hold)
    metrics = HoldoutMetrics(auc=auc, ks=ks_score(y_hold, p_hold), gini=2.0 * auc - 1.0)

    margin_all = booster.inplace_predict(x, predict_type="margin")
    baseline = Baseline(
        sample="all",
        n=len(y),
        score_scale="points",
        score=BinnedDistribution.from_values(_margin_to_points(np.asarray(margin_all), scale), 10),
        features={
            name: CategoricalDistribution.from_values(frame[name].tolist())
            if kinds[name] == "category"
            else BinnedDistribution.from_values(x[:, i], 10)
            for i, name in enumerate(features)
        },
    )
    digest = data_sha256(frame, [*features, label])
    metadata = ModelMetadata(
        model_id=model_id,
        version=version,
        features=specs,
        label=label,
        trained_at=trained_at or datetime.now(UTC),
        data_sha256=digest,
        model_sha256=hashlib.sha256(model_json).hexdigest(),
        n_train=len(idx_train),
        n_holdout=len(idx_holdout),
        metrics=metrics,
        params={**xgb_params, "num_boost_round": rounds},
        seed=seed,
        scale=scale,
        baseline=baseline,
        xgboost_version=xgb.__version__,
    )
    gain = booster.get_score(importance_type="gain")
    importances = {name: float(gain.get(name, 0.0)) for name in features}
    report = TrainingReport(
        model_id=model_id,
        version=version,
        label=label,
        n_train=len(idx_train),
        n_holdout=len(idx_holdout),
        bad_rate_train=float(y_train.mean()),
        bad_rate_holdout=float(y_hold.mean()),
        num_boost_round=rounds,
        train_auc=auc_score(y_train, p_train),
        metrics=metrics,
        importance_gain=dict(sorted(importances.items(), key=lambda kv: (-kv[1], kv[0]))),
        data_sha256=digest,
        cv=cv_result,
    )
    return ModelArtifact(metadata, model_json), report
