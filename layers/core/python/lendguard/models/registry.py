"""The model registry: immutable model versions with their metadata, in S3 or in a directory.

Both backends use the same layout, so a directory can be synced to the bucket as is::

    models/<model id>/v<version>/model.json
    models/<model id>/v<version>/metadata.json

Rules:

* A version is **immutable**: registering an id and version that exist is a
  :class:`~lendguard.core.errors.Conflict`. Scoring functions cache models per container, and cases
  record the id and version that decided them, so a version must always mean the same bytes.
* ``metadata.json`` is written last and marks a version as complete: listings only show
  versions that have it, so a reader never sees half a model.
* A model is checked before it is stored: its ``model.json`` must match the sha256 in the
  metadata and load into the online evaluator (trees or scorecard).

:class:`DirectoryRegistry` lives here; the S3 backend is
:class:`lendguard.store.artifacts.S3ModelRegistry` (only ``store`` talks to AWS).
Standard library and pydantic only.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from datetime import datetime
from pathlib import Path

from pydantic import ConfigDict

from lendguard.core.base_model import Model
from lendguard.core.errors import Conflict, NotFound
from lendguard.models.artifact import METADATA_FILE, MODEL_FILE, HoldoutMetrics, ModelArtifact, ModelMetadata

__all__ = ["DirectoryRegistry", "ModelRegistry", "ModelVersion", "check_artifact", "version_dir"]

_VERSION_DIR = re.compile(r"^v([1-9][0-9]{0,8})$")
_MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def version_dir(version: int) -> str:
    """``v<version>``: the folder (or key part) of one version."""
    return f"v{version}"


def parse_version_dir(name: str) -> int | None:
    """The version of a ``v<n>`` folder name, or ``None`` for anything else."""
    m = _VERSION_DIR.match(name)
    return int(m.group(1)) if m else None


def check_model_id(model_id: str) -> str:
    """A model id as the metadata allows it (letters, digits, ``._-``; starts alphanumeric)."""
    if not _MODEL_ID.match(model_id):
        raise ValueError(
            f"model id {model_id!r} is invalid: use letters, digits, '.', '_' or '-' (at most 128), "
            "starting with a letter or digit"
        )
    return model_id


def check_artifact(artifact: ModelArtifact) -> None:
    """Refuse an artifact the online scorer could not use (raises ``ValueError`` saying why)."""
    meta = artifact.metadata
    if meta.kind == "xgboost":
        ensemble = artifact.ensemble()  # parses; checks the feature names against the metadata
        if ensemble.n_features != len(meta.features):
            raise ValueError(f"model has {ensemble.n_features} features, metadata {len(meta.features)}")
    else:
        card = artifact.scorecard()
        if card.feature_names != meta.feature_names:
            raise ValueError(
                f"scorecard features {card.feature_names} differ from the metadata's {meta.feature_names}"
            )


class ModelVersion(Model):
    """One registered version, as listings show it."""

    model_config = ConfigDict(frozen=True, protected_namespaces=())

    model_id: str
    version: int
    kind: str
    trained_at: datetime
    n_features: int
    n_train: int
    metrics: HoldoutMetrics
    label: str

    @classmethod
    def of(cls, meta: ModelMetadata) -> ModelVersion:
        return cls(
            model_id=meta.model_id, version=meta.version, kind=meta.kind, trained_at=meta.trained_at,
            n_features=len(meta.features), n_train=meta.n_train, metrics=meta.metrics, label=meta.label,
        )  # fmt: skip


class ModelRegistry(ABC):
    """Registered models: ids, their versions, metadata and artifacts."""

    @abstractmethod
    def model_ids(self) -> list[str]:
        """Ids with at least one complete version, sorted."""

    @abstractmethod
    def versions(self, model_id: str) -> list[int]:
        """Complete versions of ``model_id``, ascending (empty when there is none)."""

    @abstractmethod
    def metadata(self, model_id: str, version: int) -> ModelMetadata:
        """A version's metadata; :class:`~lendguard.core.errors.NotFound` when not registered."""

    @abstractmethod
    def load(self, model_id: str, version: int) -> ModelArtifact:
        """A version's artifact; :class:`~lendguard.core.errors.NotFound` when not registered."""

    @abstractmethod
    def _store(self, artifact: ModelArtifact) -> str:
        """Write ``model.json`` then ``metadata.json``; return where it went."""

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the registry lives (for messages)."""

    def latest(self, model_id: str) -> int | None:
        """The highest registered version, or ``None``."""
        versions = self.versions(model_id)
        return versions[-1] if versions else None

    def next_version(self, model_id: str) -> int:
        """The version a new registration of ``model_id`` should take."""
        return (self.latest(model_id) or 0) + 1

    def resolve(self, model_id: str, version: int | None) -> int:
        """``version``, or the latest one; :class:`~lendguard.core.errors.NotFound` if there is none."""
        if version is not None:
            return version
        latest = self.latest(model_id)
        if latest is None:
            known = ", ".join(self.model_ids()) or "none"
            raise NotFound(f"model {model_id} is not registered in {self.location} (registered: {known})")
        return latest

    def listing(self, model_id: str | None = None) -> list[ModelVersion]:
        """Every version (of one model, or of all), with metadata, by id then version."""
        ids = [model_id] if model_id is not None else self.model_ids()
        return [ModelVersion.of(self.metadata(i, v)) for i in ids for v in self.versions(i)]

    def register(self, artifact: ModelArtifact) -> str:
        """Store a new version (refused if it exists or the model cannot be evaluated online)."""
        meta = artifact.metadata
        check_model_id(meta.model_id)
        check_artifact(artifact)
        if meta.version in self.versions(meta.model_id):
            raise Conflict(
                f"model {meta.model_id} v{meta.version} is already registered in {self.location}; "
                f"versions are immutable (next free version: {self.next_version(meta.model_id)})"
            )
        return self._store(artifact)


class DirectoryRegistry(ModelRegistry):
    """A registry in a local directory (``<root>/models/<id>/v<n>/``), e.g. ``.lendguard``."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    @property
    def location(self) -> str:
        return str(self.root)

    def _dir(self, model_id: str, version: int) -> Path:
        return self.root / "models" / check_model_id(model_id) / version_dir(version)

    def model_ids(self) -> list[str]:
        base = self.root / "models"
        if not base.is_dir():
            return []
        return sorted(
            p.name for p in base.iterdir() if p.is_dir() and _MODEL_ID.match(p.name) and self.versions(p.name)
        )

    def versions(self, model_id: str) -> list[int]:
        base = self.root / "models" / check_model_id(model_id)
        if not base.is_dir():
            return []
        found = []
        for p in base.iterdir():
            v = parse_version_dir(p.name)
            if v is not None and (p / METADATA_FILE).is_file() and (p / MODEL_FILE).is_file():
                found.append(v)
        return sorted(found)

    def metadata(self, model_id: str, version: int) -> ModelMetadata:
        path = self._dir(model_id, version) / METADATA_FILE
        try:
            return ModelMetadata.model_validate_json(path.read_bytes())
        except FileNotFoundError:
            raise NotFound(f"model {model_id} v{version} is not registered in {self.location}") from None

    def load(self, model_id: str, version: int) -> ModelArtifact:
        directory = self._dir(model_id, version)
        if not (directory / METADATA_FILE).is_file():
            raise NotFound(f"model {model_id} v{version} is not registered in {self.location}")
        return ModelArtifact.load(directory)

    def _store(self, artifact: ModelArtifact) -> str:
        meta = artifact.metadata
        directory = self._dir(meta.model_id, meta.version)
        directory.mkdir(parents=True, exist_ok=True)
        files = artifact.to_files()
        for name in (MODEL_FILE, METADATA_FILE):  # metadata last: it marks the version complete
            tmp = directory / f".{name}.tmp"
            tmp.write_bytes(files[name])
            tmp.replace(directory / name)
        return str(directory)
