"""Re-loan pricing for a whole shard: each distinct offer fitted to the cost cap once.

An in-loan offer is (product, amount, APR); 100,000 accounts make only a few hundred distinct
ones, and the same ones again in the next shard and the next night. Each distinct offer is fitted
(:func:`fit_reloan_apr`: the APR lowered as far as needed for the comprehensive cost to stay
within the cap on every term of the product) once, and the answer is remembered in a bounded
module-level cache for the life of the container, so the shards a warm Lambda container runs
share it. The cache key holds everything the answer depends on: the product's terms, repayment
method, fees and minimum, the pricing's cap, annualisation, lowest rate and step, the offer and
its start date; a policy that changes any of these is a different key, never a stale answer.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from lendguard.core.cost import CostCapError, fit_rate_to_cap
from lendguard.core.schedule import ScheduleError

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
    for k, (code, amount, rate) in enumerate(distinct.tolist()):
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
