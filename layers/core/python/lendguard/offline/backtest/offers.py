"""Limits and APRs for many rows, exactly as :func:`lendguard.decision.offer.make_offer` gives them.

The candidates (table, over-indebtedness, product maximum, requested amount, debt-to-income
ceiling), the binding one, the rounding and the band lookups are the same float64 operations
as the scalar code, so they are computed column-wise. Two steps of the scalar code work in
``Decimal``: the debt-to-income ceiling (rounded to cents) and the check that the rounded
schedule's highest instalment fits the room. Column-wise they are computed in float64, and
every row where that could differ from the ``Decimal`` result (a ceiling within a hair of a half
cent, an instalment within a few cents of the room, anything outside the schedule's domain)
is decided by ``make_offer`` itself. :attr:`OfferColumns.exact_rows` counts those rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from lendguard.core.schedule import MAX_TERM_MONTHS, MIN_PRINCIPAL_PER_MONTH
from lendguard.decision.offer import make_offer
from lendguard.decision.state import DecisionState
from lendguard.models.encoding import is_missing
from lendguard.offline.backtest.numeric import round_like_python
from lendguard.policy.schema import LEGAL_APR_CEILING, Policy, Product

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

INCOME_FACT = "applicant.monthly_income"
BELOW_BANDS = "score or income below the lowest band of the limit table"


@dataclass
class OfferColumns:
    """Per row: whether an offer was made, its limit and APR (NaN without), the binding cap, or why not."""

    ok: np.ndarray
    limit: np.ndarray
    apr: np.ndarray
    basis: np.ndarray  # object: the binding candidate's name, None without an offer
    failure: np.ndarray  # object: NO_AFFORDABLE_LIMIT's message, None otherwise
    points: np.ndarray  # the points the offer was priced at
    exact_rows: int = 0


def _numbers(frame: pd.DataFrame, name: str, rows: np.ndarray) -> np.ndarray:
    """``float(facts.get(name) or 0.0)`` for the rows: missing and zero are 0.0."""
    import numpy as np

    if name not in frame:
        return np.zeros(len(rows))
    values = frame[name].to_numpy(dtype=np.float64, na_value=np.nan)[rows]
    return np.where(np.isnan(values), 0.0, values)


def offer_columns(
    policy: Policy, frame: pd.DataFrame, points: np.ndarray, wanted: np.ndarray, now: datetime
) -> OfferColumns:
    """The offer for every row of ``wanted`` priced at ``points`` (``make_offer`` column-wise)."""
    import numpy as np

    n = len(frame)
    out = OfferColumns(
        ok=np.zeros(n, dtype=bool), limit=np.full(n, np.nan), apr=np.full(n, np.nan),
        basis=np.full(n, None, dtype=object), failure=np.full(n, None, dtype=object), points=points,
    )  # fmt: skip
    rows = np.flatnonzero(wanted)
    if not len(rows):
        return out
    limits = policy.limits
    products = frame["application.product"].to_numpy(dtype=object)[rows]
    months_all = frame["application.term_months"].to_numpy(dtype=np.float64)[rows]
    income_all = _numbers(frame, INCOME_FACT, rows)
    debt_all = _numbers(frame, limits.existing_debt_fact, rows)
    requested_all = frame["application.requested_amount"].to_numpy(dtype=np.float64)[rows]
    exact: list[int] = []
    whole_cents = abs(limits.rounding * 100 - round(limits.rounding * 100)) < 1e-9
    edges_s = np.asarray(limits.score_bands)
    edges_i = np.asarray(limits.income_bands)
    table = np.asarray(limits.table, dtype=np.float64)
    aprs = np.minimum(np.minimum(np.asarray(policy.pricing.apr_by_score_band), policy.pricing.apr_cap),
                      LEGAL_APR_CEILING)  # fmt: skip
    for name, product in policy.products.items():
        mine = np.flatnonzero(products == name)
        if not len(mine):
            continue
        idx = rows[mine]
        months = months_all[mine]
        income, debt, requested = income_all[mine], debt_all[mine], requested_all[mine]
        s_band = np.searchsorted(edges_s, points[idx], side="right") - 1
        i_band = np.searchsorted(edges_i, income, side="right") - 1
        no_band = (s_band < 0) | (i_band < 0)
        out.failure[idx[no_band]] = BELOW_BANDS
        s_band, i_band = np.maximum(s_band, 0), np.maximum(i_band, 0)
        apr = aprs[s_band]
        room = np.maximum(0.0, limits.max_dti * income - debt)
        r = apr / 12
        # The highest instalment per unit of principal; per-instalment fees (a fixed amount and a
        # share of the principal) are paid beside it and must fit the room too.
        fixed, share = _per_instalment_fees(product)
        with np.errstate(divide="ignore", invalid="ignore"):
            if product.repayment_method == "equal_principal":
                per_unit = 1.0 / months + r
            else:
                per_unit = np.where(r == 0, 1.0 / months, r / (1 - (1 + r) ** -months))
            left = room - fixed
            ceiling = np.where(left > 0, left / (per_unit + share), 0.0)
        cents = ceiling * 100
        shaky = np.abs(cents - np.floor(cents) - 0.5) < 1e-3
        dti_ceiling = round_like_python(ceiling, 2)
        names = ["table"]
        columns = [table[s_band, i_band]]
        if limits.indebtedness:
            with np.errstate(divide="ignore"):
                dti = np.where(income > 0, debt / np.where(income > 0, income, 1.0), np.inf)
            factor = np.ones(len(idx))
            stepped = np.zeros(len(idx), dtype=bool)
            for step in limits.indebtedness:
                at = dti >= step.min_dti
                factor = np.where(at, step.factor, factor)
                stepped |= at
            # online the candidate exists only when a step applies: elsewhere it cannot bind
            columns.append(np.where(stepped, columns[0] * factor, np.inf))
            names.append("indebtedness")
        names += ["product maximum", "requested amount", "debt-to-income ceiling"]
        columns += [np.full(len(idx), product.max_amount), requested, dti_ceiling]
        stack = np.vstack(columns)
        binding = np.argmin(stack, axis=0)
        value = stack[binding, np.arange(len(idx))]
        limit = np.floor(value / limits.rounding + 1e-9) * limits.rounding
        below_min = limit < product.min_amount
        # The highest instalment of the rounded schedule with its fees, within a few cents.
        top = limit * (per_unit + share) + fixed
        slack = 0.01 * months + 0.02 + 0.01 * len(product.fees)
        fits = top + slack < room
        domain = (
            (months >= 1) & (months <= MAX_TERM_MONTHS) & (limit >= float(MIN_PRINCIPAL_PER_MONTH) * months)
        )
        capped = _near_cost_cap(policy, product, months, apr)
        sure = ~no_band & (
            (below_min & ~shaky) | (~below_min & fits & domain & ~shaky & whole_cents & ~capped)
        )
        for j in np.flatnonzero(~no_band & ~sure).tolist():
            exact.append(int(idx[j]))
        done = sure & ~below_min
        out.ok[idx[done]] = True
        out.limit[idx[done]] = limit[done]
        out.apr[idx[done]] = apr[done]
        name_arr = np.asarray(names, dtype=object)
        out.basis[idx[done]] = name_arr[binding[done]]
        for j in np.flatnonzero(sure & below_min).tolist():
            out.failure[idx[j]] = (
                f"limit {limit[j]:g} below the product minimum {product.min_amount:g} "
                f"(bound by {names[binding[j]]})"
            )
    unknown = np.flatnonzero(~np.isin(products, list(policy.products)))
    if len(unknown):
        raise ValueError(f"unknown product {products[unknown[0]]!r} in row {int(rows[unknown[0]])}")
    for r_ in exact:
        _exact_row(policy, frame, r_, float(points[r_]), now, out)
    out.exact_rows = len(exact)
    return out


def _per_instalment_fees(product: Product) -> tuple[float, float]:
    """(fixed amount, share of the principal) charged with every instalment."""
    per = [f for f in product.fees if f.timing == "per_instalment"]
    fixed = sum(f.amount for f in per if f.amount is not None)
    share = sum(f.rate for f in per if f.rate is not None)
    return float(fixed), float(share)


def _near_cost_cap(policy: Policy, product: Product, months: np.ndarray, apr: np.ndarray) -> np.ndarray:
    """Rows whose rate the cost cap might lower: those go to ``make_offer`` itself.

    The comprehensive cost of a (term, rate) is highest at the product's smallest principal (fixed
    fees and cent rounding weigh most there), so one exact schedule per pair decides it; a margin
    keeps rows within a hair of the cap on the exact path.
    """
    import numpy as np

    from lendguard.core.cost import within_cap
    from lendguard.core.schedule import ScheduleError, build_schedule

    pricing = policy.pricing
    cap = Decimal(str(pricing.effective_cost_cap)) - Decimal("0.001")
    out = np.zeros(len(months), dtype=bool)
    pairs = {(int(m), float(a)) for m, a in zip(months.tolist(), apr.tolist(), strict=True) if m == int(m)}
    start = date(2026, 1, 1)  # the cost does not depend on the calendar, only on the flows
    for m, a in pairs:
        try:
            schedule = build_schedule(
                Decimal(str(product.min_amount)),
                Decimal(str(a)),
                m,
                start,
                product.repayment_method,
                product.fees,
            )
            risky = not within_cap(schedule, cap, pricing.cost_annualisation)
        except ScheduleError:
            risky = True
        if risky:
            out |= (months == m) & (apr == a)
    return out


def _exact_row(
    policy: Policy, frame: pd.DataFrame, row: int, points: float, now: datetime, out: OfferColumns
) -> None:
    """``make_offer`` itself for one row, on a state holding only the facts it reads."""
    names = ("application.product", "application.term_months", "application.requested_amount", INCOME_FACT,
             policy.limits.existing_debt_fact)  # fmt: skip
    facts: dict[str, Any] = {}
    for name in names:
        if name in frame:
            value = frame[name].iloc[row]
            facts[name] = None if is_missing(value) else value
    # make_offer reads only the facts and the application's submission time: a light stand-in
    # (a pydantic model_construct costs milliseconds here)
    state = cast(DecisionState, SimpleNamespace(facts=facts, application={}))
    offer, why = make_offer(state, policy, points, now)
    if offer is None:
        out.failure[row] = why
    else:
        out.ok[row] = True
        out.limit[row] = offer.credit_limit
        out.apr[row] = offer.apr
        out.basis[row] = why
