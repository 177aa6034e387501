"""Offline training of XGBoost probability-of-default models (never imported online).

``train_xgboost`` splits a labelled frame (stratified, seeded), fits a ``binary:logistic``
booster with conservative defaults for small tabular credit data, measures the holdout
AUC / KS / Gini, records the score and feature distributions for drift monitoring, and returns a
:class:`~lendguard.models.artifact.ModelArtifact` plus a :class:`TrainingReport`.

Conventions: label 1 = bad (default), 0 = good; the model predicts PD. Training is deterministic:
the same frame, parameters and seed give byte-identical ``model.json`` and identical metrics.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from pydantic import BaseModel, ConfigDict, Field
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from lendguard.models.artifact import (
    Baseline,
    BinnedDistribution,
    FeatureSpec,
    HoldoutMetrics,
    ModelArtifact,
    ModelMetadata,
)
from lendguard.models.points import LOG_ODDS_MAX, LOG_ODDS_MIN, PointsScale

__all__ = ["DEFAULT_NUM_BOOST_ROUND", "DEFAULT_PARAMS", "TrainingReport", "ks_statistic", "train_xgboost"]

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

    Tied scores are treated as one threshold, so the result does not depend on row order.
    """
    y = np.asarray(y_true).astype(bool).ravel()
    s = np.asarray(score, dtype=np.float64).ravel()
    n_bad = int(y.sum())
    n_good = y.size - n_bad
    if n_bad == 0 or n_good == 0:
        raise ValueError("KS needs both classes")
    order = np.argsort(s, kind="mergesort")
    s_sorted = s[order]
    cum_bad = np.cumsum(y[order]) / n_bad
    cum_good = np.cumsum(~y[order]) / n_good
    last_of_tie = np.r_[s_sorted[1:] != s_sorted[:-1], True]
    return float(np.max(np.abs(cum_bad - cum_good)[last_of_tie]))


def _data_sha256(frame: pd.DataFrame, columns: list[str]) -> str:
    body = frame[columns].to_csv(index=False, lineterminator="\n").encode("utf-8")
    return hashlib.sha256(body).hexdigest()


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


def _check_frame(frame: pd.DataFrame, label: str, features: list[str]) -> tuple[np.ndarray, np.ndarray]:
    if not features:
        raise ValueError("no features")
    if len(set(features)) != len(features):
        raise ValueError("duplicate feature names")
    if label in features:
        raise ValueError(f"label {label!r} is also a feature")
    absent = [c for c in [*features, label] if c not in frame.columns]
    if absent:
        raise ValueError(f"columns not in the frame: {absent}")
    non_numeric = [
        c
        for c in features
        if not (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))
    ]
    if non_numeric:
        raise ValueError(f"features must be numeric (encode categories first): {non_numeric}")
    y_raw = frame[label]
    if y_raw.isna().any():
        raise ValueError(f"label {label!r} has missing values")
    if not set(pd.unique(y_raw.astype(float))) <= {0.0, 1.0}:
        raise ValueError(f"label {label!r} must be 0 (good) / 1 (bad)")
    y = y_raw.astype(np.int64).to_numpy()
    if min(int(y.sum()), int(y.size - y.sum())) < 2:
        raise ValueError("need at least two goods and two bads")
    x = frame[features].astype(np.float64).to_numpy()
    return x, y


def train_xgboost(
    frame: pd.DataFrame,
    label: str,
    features: list[str],
    *,
    model_id: str,
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
    allowed and learned by XGBoost's default directions. ``params`` override
    :data:`DEFAULT_PARAMS`; ``num_boost_round`` / ``n_estimators`` in it set the number of trees.
    ``trained_at`` defaults to now (UTC); everything else in the result is a function of the
    inputs.
    """
    if not 0.0 < holdout < 1.0:
        raise ValueError("holdout must be strictly between 0 and 1")
    scale = scale or PointsScale()
    features = list(features)
    x, y = _check_frame(frame, label, features)
    xgb_params, rounds = _resolve_params(params, seed)

    idx_train, idx_holdout = train_test_split(
        np.arange(len(y)), test_size=holdout, stratify=y, random_state=seed
    )
    x_train, y_train = x[idx_train], y[idx_train]
    x_hold, y_hold = x[idx_holdout], y[idx_holdout]
    dtrain = xgb.DMatrix(x_train, label=y_train, feature_names=features, nthread=xgb_params.get("nthread"))
    booster = xgb.train(xgb_params, dtrain, num_boost_round=rounds)
    model_json = bytes(booster.save_raw("json"))

    p_train = booster.inplace_predict(x_train)
    p_hold = booster.inplace_predict(x_hold)
    auc = float(roc_auc_score(y_hold, p_hold))
    metrics = HoldoutMetrics(auc=auc, ks=ks_statistic(y_hold, p_hold), gini=2.0 * auc - 1.0)

    margin_all = booster.inplace_predict(x, predict_type="margin")
    baseline = Baseline(
        sample="all",
        n=len(y),
        score_scale="points",
        score=BinnedDistribution.from_values(_margin_to_points(np.asarray(margin_all), scale), 10),
        features={name: BinnedDistribution.from_values(x[:, i], 10) for i, name in enumerate(features)},
    )
    data_sha256 = _data_sha256(frame, [*features, label])
    metadata = ModelMetadata(
        model_id=model_id,
        version=version,
        features=[FeatureSpec(name=name) for name in features],
        label=label,
        trained_at=trained_at or datetime.now(UTC),
        data_sha256=data_sha256,
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
        train_auc=float(roc_auc_score(y_train, p_train)),
        metrics=metrics,
        importance_gain=dict(sorted(importances.items(), key=lambda kv: (-kv[1], kv[0]))),
        data_sha256=data_sha256,
    )
    return ModelArtifact(metadata, model_json), report
