"""Probability of default (PD) ↔ credit-score points, standard scorecard scaling.

Convention: **higher points = lower risk.** Odds are good:bad, ``odds = (1 - pd) / pd``;
``factor = pdo / ln 2`` and ``offset = base_points - factor * ln(base_odds)``, so

    points = offset + factor * ln(odds)

``base_points`` are scored at ``base_odds`` (e.g. 600 points at 50:1) and every ``pdo`` points
double the odds (620 points at 100:1 with ``pdo = 20``). PD is clamped into
``[1e-9, 1 - 1e-9]`` so that 0 and 1 map to finite points.

Standard library and pydantic only: safe for the online scoring Lambda.
"""

from __future__ import annotations

import math

from pydantic import ConfigDict, Field

from lendguard.core.base_model import Model

__all__ = ["LOG_ODDS_MAX", "LOG_ODDS_MIN", "PD_MAX", "PD_MIN", "PointsScale", "pd_to_points", "points_to_pd"]

PD_MIN = 1e-9
PD_MAX = 1.0 - 1e-9
LOG_ODDS_MIN = math.log((1.0 - PD_MAX) / PD_MAX)  # ln(good/bad) at the clamped PDs
LOG_ODDS_MAX = math.log((1.0 - PD_MIN) / PD_MIN)


def _clamp_pd(pd: float) -> float:
    if pd != pd:  # NaN
        raise ValueError("pd is NaN")
    return min(max(float(pd), PD_MIN), PD_MAX)


def _check_scale(base_odds: float, pdo: float) -> None:
    if not base_odds > 0:
        raise ValueError(f"base_odds must be > 0, got {base_odds!r}")
    if not pdo > 0:
        raise ValueError(f"pdo must be > 0, got {pdo!r}")


def pd_to_points(pd: float, base_points: float = 600.0, base_odds: float = 50.0, pdo: float = 20.0) -> float:
    """Points for a probability of default (higher points = lower risk).

    ``pd`` is clamped into ``[1e-9, 1 - 1e-9]``; ``base_points`` are awarded at good:bad odds of
    ``base_odds``, and every ``pdo`` points double the odds.
    """
    _check_scale(base_odds, pdo)
    p = _clamp_pd(pd)
    factor = pdo / math.log(2.0)
    offset = base_points - factor * math.log(base_odds)
    return offset + factor * math.log((1.0 - p) / p)


def points_to_pd(
    points: float, base_points: float = 600.0, base_odds: float = 50.0, pdo: float = 20.0
) -> float:
    """Probability of default for a number of points (inverse of :func:`pd_to_points`).

    The result lies in ``[1e-9, 1 - 1e-9]``, the range :func:`pd_to_points` clamps to.
    """
    _check_scale(base_odds, pdo)
    factor = pdo / math.log(2.0)
    offset = base_points - factor * math.log(base_odds)
    log_odds = (points - offset) / factor  # ln(good/bad)
    if log_odds >= 0:
        e = math.exp(-log_odds)
        pd = e / (1.0 + e)
    else:
        pd = 1.0 / (1.0 + math.exp(log_odds))
    return min(max(pd, PD_MIN), PD_MAX)


class PointsScale(Model):
    """A scorecard scaling: ``base_points`` at good:bad odds ``base_odds``; ``pdo`` points double the odds.

    Higher points = lower risk.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_points: float = 600.0
    base_odds: float = Field(default=50.0, gt=0)
    pdo: float = Field(default=20.0, gt=0)

    @property
    def factor(self) -> float:
        """Points per unit of ln(odds): ``pdo / ln 2``."""
        return self.pdo / math.log(2.0)

    @property
    def offset(self) -> float:
        """Points at odds 1:1: ``base_points - factor * ln(base_odds)``."""
        return self.base_points - self.factor * math.log(self.base_odds)

    def to_points(self, pd: float) -> float:
        """Points for a probability of default."""
        return pd_to_points(pd, self.base_points, self.base_odds, self.pdo)

    def to_pd(self, points: float) -> float:
        """Probability of default for a number of points."""
        return points_to_pd(points, self.base_points, self.base_odds, self.pdo)

    def convert(self, points: float, to: PointsScale) -> float:
        """The same odds on another scale: ``points`` of this scale as points of ``to``.

        Exact and linear (points are affine in ln(odds)), without a round trip through a clamped PD.
        """
        return to.offset + to.factor * (points - self.offset) / self.factor

    def describe(self) -> str:
        """``600 points at 50:1, PDO 20``."""
        return f"{self.base_points:g} points at {self.base_odds:g}:1, PDO {self.pdo:g}"

    def margin_to_points(self, margin: float) -> float:
        """Points for a model margin (log-odds of *bad*, as XGBoost's ``binary:logistic`` outputs).

        Equal to ``to_points(sigmoid(margin))`` but without the round trip through a probability
        (ln(good/bad) = -margin), still clamped like :func:`pd_to_points`.
        """
        log_odds = min(max(-margin, LOG_ODDS_MIN), LOG_ODDS_MAX)
        return self.offset + self.factor * log_odds
