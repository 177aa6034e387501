"""What "bad" means for an evaluation, and the label of an account under that definition.

A definition reads ``ever_dpd>=N within M``: an account is bad when, on any day of its first M
months on book (from its first draw), some loan of it was N or more days past due, or was
charged off. It is *matured* for the definition once M whole months have passed since the first
draw; only matured accounts carry a final label (an immature one may still turn bad).

The default is ``ever_dpd>=30 within 6``. The text is parsed strictly: anything else is refused
with the expected form, never guessed at.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from pydantic import ConfigDict

from lendguard.core.base_model import Model
from lendguard.core.errors import FieldError, InvalidInput
from lendguard.core.schedule import add_months
from lendguard.outcomes.events import LoanEvent
from lendguard.outcomes.snapshot import by_loan, max_days_past_due

DEFAULT_BAD = "ever_dpd>=30 within 6"
MAX_WINDOW_MONTHS = 60
_PATTERN = re.compile(r"^ever_dpd\s*>=\s*(\d{1,4})\s+within\s+(\d{1,3})$")


class BadDefinition(Model):
    """``ever_dpd >= threshold`` on any day within ``months`` months on book (or charged off)."""

    model_config = ConfigDict(frozen=True)

    dpd: int = 30
    months: int = 6

    def __str__(self) -> str:
        return f"ever_dpd>={self.dpd} within {self.months}"


def parse_bad(text: str, field: str = "bad") -> BadDefinition:
    """Parse ``ever_dpd>=N within M``; :class:`InvalidInput` naming ``field`` otherwise."""
    match = _PATTERN.match(text.strip())
    problem = None
    if not match:
        problem = (
            f"must read 'ever_dpd>=N within M' (N days past due, M months on book), e.g. '{DEFAULT_BAD}'"
        )
    else:
        dpd, months = int(match.group(1)), int(match.group(2))
        if not 1 <= dpd <= 3650:
            problem = "N (days past due) must be from 1 to 3650"
        elif not 1 <= months <= MAX_WINDOW_MONTHS:
            problem = f"M (months on book) must be from 1 to {MAX_WINDOW_MONTHS}"
    if problem:
        raise InvalidInput("invalid bad definition", [FieldError(field=field, message=problem)])
    return BadDefinition(dpd=dpd, months=months)


class AccountLabel(Model):
    """An account's outcome under one definition at one observation date."""

    drawn: bool
    first_draw: date | None = None
    matured: bool = False
    bad: bool = False  # already bad by as_of (final once true, whether matured or not)
    max_dpd: int = 0  # within the definition's window, up to as_of
    charged_off: bool = False


def first_draw(events: Sequence[LoanEvent], as_of: date) -> date | None:
    draws = [e.date for e in events if e.type == "drawn" and e.date <= as_of]
    return min(draws) if draws else None


def label(events: Sequence[LoanEvent], definition: BadDefinition, as_of: date) -> AccountLabel:
    """Label one account (all events of one case) at ``as_of``."""
    start = first_draw(events, as_of)
    if start is None:
        return AccountLabel(drawn=False)
    window_end = add_months(start, definition.months)
    end = min(window_end, as_of)
    worst = max(
        (
            max_days_past_due([e for e in evs if e.date <= end], start, end)
            for evs in by_loan(events).values()
        ),
        default=0,
    )
    charged = any(e.type == "charged_off" and start <= e.date <= end for e in events)
    return AccountLabel(
        drawn=True, first_draw=start, matured=as_of >= window_end,
        bad=charged or worst >= definition.dpd, max_dpd=worst, charged_off=charged,
    )  # fmt: skip


def ever_dpd_by_month(
    events: Sequence[LoanEvent], thresholds: Sequence[int], as_of: date
) -> list[dict[int, bool]]:
    """For months on book 1, 2, ... (those fully observed by ``as_of``): whether the account had
    reached each dpd threshold at any day so far (the points of a vintage curve)."""
    start = first_draw(events, as_of)
    if start is None:
        return []
    loans = by_loan(events)
    out: list[dict[int, bool]] = []
    worst, month = 0, 1
    # Month by month: each month's worst day joins the running maximum (ever dpd so far).
    while add_months(start, month) <= as_of:
        low, high = add_months(start, month - 1), add_months(start, month)
        for evs in loans.values():
            worst = max(worst, max_days_past_due([e for e in evs if e.date <= high], low, high))
        charged = any(e.type == "charged_off" and e.date <= high for e in events)
        out.append({t: charged or worst >= t for t in thresholds})
        month += 1
    return out
