"""A trained model as stored on disk or in S3: ``model.json`` + ``metadata.json``.

``model.json`` is XGBoost's own JSON for ``kind: xgboost`` and a
:class:`~lendguard.models.scorecard.ScorecardDocument` for ``kind: scorecard``.

The metadata records what is needed to use, audit and monitor the model: its features, the
label, when and on which data (sha256) it was trained, holdout metrics, training parameters,
the points scale, and the score / feature distributions of the modelling sample that the daily
monitoring job compares against (PSI).

Standard library, pydantic and the light evaluator only (numpy lazily for
:meth:`BinnedDistribution.shares`): safe for the online scoring Lambda.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from lendguard.core.base_model import Model
from lendguard.models.encoding import category_key, is_missing
from lendguard.models.points import PointsScale
from lendguard.models.trees import TreeEnsemble

if TYPE_CHECKING:  # pragma: no cover
    from lendguard.models.scorecard import Scorecard, ScorecardDocument

__all__ = [
    "METADATA_FILE",
    "MODEL_FILE",
    "Baseline",
    "BinnedDistribution",
    "CategoricalDistribution",
    "FeatureSpec",
    "HoldoutMetrics",
    "ModelArtifact",
    "ModelMetadata",
]

MODEL_FILE = "model.json"
METADATA_FILE = "metadata.json"

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class FeatureSpec(Model):
    """One model input: a number (``"float"``) or a category (``"category"``); missing is allowed.

    For a category, ``categories`` lists the known values (as :func:`category_key` text). In an
    XGBoost model a category enters the trees as its position in that list (0, 1, …), the list
    being ordered by the training sample's bad rate (lowest first) so that one split separates
    better from worse categories; a value not in the list is treated as missing.
    """

    model_config = _FROZEN

    name: str = Field(min_length=1)
    type: Literal["float", "category"] = "float"
    categories: list[str] | None = None

    @model_validator(mode="after")
    def _check(self) -> FeatureSpec:
        if self.type == "category":
            if not self.categories:
                raise ValueError(f"feature {self.name}: a category feature needs its categories")
            if len(set(self.categories)) != len(self.categories):
                raise ValueError(f"feature {self.name}: categories must be unique")
        elif self.categories is not None:
            raise ValueError(f"feature {self.name}: only category features have categories")
        return self


class HoldoutMetrics(Model):
    """Discrimination on the holdout sample: AUC, KS (max |CDF_bad − CDF_good|) and Gini = 2·AUC − 1."""

    model_config = _FROZEN

    auc: float = Field(ge=0.0, le=1.0)
    ks: float = Field(ge=0.0, le=1.0)
    gini: float = Field(ge=-1.0, le=1.0)


class BinnedDistribution(Model):
    """A distribution over quantile bins, the "expected" side of a PSI.

    ``edges`` are strictly increasing cut points; a value ``x`` falls in bin
    ``number of edges <= x`` (bins ``(-inf, e0)``, ``[e0, e1)``, …, ``[e_last, inf)``), so there
    are ``len(edges) + 1`` bins. ``proportions`` are each bin's share of *all* rows and
    ``missing`` is the share of missing (None / NaN) rows: together they sum to 1.
    """

    model_config = _FROZEN

    edges: list[float]
    proportions: list[float]
    missing: float = Field(default=0.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _check(self) -> BinnedDistribution:
        if any(not math.isfinite(e) for e in self.edges):
            raise ValueError("edges must be finite")
        if any(b <= a for a, b in zip(self.edges, self.edges[1:], strict=False)):
            raise ValueError("edges must be strictly increasing")
        if len(self.proportions) != len(self.edges) + 1:
            raise ValueError(f"{len(self.edges)} edges need {len(self.edges) + 1} proportions")
        if any(p < 0 for p in self.proportions):
            raise ValueError("proportions must be >= 0")
        total = sum(self.proportions) + self.missing
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"proportions + missing must sum to 1, got {total}")
        return self

    @classmethod
    def from_values(cls, values: Any, n_bins: int = 10) -> BinnedDistribution:
        """Quantile bins (``n_bins`` of them where the values allow) of an array-like; NaN = missing."""
        import numpy as np

        x = np.asarray(values, dtype=np.float64).ravel()
        if x.size == 0:
            raise ValueError("no values")
        present = x[~np.isnan(x)]
        if present.size == 0:
            return cls(edges=[], proportions=[0.0], missing=1.0)
        qs = np.quantile(present, np.linspace(0.0, 1.0, n_bins + 1)[1:-1])
        edges = np.unique(qs)
        edges = edges[(edges > present.min()) & np.isfinite(edges)]  # no empty first bin
        edges = np.union1d(edges, _tie_edges(present, qs))
        counts = np.bincount(np.searchsorted(edges, present, side="right"), minlength=edges.size + 1)
        return cls(
            edges=[float(e) for e in edges],
            proportions=[float(c) / x.size for c in counts],
            missing=float(x.size - present.size) / x.size,
        )

    def bin_index(self, value: float | None) -> int | None:
        """Bin of one value (``None`` when missing)."""
        if value is None or value != value:
            return None
        lo, hi = 0, len(self.edges)
        while lo < hi:  # bisect_right
            mid = (lo + hi) // 2
            if value < self.edges[mid]:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def shares(self, values: Any) -> tuple[list[float], float]:
        """Shares of an array-like in these bins, and the missing share (the "actual" side of a PSI)."""
        import numpy as np

        x = np.asarray(values, dtype=np.float64).ravel()
        if x.size == 0:
            raise ValueError("no values")
        nan = np.isnan(x)
        counts = np.bincount(
            np.searchsorted(np.asarray(self.edges, dtype=np.float64), x[~nan], side="right"),
            minlength=len(self.edges) + 1,
        )
        return [float(c) / x.size for c in counts], float(nan.sum()) / x.size


def _tie_edges(present: Any, qs: Any) -> Any:
    """Cut points giving each value on which quantiles tie (a point mass) a bin of its own.

    Without them a mostly-zero feature has every quantile at 0, all cuts fall at or below the
    minimum and the baseline is one bin, so a shift from 8% to 40% non-zero reads as PSI 0. The
    cut just above a tied value ``v`` is the next distinct value present, so ``[.., next)`` holds
    exactly ``v`` and values below it; the first bin then holds exactly the minimum.
    """
    import numpy as np

    distinct = np.unique(present)
    values, counts = np.unique(qs, return_counts=True)
    tied = set(values[counts > 1].tolist())
    if qs.size and qs[0] <= distinct[0]:
        tied.add(float(distinct[0]))  # a quantile on the minimum: keep the minimum's own bin
    cuts = []
    for v in sorted(tied):
        i = int(np.searchsorted(distinct, v, side="right"))
        if i < distinct.size:
            cuts.append(float(distinct[i]))
        lo = int(np.searchsorted(distinct, v, side="left"))
        if lo > 0 and v > distinct[0]:
            cuts.append(float(v))  # the tied value starts its own bin too
    return np.asarray(cuts, dtype=np.float64)


class CategoricalDistribution(Model):
    """Shares of each category (text form, :func:`category_key`) and of missing values; sum 1."""

    model_config = _FROZEN

    categories: dict[str, float]
    missing: float = Field(default=0.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _check(self) -> CategoricalDistribution:
        if any(p < 0 for p in self.categories.values()):
            raise ValueError("shares must be >= 0")
        total = sum(self.categories.values()) + self.missing
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"category shares + missing must sum to 1, got {total}")
        return self

    @classmethod
    def from_values(cls, values: Any) -> CategoricalDistribution:
        """Shares of an iterable of categories (``None`` / NaN = missing), categories sorted."""
        counts: dict[str, int] = {}
        missing = 0
        n = 0
        for v in values:
            n += 1
            if is_missing(v):
                missing += 1
            else:
                key = category_key(v)
                counts[key] = counts.get(key, 0) + 1
        if n == 0:
            raise ValueError("no values")
        return cls(categories={k: counts[k] / n for k in sorted(counts)}, missing=missing / n)


class Baseline(Model):
    """Distributions of the modelling sample, for drift monitoring (PSI) later.

    ``score`` is binned on the points scale (``score_scale``) in deciles; ``features`` holds
    each numeric feature's quantile bins (missing share recorded separately) and each
    categorical feature's category shares.
    """

    model_config = _FROZEN

    sample: str = Field(default="all", description="which rows: 'all' (train + holdout), 'train', 'holdout'")
    n: int = Field(ge=1)
    score_scale: Literal["points", "pd"] = "points"
    score: BinnedDistribution
    # Only cases past the rejecting rules are scored online: a score baseline of every training
    # row would show drift on a clean day (the riskiest rows are thinner online by design).
    score_sample: Literal["all", "scored"] = Field(
        default="all", description="'scored': the rows the model's policy scores (past its rejecting rules)"
    )
    score_n: int | None = Field(default=None, ge=1, description="Rows behind ``score`` when not ``n``")
    features: dict[str, BinnedDistribution | CategoricalDistribution] = Field(default_factory=dict)


class ModelMetadata(Model):
    """Everything about a model besides its trees. The label's positive class (1) is *bad* (default)."""

    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())

    model_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
    version: int = Field(ge=1)
    kind: Literal["xgboost", "scorecard"] = "xgboost"
    features: list[FeatureSpec] = Field(min_length=1)
    label: str = Field(min_length=1)
    label_bad: str | None = Field(
        default=None, description="The label value that meant bad (1) in the training data, as text"
    )
    trained_at: datetime
    data_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    model_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    n_train: int = Field(ge=1)
    n_holdout: int = Field(ge=0)
    metrics: HoldoutMetrics
    params: dict[str, Any] = Field(default_factory=dict)
    seed: int
    scale: PointsScale = Field(default_factory=PointsScale)
    baseline: Baseline | None = None
    xgboost_version: str | None = None

    @field_validator("trained_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

    @field_validator("features")
    @classmethod
    def _unique(cls, value: list[FeatureSpec]) -> list[FeatureSpec]:
        names = [f.name for f in value]
        if len(set(names)) != len(names):
            raise ValueError("feature names must be unique")
        return value

    @property
    def feature_names(self) -> list[str]:
        """Feature names in model order."""
        return [f.name for f in self.features]


class ModelArtifact:
    """A model: its metadata and its ``model.json`` bytes, as two files / S3 objects.

    For XGBoost, ``model.json`` is kept byte for byte as XGBoost wrote it, so the same file can be
    loaded into xgboost offline and evaluated by :class:`~lendguard.models.trees.TreeEnsemble`
    online. For a scorecard it is the :class:`~lendguard.models.scorecard.ScorecardDocument`.
    """

    __slots__ = ("_codes", "_document", "_ensemble", "metadata", "model_json")

    def __init__(self, metadata: ModelMetadata, model_json: bytes) -> None:
        if not isinstance(model_json, bytes | bytearray):
            raise TypeError("model_json must be bytes")
        self.metadata = metadata
        self.model_json = bytes(model_json)
        self._ensemble: TreeEnsemble | None = None
        self._document: ScorecardDocument | None = None
        self._codes: list[tuple[str, dict[str, float] | None]] | None = None
        expected = metadata.model_sha256
        if expected is not None and expected != self.sha256:
            raise ValueError(
                f"model {metadata.model_id} v{metadata.version}: model.json sha256 {self.sha256} does not "
                f"match the metadata ({expected})"
            )

    @property
    def sha256(self) -> str:
        """sha256 of ``model.json``."""
        return hashlib.sha256(self.model_json).hexdigest()

    def ensemble(self) -> TreeEnsemble:
        """The evaluator for this model (parsed once, then cached).

        Raises ``ValueError`` if the model's feature names differ from the metadata's, or if the
        model is not an XGBoost model.
        """
        if self.metadata.kind != "xgboost":
            raise ValueError(
                f"model {self.metadata.model_id} v{self.metadata.version} is a {self.metadata.kind}, "
                "not an XGBoost model"
            )
        if self._ensemble is None:
            ensemble = TreeEnsemble.from_xgboost_json(self.model_json)
            names = self.metadata.feature_names
            if list(ensemble.feature_names) != names:
                if list(ensemble.feature_names) != [f"f{i}" for i in range(len(names))]:
                    raise ValueError(
                        f"model features {list(ensemble.feature_names)} differ from the metadata's {names}"
                    )
                ensemble.feature_names = tuple(names)  # unnamed model: take the metadata's names
            self._ensemble = ensemble
        return self._ensemble

    def scorecard_document(self) -> ScorecardDocument:
        """The trained scorecard (bins, WOE, coefficients and the card), parsed once."""
        if self.metadata.kind != "scorecard":
            raise ValueError(
                f"model {self.metadata.model_id} v{self.metadata.version} is a {self.metadata.kind}, "
                "not a scorecard"
            )
        if self._document is None:
            from lendguard.models.scorecard import ScorecardDocument

            self._document = ScorecardDocument.model_validate_json(self.model_json)
        return self._document

    def scorecard(self) -> Scorecard:
        """The card as trained: bins and points (a policy may carry an edited copy instead)."""
        return self.scorecard_document().card

    def encode_row(self, values: Mapping[str, Any]) -> tuple[list[float | None], list[str]]:
        """An XGBoost input row from ``{feature name: value}``, and the names of missing inputs.

        Numbers (and booleans, as 0 / 1) pass through; a category becomes its code (its
        position in :attr:`FeatureSpec.categories`). Absent keys, ``None``, NaN and categories
        the model never saw are missing (``None`` in the row, listed in the second result), as
        XGBoost treats them. Raises ``TypeError`` naming the feature for a text value of a
        numeric feature.
        """
        if self._codes is None:  # per feature, in order: its name and its category codes
            self._codes = [
                (
                    f.name,
                    None if f.type == "float" else {c: float(i) for i, c in enumerate(f.categories or ())},
                )
                for f in self.metadata.features
            ]
        row: list[float | None] = []
        missing: list[str] = []
        get = values.get
        for name, codes in self._codes:
            value = get(name)
            kind = type(value)
            # Plain floats and ints (the facts' own types) first; anything else the general way.
            if codes is None and kind is float:
                code = value if value == value else None  # NaN is missing
            elif codes is None and (kind is int or kind is bool):
                code = float(value)
            elif is_missing(value):
                code = None
            elif codes is not None:
                code = codes.get(category_key(value))
            elif isinstance(value, bool | int | float):
                code = float(value)
            else:
                raise TypeError(f"model feature {name}: value {value!r} is not numeric")
            if code is None:
                missing.append(name)
            row.append(code)
        return row, missing

    # ------------------------------------------------------------------ files

    def to_files(self) -> dict[str, bytes]:
        """The two objects to store: ``{"model.json": ..., "metadata.json": ...}``."""
        return {
            MODEL_FILE: self.model_json,
            METADATA_FILE: self.metadata.model_dump_json(indent=2).encode("utf-8"),
        }

    @classmethod
    def from_files(cls, files: Mapping[str, bytes]) -> ModelArtifact:
        """Rebuild from the objects :meth:`to_files` produced (checks the model's sha256 if recorded)."""
        missing = [name for name in (MODEL_FILE, METADATA_FILE) if name not in files]
        if missing:
            raise ValueError(f"model artifact is missing {missing}")
        metadata = ModelMetadata.model_validate_json(files[METADATA_FILE])
        return cls(metadata, files[MODEL_FILE])

    def save(self, directory: Path | str) -> Path:
        """Write ``model.json`` and ``metadata.json`` into ``directory`` (created if needed)."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        for name, body in self.to_files().items():
            tmp = path / f".{name}.tmp"
            tmp.write_bytes(body)
            tmp.replace(path / name)
        return path

    @classmethod
    def load(cls, directory: Path | str) -> ModelArtifact:
        """Read an artifact written by :meth:`save`."""
        path = Path(directory)
        return cls.from_files({name: (path / name).read_bytes() for name in (MODEL_FILE, METADATA_FILE)})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ModelArtifact):
            return NotImplemented
        return self.metadata == other.metadata and self.model_json == other.model_json

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        m = self.metadata
        return f"ModelArtifact({m.model_id!r}, version={m.version}, features={len(m.features)})"
