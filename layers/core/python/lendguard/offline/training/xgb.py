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
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from pydantic import BaseModel, ConfigDict, Field
from sklearn.model_selection import train_test_split

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


class TrainingReport(BaseModel):
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

    def to_text(self) -> str:
        """A short human-readable report."""
        m = self.metrics
        lines = [
            f"model {self.model_id} v{self.version}  label={self.label}  trees={self.num_boost_round}",
            f"rows: train {self.n_train} (bad {self.bad_rate_train:.1%}), "
            f"holdout {self.n_holdout} (bad {self.bad_rate_holdout:.1%})",
            f"holdout: AUC {m.auc:.4f}  KS {m.ks:.4f}  Gini {m.gini:.4f}   (train AUC {self.train_auc:.4f})",
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
) -> tuple[ModelArtifact, TrainingReport]:
    """Train a ``binary:logistic`` XGBoost PD model and package it with its metadata.

    The frame is split stratified on the label (``train_test_split(stratify=y,
    random_state=seed)``); ``holdout`` is the holdout share. Missing feature values (NaN) are
    allowed and learned by XGBoost's default directions. Features named in ``categorical`` are
    coded by training bad rate (see the module doc). ``params`` override
    :data:`DEFAULT_PARAMS`; ``num_boost_round`` / ``n_estimators`` in it set the number of trees.
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
    )
    return ModelArtifact(metadata, model_json), report
