"""Offline training of logistic points scorecards (never imported online).

``train_scorecard`` splits a labelled frame exactly as :func:`~lendguard.offline.training.xgb.train_xgboost`
does (stratified, seeded), then on the training part only:

1. bins every candidate feature monotonically (:mod:`lendguard.offline.training.binning`) and computes
   WOE (ln(%bad / %good), positive = riskier) and IV;
2. keeps the features with IV ≥ ``min_iv``;
3. fits a logistic regression of the bad flag on the features' WOE values; with this WOE sign
   every coefficient should be positive (a riskier bin raises the PD). A feature with a
   coefficient ≤ 0 contradicts its own binning (it is collinear with others) and would give
   points that reward risk, so the most negative one is dropped and the model refitted until
   all are positive;
4. turns the fit into points on the :class:`~lendguard.models.points.PointsScale`:
   ``intercept_points = offset − factor · b0`` and a bin's points ``−factor · b_j · WOE``, rounded
   to ``points_digits`` decimals. Missing values without their own bin and categories unseen in
   training get the feature's lowest points.

The holdout metrics are measured on the **rounded card**, as it will score online. The result is
a :class:`~lendguard.models.artifact.ModelArtifact` of kind ``scorecard`` whose ``model.json`` is a
:class:`~lendguard.models.scorecard.ScorecardDocument`.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ConfigDict

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
from lendguard.models.points import PointsScale
from lendguard.models.scorecard import (
    Scorecard,
    ScorecardBin,
    ScorecardDocument,
    ScorecardFeature,
    TrainedBin,
    TrainedFeature,
)
from lendguard.offline.evaluation.metrics import ZERO_COUNT, auc, ks
from lendguard.offline.training.binning import FeatureBinning, bin_categorical, bin_numeric
from lendguard.offline.training.xgb import check_labelled_frame, data_sha256, stratified_split

__all__ = ["DEFAULT_SCORECARD_PARAMS", "ScorecardReport", "train_scorecard"]

DEFAULT_SCORECARD_PARAMS: dict[str, Any] = {
    "max_bins": 6,
    "init_bins": 20,
    "min_bin_share": 0.05,
    "min_iv": 0.02,
    "points_digits": 0,
    "C": 1e6,
    "zero_count": ZERO_COUNT,
}
"""``C`` is the inverse L2 penalty of the logistic regression: 1e6 is practically unpenalised, so
the points follow the data rather than the penalty (binning already regularises the model)."""


class ScorecardReport(Model):
    """What scorecard training produced: IVs, selection, coefficients, holdout metrics and the card."""

    model_config = ConfigDict(frozen=True, protected_namespaces=())

    model_id: str
    version: int
    label: str
    n_train: int
    n_holdout: int
    bad_rate_train: float
    bad_rate_holdout: float
    iv: dict[str, float]
    selected: list[str]
    rejected: dict[str, str]
    coefficients: dict[str, float]
    intercept: float
    train_auc: float
    metrics: HoldoutMetrics
    data_sha256: str
    card: Scorecard

    def to_text(self) -> str:
        """A short human-readable report, the card included."""
        m = self.metrics
        lo, hi = self.card.points_range
        lines = [
            f"scorecard {self.model_id} v{self.version}  label={self.label}  features={len(self.selected)}",
            f"rows: train {self.n_train} (bad {self.bad_rate_train:.1%}), "
            f"holdout {self.n_holdout} (bad {self.bad_rate_holdout:.1%})",
            f"holdout: AUC {m.auc:.4f}  KS {m.ks:.4f}  Gini {m.gini:.4f}   (train AUC {self.train_auc:.4f})",
            f"data sha256 {self.data_sha256[:16]}…",
            f"points: intercept {self.card.intercept_points:g}, total range {lo:g} … {hi:g}",
            "information value (train) and coefficient:",
        ]
        width = max((len(n) for n in self.iv), default=0)
        for name, iv in self.iv.items():
            tail = (
                f"coef {self.coefficients[name]:+.4f}"
                if name in self.coefficients
                else self.rejected.get(name, "")
            )
            lines.append(f"  {name:<{width}}  IV {iv:7.4f}  {tail}")
        lines.append("card:")
        for f in self.card.features:
            lines.append(f"  {f.name}")
            for b in f.bins:
                lines.append(f"    {b.label():<50} {b.points:>8g}")
            lines.append(f"    {'(missing)':<50} {f.missing_points:>8g}")
            if f.other_points is not None:
                lines.append(f"    {'(other)':<50} {f.other_points:>8g}")
        return "\n".join(lines)


def _fit_logistic(x: np.ndarray, y: np.ndarray, c: float, seed: int) -> tuple[float, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, solver="lbfgs", max_iter=5000, tol=1e-10, random_state=seed)
    model.fit(x, y)
    return float(model.intercept_[0]), model.coef_[0].astype(np.float64)


def _round(x: float, digits: int) -> float:
    r = round(float(x), digits)
    return r + 0.0  # no -0.0 in the card


def _card_feature(
    b: FeatureBinning, coef: float, factor: float, digits: int
) -> tuple[ScorecardFeature, TrainedFeature]:
    points = [_round(-factor * coef * x.woe, digits) for x in b.bins]
    worst = min(points)
    missing_points = _round(-factor * coef * b.missing.woe, digits) if b.missing is not None else worst
    if b.type == "numeric":
        bins = [
            ScorecardBin(lower=x.lower, upper=x.upper, points=p) for x, p in zip(b.bins, points, strict=True)
        ]
        feature = ScorecardFeature(name=b.name, type="numeric", bins=bins, missing_points=missing_points)
    else:
        bins = [ScorecardBin(values=x.values, points=p) for x, p in zip(b.bins, points, strict=True)]
        feature = ScorecardFeature(
            name=b.name, type="categorical", bins=bins, missing_points=missing_points, other_points=worst
        )
    trained = TrainedFeature(
        name=b.name,
        type=b.type,
        iv=b.iv,
        coefficient=coef,
        direction=b.direction,
        bins=[
            TrainedBin(label=x.label(), n=x.n, good=x.good, bad=x.bad, woe=x.woe, points=p)
            for x, p in zip(b.bins, points, strict=True)
        ],
        missing=None
        if b.missing is None
        else TrainedBin(
            label="missing", n=b.missing.n, good=b.missing.good, bad=b.missing.bad, woe=b.missing.woe,
            points=missing_points,
        ),
    )  # fmt: skip
    return feature, trained


def _records(frame: pd.DataFrame, features: list[str]) -> list[dict[str, Any]]:
    """Rows as plain dicts (NaN kept as NaN: the card treats it as missing)."""
    return frame[features].to_dict(orient="records")


def train_scorecard(
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
) -> tuple[ModelArtifact, ScorecardReport]:
    """Train a logistic points scorecard; see the module doc for the method.

    ``label`` must be 0 (good) / 1 (bad). Features named in ``categorical`` (and any non-numeric
    column) are binned as categories; the rest as numbers (NaN = missing). ``params`` override
    :data:`DEFAULT_SCORECARD_PARAMS`. The split is the same as for XGBoost with the same seed.
    """
    if not 0.0 < holdout < 1.0:
        raise ValueError("holdout must be strictly between 0 and 1")
    unknown = set(params or {}) - set(DEFAULT_SCORECARD_PARAMS)
    if unknown:
        raise ValueError(
            f"unknown scorecard parameters {sorted(unknown)}; known: {sorted(DEFAULT_SCORECARD_PARAMS)}"
        )
    p = {**DEFAULT_SCORECARD_PARAMS, **(params or {})}
    scale = scale or PointsScale()
    features = list(features)
    y, kinds = check_labelled_frame(frame, label, features, categorical)
    idx_train, idx_hold = stratified_split(y, holdout, seed)
    train = frame.iloc[idx_train]
    y_train, y_hold = y[idx_train], y[idx_hold]

    binnings: dict[str, FeatureBinning] = {}
    for name in features:
        column = train[name].to_numpy()
        if kinds[name] == "category":
            binnings[name] = bin_categorical(
                name, column, y_train, max_bins=p["max_bins"], min_bin_share=p["min_bin_share"],
                zero_count=p["zero_count"],
            )  # fmt: skip
        else:
            binnings[name] = bin_numeric(
                name, column, y_train, max_bins=p["max_bins"], init_bins=p["init_bins"],
                min_bin_share=p["min_bin_share"], zero_count=p["zero_count"],
            )  # fmt: skip
    iv = dict(sorted(((n, b.iv) for n, b in binnings.items()), key=lambda kv: (-kv[1], kv[0])))
    rejected = {n: f"IV {v:.4f} below min_iv {p['min_iv']:g}" for n, v in iv.items() if v < p["min_iv"]}
    selected = [n for n in iv if n not in rejected]
    if not selected:
        raise ValueError(f"no feature has IV >= {p['min_iv']:g}: nothing to build a scorecard from")
    woe_train = {n: binnings[n].woe_values(train[n].to_numpy()) for n in selected}
    while True:
        x = np.column_stack([woe_train[n] for n in selected])
        intercept, coefs = _fit_logistic(x, y_train, p["C"], seed)
        worst = int(np.argmin(coefs))
        if coefs[worst] > 0 or len(selected) == 1:
            break
        rejected[selected[worst]] = f"coefficient {coefs[worst]:+.4f} <= 0 with the other features"
        selected.pop(worst)
    if coefs[0] <= 0:
        raise ValueError("the only remaining feature has a non-positive coefficient: no usable scorecard")
    order = [n for n in iv if n in selected]  # card lists the strongest feature first
    coef_by = dict(zip(selected, (float(c) for c in coefs), strict=True))
    factor, digits = scale.factor, int(p["points_digits"])
    card_features, trained_features = [], []
    for name in order:
        f, t = _card_feature(binnings[name], coef_by[name], factor, digits)
        card_features.append(f)
        trained_features.append(t)
    card = Scorecard(
        intercept_points=_round(scale.offset - factor * intercept, digits), features=card_features
    )
    document = ScorecardDocument(card=card, intercept=intercept, features=trained_features, rejected=rejected)
    model_json = document.model_dump_json(indent=1).encode("utf-8")

    points_all = np.asarray([card.points(r) for r in _records(frame, order)], dtype=np.float64)
    pd_all = np.asarray([scale.to_pd(v) for v in points_all])
    p_hold, p_train = pd_all[idx_hold], pd_all[idx_train]
    a = auc(y_hold, p_hold)
    metrics = HoldoutMetrics(auc=a, ks=ks(y_hold, p_hold), gini=2.0 * a - 1.0)
    baseline = Baseline(
        sample="all",
        n=len(y),
        score_scale="points",
        score=BinnedDistribution.from_values(points_all, 10),
        features={
            n: CategoricalDistribution.from_values(frame[n].tolist())
            if kinds[n] == "category"
            else BinnedDistribution.from_values(frame[n].astype(np.float64).to_numpy(), 10)
            for n in order
        },
    )
    specs = [
        FeatureSpec(name=n, type="category", categories=binnings[n].categories)
        if kinds[n] == "category"
        else FeatureSpec(name=n)
        for n in order
    ]
    digest = data_sha256(frame, [*features, label])
    metadata = ModelMetadata(
        model_id=model_id,
        version=version,
        kind="scorecard",
        features=specs,
        label=label,
        trained_at=trained_at or datetime.now(UTC),
        data_sha256=digest,
        model_sha256=hashlib.sha256(model_json).hexdigest(),
        n_train=len(idx_train),
        n_holdout=len(idx_hold),
        metrics=metrics,
        params={**p, "candidates": features},
        seed=seed,
        scale=scale,
        baseline=baseline,
    )
    report = ScorecardReport(
        model_id=model_id,
        version=version,
        label=label,
        n_train=len(idx_train),
        n_holdout=len(idx_hold),
        bad_rate_train=float(y_train.mean()),
        bad_rate_holdout=float(y_hold.mean()),
        iv=iv,
        selected=order,
        rejected=rejected,
        coefficients={n: coef_by[n] for n in order},
        intercept=intercept,
        train_auc=auc(y_train, p_train),
        metrics=metrics,
        data_sha256=digest,
        card=card,
    )
    return ModelArtifact(metadata, model_json), report
