"""How each column of a training file is treated: numeric, categorical, or excluded and why.

Real files are dirty, and the easy mistakes fool the model silently: a column of unique
customer ids becomes a categorical feature that memorises the training rows (train AUC 1.000,
holdout worse), one ``"?"`` turns a numeric column into text and so into a category, an
``inf`` crashes XGBoost or is scored silently by a scorecard. :func:`plan_columns` decides every
column's treatment up front, and the training report lists them all. The rules, in order:

1. The label is the label; a column left out of an explicit feature list is excluded
   ("not in --features").
2. Columns named as categorical are categorical. Numeric (and boolean) columns are numeric.
   A text column whose present values are all numbers except a few tokens (at most
   ``max_token_share`` of them, 5% by default) is numeric, the tokens read as missing and
   reported with their counts (``'?' x 1``). Any other text column is categorical.
3. A numeric column holding ``inf`` or ``-inf`` is an error naming the column and the rows
   (data rows, the first row after the header is 1): neither XGBoost nor a scorecard can
   learn from it, and silently treating it as missing would hide a broken extract.
4. Identifier-like columns are excluded with a warning: a categorical column whose present
   values are all distinct, or a numeric column of distinct whole numbers that either form a
   run (row numbers) or whose name ends in ``id`` / ``no`` / ``key`` / ``uuid``. A categorical
   column with more than ``max_categories`` values, or more distinct values than half its
   rows, is excluded as very high cardinality (its bad-rate coding would memorise the sample).
   Both need at least ``MIN_ROWS_FOR_UNIQUENESS`` present values to judge. ``keep`` names
   columns to train on anyway.

Offline only (pandas).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import ConfigDict, Field

from lendguard.core.base_model import Model
from lendguard.core.errors import FieldError, InvalidInput
from lendguard.models.encoding import is_missing

__all__ = [
    "MIN_ROWS_FOR_UNIQUENESS",
    "ColumnPlan",
    "ColumnTreatment",
    "describe_infinite",
    "infinite_rows",
    "plan_columns",
]

MIN_ROWS_FOR_UNIQUENESS = 20
"""Below this many present values, "every value distinct" says nothing about a column."""
_ID_NAME = re.compile(r"(?:^|[_\-. ])(?:id|uuid|guid|key|no)$", re.IGNORECASE)
_ROWS_SHOWN = 10

Treatment = Literal["label", "numeric", "categorical", "excluded"]


class ColumnTreatment(Model):
    """One column of the training data and what training did with it."""

    model_config = ConfigDict(frozen=True)

    name: str
    treatment: Treatment
    reason: str = Field(description="Why this treatment")
    distinct: int = Field(description="Distinct present values")
    missing: int = Field(description="Missing values, non-numeric tokens of a numeric column included")
    tokens: dict[str, int] = Field(
        default_factory=dict,
        description="Non-numeric tokens of a numeric column, read as missing, with counts",
    )


@dataclass(frozen=True)
class ColumnPlan:
    """The cleaned frame (tokens as NaN), the features in file order, and every column's treatment."""

    frame: pd.DataFrame
    features: list[str]
    categorical: list[str]
    columns: list[ColumnTreatment]
    warnings: list[str]


def infinite_rows(values: pd.Series) -> list[int]:
    """Data rows (1 = first after the header) of a numeric column holding ``inf`` or ``-inf``."""
    if not (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)):
        return []
    x = values.to_numpy(dtype=np.float64, na_value=np.nan)
    return [int(i) + 1 for i in np.flatnonzero(np.isinf(x))]


def describe_infinite(column: str, rows: list[int]) -> str:
    """``column 'x' has infinite values in 2 rows: 3, 17 (data rows; the first after the header is 1)``."""
    shown = ", ".join(str(r) for r in rows[:_ROWS_SHOWN]) + (", …" if len(rows) > _ROWS_SHOWN else "")
    return (
        f"column {column!r} has infinite values in {len(rows)} row{'s' if len(rows) != 1 else ''}: {shown} "
        "(data rows; the first after the header is 1); fix or remove them"
    )


def _parse_numeric(values: pd.Series, max_token_share: float) -> tuple[pd.Series, dict[str, int]] | None:
    """A text column as numbers with its non-numeric tokens, or None when it is not numeric."""
    present = [(i, str(v).strip()) for i, v in enumerate(values.tolist()) if not is_missing(v)]
    if not present:
        return None
    parsed = pd.to_numeric(pd.Series([t for _, t in present], dtype=object), errors="coerce")
    bad = parsed.isna().to_numpy()
    tokens: dict[str, int] = {}
    for (_, text), is_bad in zip(present, bad, strict=True):
        if is_bad:
            tokens[text] = tokens.get(text, 0) + 1
    n_bad = int(bad.sum())
    if n_bad == len(present) or n_bad > max_token_share * len(present):
        return None
    out = np.full(len(values), np.nan)
    out[[i for i, _ in present]] = parsed.to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.Series(out, index=values.index, name=values.name), dict(
        sorted(tokens.items(), key=lambda kv: -kv[1])
    )


def _identifier_reason(name: str, values: pd.Series, numeric: bool, max_categories: int) -> str | None:
    present = values[[not is_missing(v) for v in values.tolist()]]
    n, distinct = len(present), int(present.nunique())
    if n < MIN_ROWS_FOR_UNIQUENESS:
        return None
    if numeric:
        x = present.to_numpy(dtype=np.float64)
        if distinct != n or not np.all(np.mod(x, 1) == 0):
            return None
        if x.max() - x.min() == n - 1:
            return f"identifier-like: {n} distinct whole numbers in a run ({x.min():g} to {x.max():g}), row numbers"
        if _ID_NAME.search(name):
            return f"identifier-like: {n} distinct whole numbers and an identifier's name"
        return None
    if distinct == n:
        return f"identifier-like: every one of the {n} values is distinct"
    if distinct > max_categories or distinct > 0.5 * n:
        return f"very high cardinality: {distinct} distinct values in {n} rows"
    return None


def plan_columns(
    frame: pd.DataFrame,
    label: str,
    *,
    features: list[str] | None = None,
    categorical: list[str] | tuple[str, ...] = (),
    keep: list[str] | tuple[str, ...] = (),
    max_token_share: float = 0.05,
    max_categories: int = 100,
) -> ColumnPlan:
    """Each column's treatment (see the module doc); raises :class:`InvalidInput` naming the problem."""
    columns = [str(c) for c in frame.columns]
    stray_keep = [c for c in keep if c not in columns or c == label]
    if stray_keep:
        raise InvalidInput(
            "invalid training input",
            [FieldError(field="--keep", message=f"not feature columns of the data: {stray_keep}")],
        )
    wanted = set(features) if features is not None else None
    clean = frame.copy()
    treatments: list[ColumnTreatment] = []
    warnings: list[str] = []
    infinite: list[FieldError] = []
    for name in columns:
        values = frame[name]
        missing = int(values.isna().sum())
        distinct = int(values.nunique(dropna=True))

        def row(
            treatment: Treatment, reason: str, tokens: dict[str, int] | None = None, *, name: str = name,
            distinct: int = distinct, missing: int = missing,
        ) -> None:  # fmt: skip
            treatments.append(
                ColumnTreatment(
                    name=name, treatment=treatment, reason=reason, distinct=distinct, missing=missing,
                    tokens=tokens or {},
                )
            )  # fmt: skip

        if name == label:
            row("label", "the label")
            continue
        if wanted is not None and name not in wanted:
            row("excluded", "not in --features")
            continue
        tokens: dict[str, int] = {}
        if name in categorical:
            kind, reason = "categorical", "declared with --categorical"
        elif pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            kind, reason = "numeric", "numeric values"
        elif (parsed := _parse_numeric(values, max_token_share)) is not None:
            clean[name], tokens = parsed
            kind = "numeric"
            if tokens:
                listed = ", ".join(f"{t!r} x {n}" for t, n in tokens.items())
                reason = f"numeric; non-numeric values read as missing: {listed}"
                warnings.append(f"column {name!r}: {reason}")
            else:
                reason = "numbers written as text"
        else:
            kind, reason = "categorical", "text values"
        if kind == "numeric":
            rows = infinite_rows(clean[name])
            if rows:
                infinite.append(FieldError(field="--data", message=describe_infinite(name, rows)))
                continue
        why = _identifier_reason(name, clean[name], kind == "numeric", max_categories)
        n_missing = int(clean[name].isna().sum())
        n_distinct = int(clean[name].nunique(dropna=True))
        if why is not None and name not in keep:
            row("excluded", why, tokens, distinct=n_distinct, missing=n_missing)
            warnings.append(f"column {name!r} excluded: {why} (train on it anyway with --keep {name})")
            continue
        if why is not None:
            reason = f"{reason}; kept with --keep although {why}"
        row(kind, reason, tokens, distinct=n_distinct, missing=n_missing)  # type: ignore[arg-type]
    if infinite:
        raise InvalidInput("invalid training input", infinite)
    used = [t.name for t in treatments if t.treatment in ("numeric", "categorical")]
    if not used:
        raise InvalidInput(
            "invalid training input",
            [FieldError(field="--features", message="no usable feature columns (see the excluded columns)")],
        )
    return ColumnPlan(
        frame=clean,
        features=used,
        categorical=[t.name for t in treatments if t.treatment == "categorical"],
        columns=treatments,
        warnings=warnings,
    )
