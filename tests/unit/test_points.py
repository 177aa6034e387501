"""PD ↔ points scaling."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from lendguard.models.points import PD_MAX, PD_MIN, PointsScale, pd_to_points, points_to_pd


def _pd_at_odds(odds: float) -> float:
    return 1.0 / (1.0 + odds)  # good:bad = odds  ⇔  pd = 1 / (1 + odds)


def test_textbook_values() -> None:
    assert pd_to_points(_pd_at_odds(50)) == pytest.approx(600.0)
    assert pd_to_points(_pd_at_odds(100)) == pytest.approx(620.0)
    assert pd_to_points(_pd_at_odds(25)) == pytest.approx(580.0)
    assert pd_to_points(_pd_at_odds(1)) == pytest.approx(600 - 20 * math.log2(50))
    scale = PointsScale()
    assert scale.factor == pytest.approx(20 / math.log(2))
    assert scale.offset == pytest.approx(600 - 20 / math.log(2) * math.log(50))
    assert points_to_pd(600) == pytest.approx(1 / 51)
    assert points_to_pd(620) == pytest.approx(1 / 101)


def test_custom_scale() -> None:
    assert pd_to_points(_pd_at_odds(20), base_points=500, base_odds=20, pdo=50) == pytest.approx(500)
    assert pd_to_points(_pd_at_odds(40), base_points=500, base_odds=20, pdo=50) == pytest.approx(550)
    scale = PointsScale(base_points=500, base_odds=20, pdo=50)
    assert scale.to_points(_pd_at_odds(80)) == pytest.approx(600)
    assert scale.to_pd(600) == pytest.approx(_pd_at_odds(80))


def test_higher_points_mean_lower_risk() -> None:
    pds = [1e-6, 0.001, 0.01, 0.05, 0.1, 0.3, 0.5, 0.9, 0.999]
    points = [pd_to_points(p) for p in pds]
    assert points == sorted(points, reverse=True)
    assert len(set(points)) == len(points)


def test_clamping() -> None:
    scale = PointsScale()
    assert scale.margin_to_points(50.0) == pd_to_points(1.0)
    assert scale.margin_to_points(-50.0) == pd_to_points(0.0)
    assert pd_to_points(0.0) == pd_to_points(PD_MIN) == pd_to_points(-1.0)
    assert pd_to_points(1.0) == pd_to_points(PD_MAX) == pd_to_points(2.0)
    assert math.isfinite(pd_to_points(0.0)) and math.isfinite(pd_to_points(1.0))
    assert points_to_pd(1e9) == PD_MIN
    assert points_to_pd(-1e9) == PD_MAX
    with pytest.raises(ValueError, match="NaN"):
        pd_to_points(float("nan"))


@pytest.mark.parametrize(("base_odds", "pdo"), [(0, 20), (-5, 20), (50, 0), (50, -20)])
def test_invalid_scale(base_odds: float, pdo: float) -> None:
    with pytest.raises(ValidationError):
        PointsScale(base_points=600, base_odds=base_odds, pdo=pdo)
    with pytest.raises(ValueError):
        pd_to_points(0.1, 600, base_odds, pdo)
    with pytest.raises(ValueError):
        points_to_pd(600, 600, base_odds, pdo)


def test_scale_is_a_frozen_serialisable_model() -> None:
    scale = PointsScale(base_points=650, base_odds=30, pdo=40)
    assert PointsScale.model_validate_json(scale.model_dump_json()) == scale
    with pytest.raises(ValidationError):
        scale.pdo = 10  # type: ignore[misc]
    with pytest.raises(ValidationError):
        PointsScale(base_points=600, base_odds=50, pdo=20, extra=1)  # type: ignore[call-arg]


@given(st.floats(min_value=1e-8, max_value=1 - 1e-8))
def test_round_trip_pd(pd: float) -> None:
    assert points_to_pd(pd_to_points(pd)) == pytest.approx(pd, rel=1e-7, abs=1e-12)


@given(st.floats(min_value=0.0, max_value=1050.0))  # inside the clamped PD range (~ -111 … 1085)
def test_round_trip_points(points: float) -> None:
    assert pd_to_points(points_to_pd(points)) == pytest.approx(points, abs=1e-6)


@given(st.floats(min_value=1e-9, max_value=1.0), st.floats(min_value=0.0, max_value=1.0))
def test_monotonic(a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    assert pd_to_points(lo) >= pd_to_points(hi)


@given(st.floats(min_value=-30, max_value=30))
def test_margin_to_points_matches_probability_path(margin: float) -> None:
    scale = PointsScale()
    pd = 1.0 / (1.0 + math.exp(-margin))
    # 1 - pd loses digits as pd → 1, hence the tolerance
    assert scale.margin_to_points(margin) == pytest.approx(scale.to_points(pd), abs=1e-4)
