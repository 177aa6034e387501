"""Re-loan pricing for a whole shard: each distinct offer fitted to the cost cap once.

An in-loan offer is (product, amount, APR); 100,000 accounts make only a few hundred distinct
ones, and the same ones again in the next shard and the next night. Each distinct offer is fitted
(:func:`fit_reloan_apr`: the APR lowered as far as needed for the comprehensive cost to stay
within the cap on every term of the product) once, and the answer is remembered in a bounded
module-level cache for the life of the container, so the shards a warm Lambda container runs
share it. The cache key holds everything the answer depends on: the product's terms, repayment
method, fees and minimum, the pricing's cap, annualisation, lowest rate and step, the offer and
its start date; a policy that changes any of these is a different key, never a stale answer.

Before any of that, one vectorised pass (:func:`_clearly_within_cap`) takes out the offers whose
comprehensive cost at their own APR is below the cap on every term by more than rounding to the
cent could ever close: their answer is their APR, exactly what the fit gives them. Only the offers
near (or above) the cap, or near a limit a schedule must respect, are fitted one by one.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from lendguard.core.cost import CostCapError, fit_rate_to_cap, monthly_rate_of
from lendguard.core.schedule import (
    MAX_TERM_MONTHS,
    MIN_FIRST_PRINCIPAL,
    MIN_PRINCIPAL_PER_MONTH,
    ScheduleError,
)

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from lendguard.policy.schema import Policy, Product

_CACHE_SIZE = 65_536
_cache: OrderedDict[tuple[object, ...], float | None] = OrderedDict()


def fit_reloan_apr(policy: Policy, product_id: str, amount: float, apr: float, start: date) -> float | None:
    """The re-loan APR within the cost cap on every term of the product, or None (no offer)."""
    product = policy.products.get(product_id)
    if product is None or amount < product.min_amount:
        return None
    pricing = policy.pricing
    rate = Decimal(str(apr))
    for term in sorted(set(product.terms)):
        try:
            schedule = fit_rate_to_cap(
                Decimal(str(amount)).quantize(Decimal("0.01")), term, start, product.repayment_method, product.fees,
                apr=rate, floor=min(rate, Decimal(str(pricing.lowest_apr))),
                cap=Decimal(str(pricing.effective_cost_cap)), annualisation=pricing.cost_annualisation,
                step=Decimal(str(pricing.apr_step)),
            )  # fmt: skip
        except (CostCapError, ScheduleError):
            return None
        rate = min(rate, schedule.apr)
    return float(rate)


def _product_key(product: Product | None) -> str | None:
    return None if product is None else product.model_dump_json()


def _pricing_key(policy: Policy) -> tuple[object, ...]:
    pricing = policy.pricing
    return (pricing.effective_cost_cap, pricing.cost_annualisation, pricing.lowest_apr, pricing.apr_step)


def price_reloans(
    policy: Policy, products: np.ndarray, amounts: np.ndarray, rates: np.ndarray, start: date
) -> np.ndarray:
    """The fitted APR of each offer (``products[i]`` an id, ``amounts[i]``, ``rates[i]``), NaN where
    there is none; identical to :func:`fit_reloan_apr` offer by offer."""
    import numpy as np

    out = np.full(len(amounts), np.nan)
    if not len(amounts):
        return out
    ids, product_code = np.unique(np.asarray(products, dtype=object).astype(str), return_inverse=True)
    keys = np.column_stack([product_code.astype(np.float64), amounts, rates])
    distinct, inverse = _distinct_rows(keys)
    pricing_key = _pricing_key(policy)
    product_keys = [_product_key(policy.products.get(str(pid))) for pid in ids.tolist()]
    fitted = np.empty(len(distinct))
    clear = np.zeros(len(distinct), dtype=bool)
    for code, product_id in enumerate(ids.tolist()):
        product = policy.products.get(str(product_id))
        rows = np.flatnonzero(distinct[:, 0] == code)
        if product is not None and len(rows):
            clear[rows] = _clearly_within_cap(policy, product, distinct[rows, 1], distinct[rows, 2])
    for k, (code, amount, rate) in enumerate(distinct.tolist()):
        if clear[k]:  # the fit would keep the offer's own APR on every term
            fitted[k] = float(Decimal(str(rate)))
            continue
        product_id = str(ids[int(code)])
        key = (product_keys[int(code)], product_id, pricing_key, amount, rate, start)
        if key in _cache:
            _cache.move_to_end(key)
            value = _cache[key]
        else:
            value = fit_reloan_apr(policy, product_id, amount, rate, start)
            _cache[key] = value
            if len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
        fitted[k] = np.nan if value is None else value
    out[:] = fitted[inverse]
    return out


def _clearly_within_cap(
    policy: Policy, product: Product, amounts: np.ndarray, rates: np.ndarray
) -> np.ndarray:
    """Offers of ``product`` (``amounts``, APRs ``rates``) that :func:`fit_reloan_apr` prices at
    their own APR, decided in floats with margins no rounding can close; False means "not sure"
    (the exact fit decides), never "no".

    Per term, the schedule at the APR is valid (principal well above the minimum a schedule needs,
    the APR in (0, 1), the upfront fees well below the principal) and its comprehensive cost within
    the cap: the present value at the cap's monthly rate of the borrower's flows, received less
    paid, is at least 0 (``within_cap``). The exact flows are the unrounded ones here but for the
    cents: the level payment or principal part and each month's interest rounded (the last
    instalment takes up the drift they leave), each fee rounded; none is discounted by more than 1,
    so the exact value is within ``_slack(months, fees)`` of the float one, far more than the float
    arithmetic's own error. An offer whose float value clears that slack is within the cap.
    """
    import numpy as np

    if product.repayment_method not in ("annuity", "equal_principal"):
        return np.zeros(len(amounts), dtype=bool)
    with np.errstate(all="ignore"):  # rows already not clear (a zero rate) may divide by zero
        return _clear_rows(policy, product, amounts, rates)


def _clear_rows(policy: Policy, product: Product, amounts: np.ndarray, rates: np.ndarray) -> np.ndarray:
    import numpy as np

    pricing = policy.pricing
    cap_monthly = float(monthly_rate_of(Decimal(str(pricing.effective_cost_cap)), pricing.cost_annualisation))
    clear = (amounts >= product.min_amount) & (rates > 0) & (rates < 0.99) & np.isfinite(amounts)
    clear &= np.isfinite(rates) & (cap_monthly > 0)
    upfront = np.zeros(len(amounts))
    each = np.zeros(len(amounts))
    for fee in product.fees:
        cost = fee.amount if fee.amount is not None else fee.rate * amounts
        if fee.timing == "upfront":
            upfront = upfront + cost
        else:
            each = each + cost
    received = amounts - upfront
    clear &= received > 0.5 * amounts
    v = 1.0 / (1.0 + cap_monthly)
    for months in sorted(set(product.terms)):
        if not 1 <= months <= MAX_TERM_MONTHS:
            return np.zeros(len(amounts), dtype=bool)
        r = rates / 12.0
        growth = (1.0 + r) ** months
        clear &= growth <= 2.0  # the drift bound of _slack holds
        # the schedule's own minimums (_check_terms), with room to spare
        least = float(MIN_PRINCIPAL_PER_MONTH) * months
        if product.repayment_method == "annuity":
            least = np.maximum(least, float(MIN_FIRST_PRINCIPAL) * (growth - 1.0) / np.where(r > 0, r, 1.0))
        clear &= amounts >= 2.0 * least + 1.0
        k = np.arange(1, months + 1, dtype=np.float64)
        discount = v**k  # month k's discount factor at the cap
        if product.repayment_method == "annuity":
            level = amounts * r / (1.0 - (1.0 + r) ** -months)
            paid = (level + each) * discount.sum()
        else:  # equal principal: p / n a month plus the interest on what is still owed
            owed = amounts[:, None] * (1.0 - (k - 1.0) / months)[None, :]
            paid = ((amounts / months + each)[:, None] + owed * r[:, None]) @ discount
        clear &= received - paid >= _slack(months, len(product.fees))
    return clear


def _slack(months: int, fees: int) -> float:
    """How far rounding to the cent can move a schedule's present value (currency units), for a
    monthly rate below 8.25% whose growth over the term is at most 2x: the level payment or each
    principal part (a cent a month), each month's interest (half a cent, plus the rate times the
    balance's drift, under a cent a month so far), the last instalment's catch-up of that drift (two
    cents a month), each fee charge (half a cent); doubled, plus one unit for the float arithmetic."""
    return 2.0 * (0.035 * months + 0.001 * months * months + 0.01 + 0.005 * fees * (months + 1)) + 1.0


def _distinct_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, axis=0, return_inverse=True)`` for a float64 matrix, by a sort of the rows
    and one comparison of neighbours (np.unique's row view cost ~6x this on a shard). Rows are
    equal as np.unique finds them: value by value (0.0 and -0.0 alike, a NaN unlike any row)."""
    import numpy as np

    order = np.lexsort(keys.T[::-1])  # the first column the primary key: np.unique's row order
    ordered = keys[order]
    first = np.empty(len(keys), dtype=bool)
    first[:1] = True
    first[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
    inverse = np.empty(len(keys), dtype=np.intp)
    inverse[order] = np.cumsum(first) - 1
    return ordered[first], inverse


def clear_cache() -> None:
    """Forget every fitted offer (benchmarks measuring a cold container)."""
    _cache.clear()
