"""Re-loan pricing of a shard: each distinct offer found as np.unique finds it, priced as one by one."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
import yaml

from lendguard.book import pricing
from lendguard.policy.loader import load_policy_data

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("n", [1, 2, 7, 5000])
def test_distinct_rows_equal_numpy_unique(n):
    rng = np.random.default_rng(n)
    keys = np.column_stack([
        rng.integers(0, 3, n).astype(np.float64),
        np.floor(rng.uniform(10, 20, n)) * 100,
        np.round(rng.uniform(0.1, 0.12, n), 3),
    ])  # fmt: skip
    distinct, inverse = pricing._distinct_rows(keys)
    want, want_inverse = np.unique(keys, axis=0, return_inverse=True)
    assert np.array_equal(distinct, want) and np.array_equal(inverse, want_inverse.reshape(-1))
    assert np.array_equal(distinct[inverse], keys)


def test_distinct_rows_compare_values_as_numpy_unique_does():
    keys = np.array([[0, np.nan, 1], [0, np.nan, 1], [0, 1, -0.0], [0, 1, 0.0]])
    distinct, inverse = pricing._distinct_rows(keys)
    want, want_inverse = np.unique(keys, axis=0, return_inverse=True)
    assert np.array_equal(distinct, want, equal_nan=True) and inverse.tolist() == want_inverse.tolist()


def test_a_shard_of_offers_is_priced_as_each_offer_alone():
    policy = load_policy_data(yaml.safe_load((ROOT / "policies" / "default.yaml").read_text()))
    start = date(2026, 11, 2)
    product = next(iter(policy.products))
    rng = np.random.default_rng(3)
    n = 40
    products = np.array([product if k % 5 else "NO_SUCH_PRODUCT" for k in range(n)], dtype=object)
    amounts = np.floor(rng.uniform(10, 14, n)) * 100
    rates = np.round(rng.choice([0.12, 0.2, 0.3, 0.35], n), 4)
    pricing.clear_cache()
    got = pricing.price_reloans(policy, products, amounts, rates, start)
    assert np.isnan(got).any() and not np.isnan(got).all()  # offers dropped and offers made
    assert len(np.unique(got[~np.isnan(got)])) > 1
    for i in range(n):
        want = pricing.fit_reloan_apr(policy, str(products[i]), float(amounts[i]), float(rates[i]), start)
        assert (np.isnan(got[i]) and want is None) or got[i] == want, i


def _policy_variant(annualisation: str, fees: list[dict]):
    data = yaml.safe_load((ROOT / "policies" / "default.yaml").read_text())
    data.setdefault("pricing", {})["cost_annualisation"] = annualisation
    for product in data["products"].values():
        product["fees"] = fees
    return load_policy_data(data)


@pytest.mark.parametrize(
    ("annualisation", "fees"),
    [
        ("irr_x12", None),
        ("compounded", [{"name": "service", "timing": "per_instalment", "rate": 0.003}]),
        ("irr_x12", [{"name": "guarantee", "timing": "upfront", "rate": 0.02},
                     {"name": "membership", "timing": "per_instalment", "amount": 3.5}]),
    ],
)  # fmt: skip
def test_offers_cleared_without_a_fit_are_those_the_fit_prices_at_their_own_apr(annualisation, fees):
    policy = (
        load_policy_data(yaml.safe_load((ROOT / "policies" / "default.yaml").read_text()))
        if fees is None
        else _policy_variant(annualisation, fees)
    )
    start = date(2026, 11, 2)
    rng = np.random.default_rng(len(fees or ()))
    cleared = kept = 0
    for product_id, product in policy.products.items():
        n = 250
        amounts = np.floor(rng.uniform(product.min_amount * 0.8, product.max_amount, n) / 100) * 100
        rates = np.round(rng.uniform(0.05, 0.37, n), 4)
        clear = pricing._clearly_within_cap(policy, product, amounts, rates)
        for i in range(n):
            want = pricing.fit_reloan_apr(policy, product_id, float(amounts[i]), float(rates[i]), start)
            kept += want == float(rates[i])
            if clear[i]:
                cleared += 1
                assert want == float(rates[i]), (product_id, amounts[i], rates[i], want)
    # most offers the fit keeps are cleared without it; offers near or above the cap are not
    assert kept > cleared > 0.6 * kept
