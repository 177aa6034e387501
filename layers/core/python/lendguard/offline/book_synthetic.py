"""A deterministic synthetic loan book (offline: behaviour training, the demo book, benchmarks).

``book_table(n, seed, as_of)`` draws ``n`` accounts at once with numpy (a million in a few
seconds) as snapshot rows (:data:`lendguard.book.snapshot.SNAPSHOT_COLUMNS`) plus two labels:

- ``bad_6m``: the account reaches 30+ days past due within the next six months (the behaviour
  model's label);
- ``roll_30``: an account already past due rolls on to 30+ days past due (the roll-rate model's
  label; its complement is the repayment probability).

How an account is drawn. Each customer has a hidden risk ``r ~ N(0, 1)``. Product: 75% the
revolving line (limits 1,000-20,000, log-normal around 6,000), 25% the single draw (300-5,000).
Months on book: uniform 0-36. Repayment history follows the risk:

    P(past due now)        = sigmoid(-3.2 + 1.3 r)          days past due: geometric, mean 20 (max 180)
    P(any dpd in 12 months) = sigmoid(-2.0 + 1.2 r)          max_dpd_12m >= max_dpd_3m >= days_past_due
    payment_ratio_3m       = clip(1 - |N(0.05 + 0.12 r, 0.15)|-ish, 0, 1.2)
    utilisation            = Beta(2 + r_+, 2) for revolving lines (single draws: balance / limit)

Planted signal of the labels (logit):

    bad_6m  = -4.2 + 1.1 r + 0.025 days_past_due + 0.012 max_dpd_12m + 1.2 utilisation
              - 1.5 (payment_ratio_3m - 1) + 0.15 draws_3m - 0.02 months_on_book + N(0, 0.4)
    roll_30 = -2.6 + 0.9 r + 0.03 days_past_due - 2.0 (payment_ratio_3m - 1) + N(0, 0.4)

(``bad_6m`` lands near 8%; ``roll_30`` near 35% of past-due accounts.) Servicing flags: 4%
complained in the last year, 2% vulnerable, 1.5% disputed, 10% reachable through their own
emergency contact only; contacts today 0-3 for past-due accounts. Status: CHARGED_OFF at 90+
dpd; FROZEN for 70% of accounts 30+ dpd within three months (the others await the next run).

Customer keys are 64 hex digits from the generator (they look like, and stand in for, keyed
hashes: there is no clear identifier behind them). The same ``(n, seed, as_of)`` gives the same
table, bit for bit.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

BEHAVIOUR_FEATURES = (
    "utilisation", "months_on_book", "days_past_due", "max_dpd_3m", "max_dpd_12m", "payment_ratio_3m",
    "draws_3m", "limit_changes_12m", "days_since_limit_change", "loans_repaid", "arrears",
)  # fmt: skip
ROLLRATE_FEATURES = (
    "days_past_due", "max_dpd_3m", "max_dpd_12m", "payment_ratio_3m", "utilisation", "months_on_book",
    "arrears", "balance", "complaints_12m",
)  # fmt: skip
LABELS = ("bad_6m", "roll_30")
DEFAULT_SEED = 7


def _sigmoid(x: Any) -> Any:
    import numpy as np

    return 1.0 / (1.0 + np.exp(-x))


def _hex_keys(raw: Any) -> Any:
    """64 hex digits per row of 32 random bytes, as an Arrow string array (vectorised)."""
    import numpy as np
    import pyarrow as pa

    pairs = np.array([f"{i:02x}".encode() for i in range(256)], dtype="S2")
    data = np.ascontiguousarray(pairs[raw]).tobytes()
    offsets = np.arange(0, 64 * (len(raw) + 1), 64, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), len(raw), [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _labels(names: tuple[str, ...], index: Any) -> Any:
    """``names[index]`` per row as an Arrow string array (a take, not Python strings)."""
    import pyarrow as pa

    return pa.array(names, pa.string()).take(pa.array(index))


def _account_ids(n: int) -> Any:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    digits = pc.utf8_lpad(pc.cast(pa.array(np.arange(n)), pa.string()), 8, "0")
    return pc.binary_join_element_wise("BK-", digits, "")


def book_columns(n: int, seed: int = DEFAULT_SEED, as_of: date | None = None) -> dict[str, Any]:
    """The synthetic book as numpy columns (snapshot columns + labels); see the module docstring."""
    import numpy as np

    as_of = as_of or date(2026, 11, 1)
    rng = np.random.default_rng(seed)
    r = rng.standard_normal(n)
    revolving = rng.random(n) < 0.75
    limit = np.where(
        revolving,
        np.clip(np.round(np.exp(rng.normal(np.log(6000), 0.6, n)), -2), 1000, 20000),
        np.clip(np.round(np.exp(rng.normal(np.log(2000), 0.5, n)), -2), 300, 5000),
    )
    mob = rng.integers(0, 37, n)
    past_due = rng.random(n) < _sigmoid(-3.2 + 1.3 * r)
    dpd = np.where(past_due, np.minimum(rng.geometric(1 / 20, n), 180), 0)
    any_12m = past_due | (rng.random(n) < _sigmoid(-2.0 + 1.2 * r))
    max_12m = np.maximum(dpd, np.where(any_12m, np.minimum(rng.geometric(1 / 12, n), 120), 0))
    max_3m = np.maximum(dpd, np.where(rng.random(n) < 0.5, max_12m, 0))
    max_12m = np.where(mob == 0, dpd, max_12m)
    max_3m = np.minimum(max_3m, max_12m)
    ratio = np.clip(1.0 - np.abs(rng.normal(0.05 + 0.12 * r, 0.15, n)) - 0.3 * past_due, 0.0, 1.2)
    util = np.where(revolving, rng.beta(2 + np.clip(r, 0, None), 2, n), rng.uniform(0.2, 1.0, n))
    balance = np.round(limit * util, 2)
    draws = np.where(revolving, rng.poisson(0.6 + 0.3 * np.clip(r, 0, None), n), 0)
    changes = rng.poisson(0.3, n)
    since = np.minimum(rng.integers(0, 400, n), mob * 30 + 1)
    repaid = rng.poisson(np.clip(mob / 8.0, 0.0, None), n)
    arrears = np.where(past_due, np.round(balance * rng.uniform(0.05, 0.3, n), 2), 0.0)
    apr = np.round(rng.choice([0.18, 0.21, 0.24, 0.28], n), 4)
    bad = rng.random(n) < _sigmoid(
        -4.2 + 1.1 * r + 0.025 * dpd + 0.012 * max_12m + 1.2 * util - 1.5 * (ratio - 1) + 0.15 * draws
        - 0.02 * mob + rng.normal(0, 0.4, n)
    )  # fmt: skip
    roll = past_due & (
        rng.random(n) < _sigmoid(-2.6 + 0.9 * r + 0.03 * dpd - 2.0 * (ratio - 1) + rng.normal(0, 0.4, n))
    )
    # Most accounts 30+ dpd in the last 3 months are frozen already; the rest await tonight's run.
    frozen = (max_3m >= 30) & (rng.random(n) < 0.7)
    status = np.where(dpd >= 90, 2, np.where(frozen, 1, 0))
    keys = _hex_keys(rng.integers(0, 256, (n, 32), dtype=np.uint8))
    opened = np.datetime64(as_of) - (mob * 30.44).astype("timedelta64[D]")
    return {
        "account_id": _account_ids(n),
        "customer_key": keys,
        "product": _labels(("single", "revolving"), revolving.astype(np.int8)),
        "mode": _labels(("single_draw", "revolving"), revolving.astype(np.int8)),
        "status": _labels(("ACTIVE", "FROZEN", "CHARGED_OFF"), status),
        "opened_on": opened,
        "as_of": np.full(n, np.datetime64(as_of)),
        "credit_limit": limit.astype(np.float64),
        "balance": balance,
        "available": np.where(status == 0, np.round(np.maximum(limit - balance, 0.0), 2), 0.0),
        "apr": apr,
        "months_on_book": mob.astype(np.int64),
        "utilisation": np.round(util, 4),
        "days_past_due": dpd.astype(np.int64),
        "max_dpd_3m": max_3m.astype(np.int64),
        "max_dpd_12m": max_12m.astype(np.int64),
        "payment_ratio_3m": np.round(ratio, 4),
        "draws_3m": draws.astype(np.int64),
        "limit_changes_12m": changes.astype(np.int64),
        "days_since_limit_change": since.astype(np.int64),
        "loans_repaid": repaid.astype(np.int64),
        "arrears": arrears,
        "complaints_12m": (rng.random(n) < 0.04).astype(np.int64) * rng.integers(1, 3, n),
        "contacts_today": np.where(past_due, rng.integers(0, 4, n), 0).astype(np.int64),
        "vulnerable": rng.random(n) < 0.02,
        "disputed": rng.random(n) < 0.015,
        "emergency_contact_only": rng.random(n) < 0.10,
        "bad_6m": bad.astype(np.int64),
        "roll_30": roll.astype(np.int64),
    }


def book_table(n: int, seed: int = DEFAULT_SEED, as_of: date | None = None, labels: bool = True) -> Any:
    """The synthetic book as a ``pyarrow.Table`` with the snapshot schema (and the labels)."""
    import pyarrow as pa

    from lendguard.book.snapshot import arrow_schema

    columns = book_columns(n, seed, as_of)
    schema = arrow_schema()
    arrays = [pa.array(columns[f.name], f.type) for f in schema]
    table = pa.Table.from_arrays(arrays, schema=schema)
    if labels:
        for name in LABELS:
            table = table.append_column(name, pa.array(columns[name], pa.int64()))
    return table


def default_as_of(today: date) -> date:
    """The generator's observation date for ``today``: yesterday (the nightly run's date)."""
    return today - timedelta(days=1)
