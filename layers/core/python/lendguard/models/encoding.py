"""How a categorical value is written down, so training, the policy and online scoring agree.

A category is compared by its text form (:func:`category_key`): the same applicant field may
arrive as ``3`` from JSON, ``3.0`` from a CSV read by pandas or ``"3"`` from a policy file, and all
of them must land in the same bin. Standard library only: safe for the online scoring Lambda.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["category_key", "is_missing"]


def is_missing(value: Any) -> bool:
    """``None`` and NaN (anything not equal to itself, e.g. pandas' NA) are missing."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except (TypeError, ValueError):  # pd.NA refuses bool()
        return True


def category_key(value: Any) -> str:
    """The text form of a category: ``True`` → ``"true"``, ``3`` / ``3.0`` → ``"3"``, ``"a"`` → ``"a"``.

    Integral floats lose their ``.0`` so a number read from a CSV matches the same number sent as
    an integer; other floats use ``repr`` (shortest round-trip form). Missing values have no key:
    check :func:`is_missing` first.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value):
            return str(int(value))
        return repr(value)
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return category_key(value.item())
    return str(value)
