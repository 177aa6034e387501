"""Float64 helpers that reproduce the scalar code's rounding exactly."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def round_like_python(values: np.ndarray, digits: int) -> np.ndarray:
    """``round(v, digits)`` of Python for every value (correctly rounded, half to even).

    numpy's ``round`` scales, rounds and scales back, which differs from Python's only for values
    within a hair of a half step: those few are rounded by Python itself.
    """
    import numpy as np

    scaled = values * 10.0**digits
    out = np.round(values, digits)
    frac = np.abs(scaled - np.floor(scaled) - 0.5)
    near = np.flatnonzero(frac < 1e-6)
    if len(near):
        out[near] = [round(v, digits) if v == v else v for v in values[near].tolist()]
    return out


def near_half(values: np.ndarray, digits: int) -> np.ndarray:
    """Where ``values`` scaled by 10**digits lie within a hair of a half step (rounding is delicate)."""
    import numpy as np

    scaled = values * 10.0**digits
    return np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6
