"""Early delinquency of recent vintages by score band: first-payment default, 7+ and 30+ dpd.

Joins repayment outcomes (loan events, :mod:`lendguard.outcomes`) to the approved cases' score
bands (the policy's ``limits.score_bands`` over the case's final points). Definitions, per
account (all loans of one approved case), observed ``as_of`` the report's last day:

* **vintage**: the calendar month of the account's first draw; *recent* vintages are the
  ``vintage_months`` months up to and including ``as_of``'s month;
* **first-payment default** (``fpd``): the account's first instalment (its earliest
  ``instalment_due``) was still unpaid ``fpd_days`` days after it fell due (the loan was
  ``fpd_days`` or more days past due that day). Observable once that day has passed;
* **7+ / 30+ dpd** (``dpd7`` / ``dpd30``): some loan of the account was 7 (30) or more days past
  due on any day from the draw to ``as_of``, or was charged off. Observable once the first
  instalment is 7 (30) days past its due date: before that no account can have reached it, so
  counting it would dilute the rate.

Each rate is over the accounts where it is observable (``n``), never over all accounts. A group
with fewer than ``min_accounts`` observable accounts is shown, never flagged.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from pydantic import Field

from lendguard.core.base_model import Model
from lendguard.core.schedule import add_months
from lendguard.outcomes.events import LoanEvent
from lendguard.outcomes.snapshot import by_loan, days_past_due, max_days_past_due

MEASURES: tuple[str, ...] = ("fpd", "dpd7", "dpd30")
_DPD = {"dpd7": 7, "dpd30": 30}


class AccountOutcome(Model):
    """One approved case with its loan events: what early delinquency reads (no identifiers)."""

    arm: str | None = None
    points: float | None = Field(default=None, description="The final points the decision priced")
    events: list[LoanEvent] = Field(default_factory=list)


class Rate(Model):
    """``k`` of ``n`` observable accounts."""

    n: int = 0
    k: int = 0

    @property
    def rate(self) -> float | None:
        return self.k / self.n if self.n else None


class BandRow(Model):
    """One score band of one vintage (``vintage`` None: every recent vintage together)."""

    vintage: str | None
    band: str
    accounts: int = 0
    fpd: Rate = Field(default_factory=Rate)
    dpd7: Rate = Field(default_factory=Rate)
    dpd30: Rate = Field(default_factory=Rate)


class EarlyDelinquency(Model):
    """The table behind the early-delinquency figures (one group: all cases, or one arm)."""

    arm: str | None = None
    as_of: date
    vintages: list[str]
    fpd_days: int
    rows: list[BandRow] = Field(default_factory=list)


def band_labels(edges: Sequence[float]) -> list[str]:
    """``"600-650"`` ... ``"700+"`` for lower edges ``[600, 650, 700]`` (and ``"<600"`` below them)."""
    labels = [f"<{edges[0]:g}"]
    for i, low in enumerate(edges):
        labels.append(f"{low:g}+" if i + 1 == len(edges) else f"{low:g}-{edges[i + 1]:g}")
    return labels


def band_of(points: float | None, edges: Sequence[float]) -> str:
    if points is None:
        return "unscored"
    return band_labels(edges)[bisect_right(list(edges), points)]


def recent_vintages(as_of: date, months: int) -> list[str]:
    """``YYYY-MM`` of the ``months`` calendar months up to ``as_of``'s, oldest first."""
    first = add_months(as_of.replace(day=1), -(months - 1))
    return [add_months(first, i).strftime("%Y-%m") for i in range(months)]


# How long after its decision an account's first draw is still looked for: an offer stands for
# days to weeks, so three months covers it with room (a later first draw is not monitored).
DRAW_LOOKBACK_MONTHS = 3


def earliest_case_day(as_of: date, months: int) -> date:
    """The first decision day whose accounts can have a first draw in a recent vintage."""
    return add_months(as_of.replace(day=1), -(months - 1 + DRAW_LOOKBACK_MONTHS))


def _account(
    events: Sequence[LoanEvent], as_of: date, fpd_days: int
) -> tuple[str, dict[str, bool | None]] | None:
    """The account's vintage and, per measure, whether it is bad (None: not observable yet)."""
    seen = [e for e in events if e.date <= as_of]
    draws = [e.date for e in seen if e.type == "drawn"]
    if not draws:
        return None
    drawn = min(draws)
    dues = sorted((e for e in seen if e.type == "instalment_due"), key=lambda e: (e.date, e.event_id))
    out: dict[str, bool | None] = dict.fromkeys(MEASURES)
    charged = any(e.type == "charged_off" for e in seen)
    if dues:
        first_due = dues[0]
        check = first_due.date + timedelta(days=fpd_days)
        if check <= as_of:
            loan = [e for e in seen if e.loan_id == first_due.loan_id]
            out["fpd"] = days_past_due(loan, check) >= fpd_days
        loans = by_loan(seen).values()
        worst = max((max_days_past_due(evs, drawn, as_of) for evs in loans), default=0)
        for measure, dpd in _DPD.items():
            if first_due.date + timedelta(days=dpd) <= as_of or charged or worst >= dpd:
                out[measure] = charged or worst >= dpd
    elif charged:
        out.update(dpd7=True, dpd30=True)
    return drawn.strftime("%Y-%m"), out


def early_delinquency(
    accounts: Iterable[AccountOutcome],
    as_of: date,
    score_bands: Sequence[float],
    vintage_months: int,
    fpd_days: int,
    arm: str | None = None,
) -> EarlyDelinquency:
    """Rows per (recent vintage, score band) and per band over all recent vintages (``vintage`` None)."""
    vintages = recent_vintages(as_of, vintage_months)
    rows: dict[tuple[str | None, str], BandRow] = {}
    for account in accounts:
        found = _account(account.events, as_of, fpd_days)
        if found is None or found[0] not in vintages:
            continue
        vintage, flags = found
        band = band_of(account.points, score_bands)
        for key in ((vintage, band), (None, band)):
            row = rows.setdefault(key, BandRow(vintage=key[0], band=band))
            row.accounts += 1
            for measure, bad in flags.items():
                if bad is not None:
                    rate: Rate = getattr(row, measure)
                    rate.n += 1
                    rate.k += int(bad)
    order = {label: i for i, label in enumerate([*band_labels(score_bands), "unscored"])}
    ordered = sorted(rows.values(), key=lambda r: (r.vintage is None, r.vintage or "", order[r.band]))
    return EarlyDelinquency(arm=arm, as_of=as_of, vintages=vintages, fpd_days=fpd_days, rows=ordered)
