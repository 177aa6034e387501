"""The default model: XGBoost trained on the synthetic micro-loan set (offline only)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from lendguard.core.hashing import LOCAL_SECRET
from lendguard.models.artifact import ModelArtifact
from lendguard.offline.synthetic import MODEL_FEATURES, training_rows

DEFAULT_ROWS = 12_000
DEFAULT_SEED = 42


def train_default_model(
    directory: Path, model_id: str = "default-xgb", version: int = 1, rows: int = DEFAULT_ROWS,
    seed: int = DEFAULT_SEED,
) -> tuple[ModelArtifact, str]:  # fmt: skip
    """Train on ``rows`` synthetic applications with ``seed``; save model, metadata and report."""
    from lendguard.offline.training.xgb import train_xgboost

    return _train_and_save(train_xgboost, directory, model_id, version, rows, seed)


def train_default_scorecard(
    directory: Path, model_id: str = "default-scorecard", version: int = 1, rows: int = DEFAULT_ROWS,
    seed: int = DEFAULT_SEED,
) -> tuple[ModelArtifact, str]:  # fmt: skip
    """A points scorecard on the same synthetic rows and features; saved like the default model.

    The default policy's challenger: scored in shadow next to the XGBoost model, or deciding in
    a policy that carries its card.
    """
    from lendguard.offline.training.scorecard import train_scorecard

    return _train_and_save(train_scorecard, directory, model_id, version, rows, seed)


def _train_and_save(
    train: Callable[..., tuple[ModelArtifact, Any]], directory: Path, model_id: str, version: int, rows: int,
    seed: int,
) -> tuple[ModelArtifact, str]:  # fmt: skip
    import pandas as pd

    from lendguard.offline.project import default_policy_path
    from lendguard.offline.training.scored_baseline import with_scored_baseline
    from lendguard.policy.loader import load_policy

    frame = pd.DataFrame(training_rows(rows, seed, LOCAL_SECRET))
    artifact, report = train(
        frame, "default", list(MODEL_FEATURES), model_id=model_id, version=version, seed=seed
    )
    # The monitor compares the score of the cases the default policy scores: save that baseline.
    artifact = with_scored_baseline(artifact, load_policy(default_policy_path()), frame)
    directory.mkdir(parents=True, exist_ok=True)
    artifact.save(directory)
    text = report.to_text()
    (directory / "report.txt").write_text(text)
    return artifact, text
