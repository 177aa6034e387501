"""Train a model from a labelled CSV file: read, check, map the label, pick features, train.

This is what ``lendguard train --data FILE --label COL [--bad VALUE] [--kind …]`` runs, and what
the German Credit tests use, so both go through the same checks. Every problem is an
:class:`~lendguard.core.errors.InvalidInput` naming the option or column at fault. Offline only
(pandas).

Label rule: the label column must have exactly two values unless ``bad`` names the bad one
(then every other value is good). Without ``bad``, ``0/1`` (1 = bad), ``good/bad`` and
``false/true`` (true = bad) are understood; any other pair must be disambiguated with ``bad``.
Values are compared as text (``1``, ``1.0`` and ``"1"`` are the same value).

Feature rule: every column except the label, unless ``features`` names them; each column's
treatment (numeric, categorical, or excluded as an identifier or very-high-cardinality column;
``"?"``-like tokens in a numeric column read as missing; ``inf`` refused) is decided by
:func:`lendguard.offline.training.columns.plan_columns` and listed in the training report.
XGBoost's hyperparameters and tree count are chosen by cross-validation on the training part
(:class:`~lendguard.offline.training.xgb.CvSettings`) unless ``cv=None``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from lendguard.core.errors import FieldError, InvalidInput
from lendguard.models.artifact import ModelArtifact
from lendguard.models.encoding import category_key, is_missing
from lendguard.models.points import PointsScale
from lendguard.offline.training.columns import ColumnTreatment, plan_columns
from lendguard.offline.training.report import TrainingSummary
from lendguard.offline.training.xgb import CvSettings

__all__ = ["TrainedModel", "binary_label", "default_model_id", "read_training_csv", "train_from_frame"]

Kind = Literal["xgboost", "scorecard"]
_KNOWN_PAIRS = ({"0", "1"}, {"good", "bad"}, {"false", "true"})
_BAD_OF_PAIR = {"1", "bad", "true"}


def _fail(field: str, message: str) -> InvalidInput:
    return InvalidInput("invalid training input", [FieldError(field=field, message=message)])


def _preview(values: list[str], limit: int = 8) -> str:
    shown = ", ".join(repr(v) for v in values[:limit])
    return shown + (f", … ({len(values)} in all)" if len(values) > limit else "")


def read_training_csv(path: Path | str) -> pd.DataFrame:
    """Read a CSV with a header row; errors name ``--data`` and say what is wrong."""
    p = Path(path)
    if not p.exists():
        raise _fail("--data", f"{p}: no such file")
    if not p.is_file():
        raise _fail("--data", f"{p}: not a file")
    try:
        frame = pd.read_csv(p)
    except pd.errors.EmptyDataError:
        raise _fail("--data", f"{p}: the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise _fail("--data", f"{p}: not a readable CSV file ({str(exc).splitlines()[0]})") from None
    except OSError as exc:
        raise _fail("--data", f"{p}: {exc.strerror or exc}") from None
    if frame.empty:
        raise _fail("--data", f"{p}: a header but no rows")
    dupes = sorted({str(c) for c in frame.columns if list(frame.columns).count(c) > 1})
    if dupes:
        raise _fail("--data", f"{p}: duplicate column names {dupes}")
    return frame


def binary_label(frame: pd.DataFrame, label: str, bad: str | None = None) -> tuple[np.ndarray, str]:
    """The 0/1 label (1 = bad) of ``frame[label]`` and the value that means bad (see the module doc)."""
    if label not in frame.columns:
        raise _fail(
            "--label",
            f"column {label!r} is not in the data (columns: {_preview([str(c) for c in frame.columns])})",
        )
    raw = frame[label].tolist()
    missing = sum(1 for v in raw if is_missing(v))
    if missing:
        raise _fail("--label", f"column {label!r} has {missing} rows without a value; remove or label them")
    keys = [category_key(v) for v in raw]
    distinct = sorted(set(keys))
    if bad is not None:
        bad_key = category_key(bad)
        if bad_key not in distinct:
            raise _fail(
                "--bad", f"value {bad!r} does not occur in column {label!r} (values: {_preview(distinct)})"
            )
    elif len(distinct) > 2:
        raise _fail(
            "--bad",
            f"column {label!r} has {len(distinct)} distinct values ({_preview(distinct)}): "
            "name the value that means bad with --bad (every other value is good)",
        )
    elif len(distinct) == 2:
        lowered = {d.lower() for d in distinct}
        if lowered not in _KNOWN_PAIRS:
            raise _fail(
                "--bad",
                f"column {label!r} has the values {_preview(distinct)}: say which one means bad with --bad",
            )
        bad_key = next(d for d in distinct if d.lower() in _BAD_OF_PAIR)
    else:
        raise _fail("--label", f"column {label!r} has only the value {distinct[0]!r}: need goods and bads")
    y = np.fromiter((k == bad_key for k in keys), dtype=np.int64, count=len(keys))
    n_bad = int(y.sum())
    if n_bad < 2 or y.size - n_bad < 2:
        raise _fail(
            "--label", f"need at least two goods and two bads, got {y.size - n_bad} goods and {n_bad} bads"
        )
    return y, bad_key


def default_model_id(data: Path | str, kind: Kind) -> str:
    """``<file stem>-xgb`` or ``<file stem>-scorecard``, with characters outside ``[A-Za-z0-9._-]`` as ``-``."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(data).stem).strip("-._") or "model"
    return f"{stem[:100]}-{'xgb' if kind == 'xgboost' else 'scorecard'}"


@dataclass(frozen=True)
class TrainedModel:
    """A trained artifact, its report text, and how the label and features were read."""

    artifact: ModelArtifact
    report: str
    bad_value: str
    features: list[str]
    categorical: list[str]
    report_model: Any
    columns: list[ColumnTreatment]
    warnings: list[str]
    summary: TrainingSummary


def train_from_frame(
    frame: pd.DataFrame,
    label: str,
    *,
    kind: Kind = "xgboost",
    bad: str | None = None,
    features: list[str] | None = None,
    categorical: list[str] | None = None,
    model_id: str,
    version: int = 1,
    seed: int = 42,
    holdout: float = 0.3,
    scale: PointsScale | None = None,
    params: dict[str, Any] | None = None,
    keep: list[str] | None = None,
    cv: CvSettings | None = CvSettings(),
) -> TrainedModel:
    """Check the frame, decide each column's treatment, map the label to 0/1 and train.

    ``keep`` names columns to train on although they look like identifiers; ``cv`` chooses
    XGBoost's hyperparameters and tree count (``None``: ``params`` and the default tree count).
    """
    if kind not in ("xgboost", "scorecard"):
        raise _fail("--kind", f"{kind!r} is not a model kind (xgboost, scorecard)")
    y, bad_key = binary_label(frame, label, bad)
    columns = [str(c) for c in frame.columns]
    explicit = features is not None
    if features is None:
        features = [c for c in columns if c != label]
    else:
        absent = [f for f in features if f not in columns]
        if absent:
            raise _fail("--features", f"columns not in the data: {absent}")
        if label in features:
            raise _fail("--features", f"the label {label!r} cannot be a feature")
        if len(set(features)) != len(features):
            raise _fail("--features", "a column is listed twice")
    if not features:
        raise _fail("--features", "no feature columns besides the label")
    declared = list(categorical or [])
    stray = [c for c in declared if c not in features]
    if stray:
        raise _fail("--categorical", f"not among the features: {stray}")
    plan = plan_columns(
        frame, label, features=features if explicit else None, categorical=declared, keep=keep or []
    )
    empty = [c for c in plan.features if plan.frame[c].isna().all()]
    if empty:
        raise _fail("--features", f"columns without any value: {empty}")
    features, categorical = plan.features, plan.categorical
    data = plan.frame[features].copy()
    data[label] = y
    try:
        if kind == "xgboost":
            from lendguard.offline.training.xgb import train_xgboost

            artifact, report = train_xgboost(
                data, label, features, model_id=model_id, categorical=categorical, version=version, seed=seed,
                holdout=holdout, params=params, scale=scale, cv=cv,
            )  # fmt: skip
        else:
            from lendguard.offline.training.scorecard import train_scorecard

            artifact, report = train_scorecard(
                data, label, features, model_id=model_id, categorical=categorical, version=version, seed=seed,
                holdout=holdout, params=params, scale=scale,
            )  # fmt: skip
    except ValueError as exc:
        raise _fail("--data", str(exc)) from None
    meta = artifact.metadata.model_copy(update={"label_bad": bad_key})
    artifact = ModelArtifact(meta, artifact.model_json)
    summary = TrainingSummary.build(
        kind=kind, label=label, bad_value=bad_key, n_rows=len(frame), columns=plan.columns,
        warnings=plan.warnings, report=report,
    )  # fmt: skip
    text = f"label {label!r}: {bad_key!r} = bad (1), other values good (0)\n" + summary.to_text()
    return TrainedModel(
        artifact, text, bad_key, features, categorical, report, plan.columns, plan.warnings, summary
    )
