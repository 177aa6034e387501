"""Read a backtest's data file and check it before anything is evaluated or written.

Every problem is collected (not just the first) and raised as one :class:`InvalidInput` whose
details name the column and the rows (1-based data rows, the header not counted): a column the
policy needs that is absent, values of the wrong type, unknown products, label values that are
neither the bad value nor the one good value, and an empty file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lendguard.core.errors import FieldError, InvalidInput
from lendguard.models.artifact import ModelArtifact
from lendguard.models.encoding import category_key
from lendguard.offline.backtest.facts import FactType, fact_types, required_facts
from lendguard.policy.schema import Policy

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

ID_COLUMN = "application_id"
_TRUE = frozenset({"true", "1", "1.0", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "0.0", "no", "n", "f"})
MESSAGE = "the data file cannot be backtested"


@dataclass
class Prepared:
    """Typed fact columns (one row per application) and, with a label, 1 = bad / 0 = good."""

    frame: pd.DataFrame
    labels: np.ndarray | None
    good_value: str | None = None


def _rows(mask: np.ndarray, limit: int = 8) -> str:
    """'rows 3, 9 and 12' for a boolean mask (1-based), with a count past ``limit``."""
    import numpy as np

    where = (np.flatnonzero(mask) + 1).tolist()
    shown = ", ".join(str(r) for r in where[:limit])
    more = f" and {len(where) - limit} more" if len(where) > limit else ""
    return f"row{'s' if len(where) > 1 else ''} {shown}{more}"


def read_table(path: Path) -> pd.DataFrame:
    """The rows of a CSV (every cell read as text, empty = missing) or Parquet file."""
    import pandas as pd

    def fail(message: str) -> InvalidInput:
        return InvalidInput(MESSAGE, [FieldError(field=str(path), message=message)])

    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise fail("must be a .csv or .parquet file")
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        else:
            frame = pd.read_parquet(path)
    except FileNotFoundError:
        raise fail("no such file") from None
    except pd.errors.EmptyDataError:
        raise fail("the file is empty: no header and no rows") from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise fail(f"cannot be read: {str(exc).splitlines()[0][:300]}") from None
    if len(frame) == 0:
        raise fail("the file has a header but no rows")
    return frame


def _coerce(column: pd.Series, kind: FactType) -> tuple[pd.Series, np.ndarray]:
    """The column in the evaluator's dtype for ``kind``, and a mask of values of the wrong type."""
    import numpy as np
    import pandas as pd

    missing = column.isna().to_numpy()
    dtype = column.dtype
    if kind == "number":
        if pd.api.types.is_bool_dtype(dtype):
            return column.astype("float64"), ~missing
        if pd.api.types.is_numeric_dtype(dtype):
            return column.astype("float64"), np.zeros(len(column), dtype=bool)
        numbers = pd.to_numeric(column.astype("string").str.strip(), errors="coerce").astype("float64")
        return numbers, numbers.isna().to_numpy() & ~missing
    if kind == "boolean":
        if pd.api.types.is_bool_dtype(dtype):
            return column, np.zeros(len(column), dtype=bool)
        text = column.astype("string").str.strip().str.lower()
        truth = text.isin(_TRUE).to_numpy(dtype=bool, na_value=False)
        falsity = text.isin(_FALSE).to_numpy(dtype=bool, na_value=False)
        values = pd.arrays.BooleanArray(truth, ~(truth | falsity))
        return pd.Series(values, index=column.index), ~(truth | falsity) & ~missing
    if isinstance(dtype, pd.StringDtype):
        return column.astype("string"), np.zeros(len(column), dtype=bool)
    # numbers read from Parquet as text facts: the same text a category code would use
    return column.map(category_key, na_action="ignore").astype("string"), np.zeros(len(column), dtype=bool)


def prepare(
    raw: pd.DataFrame, policy: Policy, model: ModelArtifact, label: str | None = None, bad: str | None = None
) -> Prepared:
    """Check ``raw`` against what ``policy`` (and its model) read, and type its columns.

    Raises :class:`InvalidInput` listing every problem. Columns the policy does not read are
    kept as they are (they cost nothing), except known facts, which are typed.
    """
    import numpy as np
    import pandas as pd

    problems: list[FieldError] = []
    if len(raw) == 0:
        raise InvalidInput(MESSAGE, [FieldError(field="(data)", message="the data has no rows")])
    if (label is None) != (bad is None):
        problems.append(FieldError(field="--label/--bad", message="give both --label and --bad, or neither"))
    types = fact_types(policy)
    needed = required_facts(policy, model)
    frame = raw.copy(deep=False)
    for name in needed:
        if name not in frame:
            problems.append(
                FieldError(field=name, message=f"column missing (the policy needs it; all {len(raw)} rows)")
            )
    for name in frame.columns:
        kind = types.get(str(name))
        if kind is None:
            continue
        typed, wrong = _coerce(frame[name], kind)
        if wrong.any() and name in needed:
            problems.append(FieldError(field=str(name), message=f"not a {kind} in {_rows(wrong)}"))
        frame[name] = typed
    if "application.product" in frame:
        products = frame["application.product"]
        unknown = products.notna().to_numpy() & ~products.isin(list(policy.products)).to_numpy(
            dtype=bool, na_value=False
        )
        absent = products.isna().to_numpy()
        if unknown.any():
            problems.append(
                FieldError(
                    field="application.product",
                    message=f"not a product of the policy ({', '.join(policy.products)}) in {_rows(unknown)}",
                )
            )
        if absent.any():
            problems.append(FieldError(field="application.product", message=f"missing in {_rows(absent)}"))
    for name in ("application.term_months", "application.requested_amount"):
        if name in frame and frame[name].dtype.kind == "f":
            absent = frame[name].isna().to_numpy()
            if absent.any():
                problems.append(FieldError(field=name, message=f"missing in {_rows(absent)}"))
    labels, good = None, None
    if label is not None and bad is not None:
        labels, good, label_problems = _labels(frame, label, bad)
        problems += label_problems
    if problems:
        raise InvalidInput(MESSAGE, problems)
    if ID_COLUMN in frame:
        frame[ID_COLUMN] = frame[ID_COLUMN].map(category_key, na_action="ignore").astype(object)
    else:
        frame[ID_COLUMN] = pd.Series(
            [f"row-{i + 1}" for i in range(len(frame))], index=frame.index, dtype=object
        )
    frame = frame.reset_index(drop=True)
    return Prepared(frame, None if labels is None else np.asarray(labels, dtype=np.int8), good)


def _labels(
    frame: pd.DataFrame, label: str, bad: str
) -> tuple[np.ndarray | None, str | None, list[FieldError]]:
    """1 where the label is ``bad``, 0 where it is the one other value; problems otherwise."""
    import numpy as np

    if label not in frame:
        return None, None, [FieldError(field=label, message=f"label column missing (all {len(frame)} rows)")]
    text = frame[label].map(category_key, na_action="ignore")
    missing = text.isna().to_numpy()
    problems = []
    if missing.any():
        problems.append(FieldError(field=label, message=f"label missing in {_rows(missing)}"))
    is_bad = (text == category_key(bad)).to_numpy(dtype=bool)
    others = text[~is_bad & ~missing].value_counts()
    if not is_bad.any():
        seen = ", ".join(repr(v) for v in others.index[:5])
        problems.append(
            FieldError(
                field=label, message=f"the bad value {bad!r} does not occur (values: {seen or 'none'})"
            )
        )
    good = str(others.index[0]) if len(others) else None
    if len(others) > 1:
        unknown = ~is_bad & ~missing & (text != good).to_numpy(dtype=bool)
        values = ", ".join(repr(v) for v in others.index[1:6])
        problems.append(
            FieldError(
                field=label,
                message=f"unknown label values {values} in {_rows(unknown)} (bad is {bad!r}, good is {good!r})",
            )
        )
    return is_bad.astype(np.int8), good, problems
