"""The book's models: behaviour (in-loan) and roll-rate (post-loan), trained with the project's
own XGBoost trainer on the synthetic book (offline only).

- ``behaviour-xgb``: PD of 30+ days past due within six months (label ``bad_6m``) from
  :data:`~lendguard.offline.book_synthetic.BEHAVIOUR_FEATURES`, on every account;
- ``rollrate-xgb``: PD of rolling on to 30+ days past due (label ``roll_30``) from
  :data:`~lendguard.offline.book_synthetic.ROLLRATE_FEATURES`, on past-due accounts only; the
  post-loan job's repayment probability is its complement.

Both are saved as registry directories (``<root>/<model id>/v<version>``: ``model.json``,
``metadata.json``, ``report.txt``), where the policy's ``in_loan.model`` / ``post_loan.model``
find them, like the application model.
"""

from __future__ import annotations

from pathlib import Path

from lendguard.models.artifact import ModelArtifact
from lendguard.offline.book_synthetic import BEHAVIOUR_FEATURES, ROLLRATE_FEATURES, book_table

BOOK_ROWS = 60_000
BOOK_SEED = 11
# Fewer, shallower trees than the application model: the nightly batch scores the whole book.
BOOK_PARAMS = {"num_boost_round": 120, "max_depth": 3, "eta": 0.1}
BEHAVIOUR_MODEL = "behaviour-xgb"
ROLLRATE_MODEL = "rollrate-xgb"


def train_book_models(
    root: Path, rows: int = BOOK_ROWS, seed: int = BOOK_SEED, version: int = 1
) -> dict[str, tuple[ModelArtifact, str]]:
    """Train both models on ``rows`` synthetic accounts (``seed``); save them under ``root``."""
    from lendguard.offline.training.xgb import train_xgboost

    frame = book_table(rows, seed).to_pandas()
    past_due = frame[frame["days_past_due"] > 0].reset_index(drop=True)
    out: dict[str, tuple[ModelArtifact, str]] = {}
    for model_id, data, label, features in (
        (BEHAVIOUR_MODEL, frame, "bad_6m", BEHAVIOUR_FEATURES),
        (ROLLRATE_MODEL, past_due, "roll_30", ROLLRATE_FEATURES),
    ):
        sample = data[[*features, label]].astype("float64")
        artifact, report = train_xgboost(
            sample,
            label,
            list(features),
            model_id=model_id,
            version=version,
            seed=seed,
            params=dict(BOOK_PARAMS),
        )
        directory = root / model_id / f"v{version}"
        directory.mkdir(parents=True, exist_ok=True)
        artifact.save(directory)
        text = report.to_text()
        (directory / "report.txt").write_text(text)
        out[model_id] = (artifact, text)
    return out


def ensure_book_models(home: Path, version: int = 1) -> Path:
    """``<home>/models`` holding both book models (copied from the committed fixtures when the
    checkout has them, else trained once); returns that registry root."""
    import shutil

    from lendguard.offline.project import project_root

    root = home / "models"
    missing = [
        m for m in (BEHAVIOUR_MODEL, ROLLRATE_MODEL) if not (root / m / f"v{version}" / "model.json").exists()
    ]
    if not missing:
        return root
    committed = project_root() / "tests" / "data" / "models"
    if all((committed / m / f"v{version}" / "model.json").exists() for m in missing):
        for model_id in missing:
            shutil.copytree(
                committed / model_id / f"v{version}", root / model_id / f"v{version}", dirs_exist_ok=True
            )
        return root
    train_book_models(root, version=version)
    return root
