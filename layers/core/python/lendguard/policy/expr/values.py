"""Values of the expression language: MISSING, normalising facts and parameters, type names."""

from __future__ import annotations

import numbers
import sys
from decimal import Decimal
from typing import Any

MISSING = None
"""The value of a missing fact, and of any computation on one."""

_BAD = object()  # a value of a type the language does not know


def _norm(value: Any) -> Any:
    """Bring a fact or parameter value into the language: float, str, bool, None or ``_BAD``."""
    t = type(value)
    if t is float:
        return value if value == value else None
    if value is None or t is str or t is bool:
        return value
    if t is int:
        try:
            return float(value)
        except OverflowError:
            return _BAD
    if isinstance(value, str):
        return str.__str__(value)
    np_mod = sys.modules.get("numpy")
    if np_mod is not None and isinstance(value, np_mod.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        try:
            return float(int(value))
        except OverflowError:
            return _BAD
    if isinstance(value, (numbers.Real, Decimal)):
        try:
            f = float(value)
        except (ValueError, OverflowError):
            return _BAD
        return f if f == f else None
    pd_mod = sys.modules.get("pandas")
    if pd_mod is not None and (value is pd_mod.NA or value is pd_mod.NaT):
        return None
    return _BAD


def _type_name(value: Any) -> str:
    if value is None:
        return "missing"
    if value is True or value is False:
        return "boolean"
    if type(value) is float:
        return "number"
    if type(value) is str:
        return "string"
    return type(value).__name__
