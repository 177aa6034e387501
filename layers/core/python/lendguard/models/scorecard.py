"""Scorecards: characteristics (features) cut into bins, each bin worth a number of points.

A :class:`Scorecard` is the readable, editable form an analyst keeps in the policy::

    scorecard:
      intercept_points: 512        # every applicant starts here
      features:
        - name: duration_in_month
          type: numeric
          bins:                    # [lower, upper): lower inclusive, upper exclusive
            - {upper: 12, points: 38}
            - {lower: 12, upper: 24, points: 12}
            - {lower: 24, points: -20}
          missing_points: -20      # the value is absent
        - name: housing
          type: categorical
          bins:
            - {values: [own], points: 21}
            - {values: [rent, for free], points: -9}
          other_points: -9         # a category listed in no bin
          missing_points: -9

The score is ``intercept_points + Σ points of the bin each feature falls in``. **Higher points
mean lower risk**, on the policy's :class:`~lendguard.models.points.PointsScale` (so
``PD = scale.to_pd(points)``). Numeric bins must cover the whole line without gaps or overlaps,
in ascending order; categories are compared as text (:func:`~lendguard.models.encoding.category_key`).

:class:`ScorecardDocument` is what training stores as a scorecard model's ``model.json``: the
card plus the statistics behind it (bins with counts and WOE, the logistic coefficients).

Standard library and pydantic only: safe for the online scoring Lambda.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from lendguard.core.base_model import Model
from lendguard.models.encoding import category_key, is_missing

__all__ = [
    "MISSING_BIN",
    "OTHER_BIN",
    "Scorecard",
    "ScorecardBin",
    "ScorecardDocument",
    "ScorecardFeature",
    "ScorecardLine",
    "ScorecardResult",
    "TrainedBin",
    "TrainedFeature",
]

MISSING_BIN = "missing"
"""Bin label recorded when the feature's value is missing."""
OTHER_BIN = "other"
"""Bin label recorded when a categorical value is listed in no bin."""

_FROZEN = ConfigDict(frozen=True, extra="forbid")
FeatureName = str
_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.\-]{0,127}$"


def _fmt(x: float) -> str:
    return f"{x:g}"


class ScorecardBin(Model):
    """One bin (attribute) of a feature and its points.

    Numeric features use ``lower`` (inclusive; absent = −∞) and ``upper`` (exclusive; absent =
    +∞); categorical features use ``values``.
    """

    model_config = _FROZEN

    lower: float | None = Field(default=None, allow_inf_nan=False)
    upper: float | None = Field(default=None, allow_inf_nan=False)
    values: list[str] | None = Field(default=None, min_length=1)
    points: float = Field(allow_inf_nan=False)

    @field_validator("values", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        # YAML gives numbers and booleans for categories like 3 or yes; compare them as text.
        if isinstance(value, list | tuple):
            return [category_key(v) if not isinstance(v, str) else v for v in value]
        return value

    def label(self) -> str:
        """``"[12, 24)"``, ``"< 12"``, ``">= 24"``, ``"own"``, ``"rent | for free"``."""
        if self.values is not None:
            return " | ".join(self.values)
        if self.lower is None and self.upper is None:
            return "all"
        if self.lower is None:
            return f"< {_fmt(self.upper)}"  # type: ignore[arg-type]
        if self.upper is None:
            return f">= {_fmt(self.lower)}"
        return f"[{_fmt(self.lower)}, {_fmt(self.upper)})"


class ScorecardFeature(Model):
    """A characteristic: the fact it reads, its bins and the points for missing / unlisted values."""

    model_config = _FROZEN

    name: FeatureName = Field(pattern=_NAME_PATTERN, description="Fact read, e.g. features.dti")
    type: Literal["numeric", "categorical"]
    bins: list[ScorecardBin] = Field(min_length=1)
    missing_points: float = Field(allow_inf_nan=False, description="Points when the value is missing")
    other_points: float | None = Field(
        default=None, allow_inf_nan=False, description="Categorical only: a value listed in no bin"
    )

    @model_validator(mode="after")
    def _check(self) -> ScorecardFeature:
        where = f"scorecard feature {self.name}"
        if self.type == "numeric":
            if any(b.values is not None for b in self.bins):
                raise ValueError(f"{where}: numeric bins take lower / upper, not values")
            if self.other_points is not None:
                raise ValueError(f"{where}: other_points only applies to categorical features")
            if self.bins[0].lower is not None:
                raise ValueError(f"{where}: the first bin must have no lower edge (it starts at -inf)")
            if self.bins[-1].upper is not None:
                raise ValueError(f"{where}: the last bin must have no upper edge (it runs to +inf)")
            for i, (a, b) in enumerate(zip(self.bins, self.bins[1:], strict=False)):
                if a.upper is None or b.lower is None or a.upper != b.lower:
                    raise ValueError(
                        f"{where}: bin {i + 1} must start where bin {i} ends "
                        f"(upper {a.upper} vs lower {b.lower}): bins are ascending, no gaps or overlaps"
                    )
                if b.upper is not None and not b.lower < b.upper:
                    raise ValueError(f"{where}: bin {i + 1} has lower >= upper")
        else:
            if any(b.values is None or b.lower is not None or b.upper is not None for b in self.bins):
                raise ValueError(f"{where}: categorical bins take values, not lower / upper")
            if self.other_points is None:
                raise ValueError(f"{where}: categorical features need other_points (values listed in no bin)")
            seen: set[str] = set()
            for b in self.bins:
                for v in b.values or ():
                    if v in seen:
                        raise ValueError(f"{where}: value {v!r} is listed in two bins")
                    seen.add(v)
        return self

    @cached_property
    def _plan(self) -> tuple[tuple[float, ...], dict[str, int], tuple[str, ...], tuple[float, ...]]:
        """Plain tuples and a dict for the hot path (pydantic attribute access costs µs per read)."""
        uppers = tuple(b.upper for b in self.bins[:-1]) if self.type == "numeric" else ()
        lookup = {v: i for i, b in enumerate(self.bins) for v in b.values or ()}
        return uppers, lookup, tuple(b.label() for b in self.bins), tuple(b.points for b in self.bins)  # type: ignore[return-value]

    @cached_property
    def best_points(self) -> float:
        """The most points any bin gives (the reference for "points below the best bin")."""
        return max(b.points for b in self.bins)

    def locate(self, value: Any) -> tuple[int | None, str, float]:
        """(bin index or ``None``, bin label, points) for one value.

        ``None`` index with label :data:`MISSING_BIN` / :data:`OTHER_BIN` for a missing value /
        a category in no bin. Raises ``TypeError`` naming the feature for a value of the wrong kind.
        """
        if is_missing(value):
            return None, MISSING_BIN, self.missing_points
        uppers, lookup, labels, points = self._plan
        if self.type == "numeric":
            if isinstance(value, str) or not isinstance(value, int | float):
                raise TypeError(f"scorecard feature {self.name}: value {value!r} is not numeric")
            i = 0
            for upper in uppers:  # a handful of bins: a scan beats bisect's call overhead
                if value < upper:
                    break
                i += 1
            return i, labels[i], points[i]
        j = lookup.get(category_key(value))
        if j is None:
            return None, OTHER_BIN, self.other_points  # type: ignore[return-value]
        return j, labels[j], points[j]


@dataclass(frozen=True)
class ScorecardLine:
    """How one feature scored: its value, bin, points and the best bin's points."""

    feature: str
    value: Any
    bin: str
    points: float
    best_points: float

    @property
    def missing(self) -> bool:
        """The value was missing."""
        return is_missing(self.value)

    @property
    def shortfall(self) -> float:
        """Points below the feature's best bin (≥ 0): what the reason codes rank."""
        return max(0.0, self.best_points - self.points)


@dataclass(frozen=True)
class ScorecardResult:
    """A card's total points and the line of each feature."""

    points: float
    intercept_points: float
    lines: tuple[ScorecardLine, ...]


class Scorecard(Model):
    """A points scorecard: ``intercept_points`` plus one bin's points per feature."""

    model_config = _FROZEN

    intercept_points: float = Field(default=0.0, allow_inf_nan=False)
    features: list[ScorecardFeature] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Scorecard:
        names = [f.name for f in self.features]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"scorecard features listed twice: {dupes}")
        return self

    @property
    def feature_names(self) -> list[str]:
        """The facts the card reads, in card order."""
        return [f.name for f in self.features]

    @property
    def points_range(self) -> tuple[float, float]:
        """The lowest and highest total the card can give."""
        lo = hi = self.intercept_points
        for f in self.features:
            pts = [b.points for b in f.bins] + [f.missing_points]
            if f.other_points is not None:
                pts.append(f.other_points)
            lo += min(pts)
            hi += max(pts)
        return lo, hi

    def evaluate(self, values: Mapping[str, Any]) -> ScorecardResult:
        """Score ``{feature name: value}`` (absent keys are missing)."""
        lines = []
        total = self.intercept_points
        get = values.get
        for f in self.features:
            value = get(f.name)
            _, label, points = f.locate(value)
            total += points
            lines.append(ScorecardLine(f.name, value, label, points, f.best_points))
        return ScorecardResult(points=total, intercept_points=self.intercept_points, lines=tuple(lines))

    def points(self, values: Mapping[str, Any]) -> float:
        """Total points only."""
        return self.evaluate(values).points


# ---------------------------------------------------------------------------------------- stored


class TrainedBin(Model):
    """A bin as training saw it: rows, goods, bads, WOE (ln(%bad / %good)) and its points."""

    model_config = _FROZEN

    label: str
    n: int = Field(ge=0)
    good: int = Field(ge=0)
    bad: int = Field(ge=0)
    woe: float
    points: float


class TrainedFeature(Model):
    """One feature of a trained scorecard: IV, logistic coefficient and bins with statistics.

    ``missing`` is the bin of missing values when training had enough of them for their own bin;
    otherwise missing (and, for categories, unseen) values get the riskiest bin's points.
    """

    model_config = _FROZEN

    name: str
    type: Literal["numeric", "categorical"]
    iv: float
    coefficient: float
    direction: Literal["increasing", "decreasing", "categorical"]
    bins: list[TrainedBin]
    missing: TrainedBin | None = None


class ScorecardDocument(Model):
    """A scorecard model's ``model.json``: the card and how it was derived.

    ``intercept`` and each feature's ``coefficient`` are the logistic regression of the bad
    flag on the features' WOE values; with ``factor = pdo / ln 2`` and ``offset`` of the points
    scale, ``intercept_points = offset − factor · intercept`` and a bin's points are
    ``−factor · coefficient · WOE`` (then rounded).
    """

    model_config = _FROZEN

    format: Literal["lendguard-scorecard"] = "lendguard-scorecard"
    format_version: Literal[1] = 1
    card: Scorecard
    intercept: float
    features: list[TrainedFeature]
    rejected: dict[str, str] = Field(
        default_factory=dict, description="Candidate features left out, with the reason"
    )

    @model_validator(mode="after")
    def _match(self) -> ScorecardDocument:
        if [f.name for f in self.features] != self.card.feature_names:
            raise ValueError("scorecard document: features differ from the card's")
        return self
