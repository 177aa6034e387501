"""Shard aggregates merge exactly, and the report's numbers follow from the rows."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from lendguard.core.hashing import LOCAL_SECRET
from lendguard.offline.backtest.aggregates import aggregate, merge_all
from lendguard.offline.backtest.compare import compare
from lendguard.offline.backtest.data import prepare
from lendguard.offline.backtest.evaluator import REJECT, evaluate
from lendguard.offline.backtest.facts import fact_types, required_facts
from lendguard.offline.backtest.report import build_report, score_quality
from lendguard.offline.evaluation import metrics
from lendguard.offline.synthetic import LABEL_COLUMN, backtest_rows
from lendguard.policy.loader import load_policy_data

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def prepared(default_policy, default_model):
    _, rows, _ = backtest_rows(1500, 11, LOCAL_SECRET, default_policy, NOW)
    return prepare(pd.DataFrame(rows), default_policy, default_model, LABEL_COLUMN, "1")


@pytest.fixture(scope="module")
def stricter(default_policy):
    data = default_policy.model_dump(mode="json", exclude_none=True)
    data["version"] = 2
    data["cutoffs"] = {"review_min": 575, "approve_min": 600}
    for rule in data["vendor_groups"][2]["rules"]:
        if rule["id"] == "BUR_MULTI_LENDER_7D":
            rule["params"]["max_7d"] = 2
    return load_policy_data(data, "<stricter>")


def _shards(n: int, seed: int) -> list[tuple[int, int]]:
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, n), 4))
    bounds = [0, *cuts, n]
    return list(itertools.pairwise(bounds))


def test_shard_aggregates_merge_to_the_one_pass_result(prepared, default_policy, default_model) -> None:
    frame, labels = prepared.frame, prepared.labels
    whole = aggregate(evaluate(default_policy, default_model, frame, NOW), labels)
    parts = [
        aggregate(
            evaluate(default_policy, default_model, frame.iloc[a:b].reset_index(drop=True), NOW), labels[a:b]
        )
        for a, b in _shards(len(frame), 3)
    ]
    random.Random(5).shuffle(parts)  # any order
    merged = merge_all(parts)
    assert merged.model_dump() == whole.model_dump()
    assert merged.rows == len(frame)


def test_swap_aggregates_merge_to_the_one_pass_result(
    prepared, default_policy, default_model, stricter
) -> None:
    frame, labels = prepared.frame, prepared.labels
    whole = compare(
        evaluate(default_policy, default_model, frame, NOW),
        evaluate(stricter, default_model, frame, NOW),
        labels,
    )
    merged = None
    for a, b in _shards(len(frame), 8):
        shard = frame.iloc[a:b].reset_index(drop=True)
        part = compare(
            evaluate(default_policy, default_model, shard, NOW),
            evaluate(stricter, default_model, shard, NOW),
            labels[a:b],
        )
        merged = part if merged is None else merged.merge(part)
    assert merged is not None and merged.model_dump() == whole.model_dump()
    assert whole.swap_out.counts.n > 0  # the stricter policy rejects some rows the default accepts
    assert whole.swap_out.examples == sorted(whole.swap_out.examples)


def test_report_numbers_follow_from_the_rows(prepared, default_policy, default_model, stricter) -> None:
    frame, labels = prepared.frame, prepared.labels
    ev = evaluate(default_policy, default_model, frame, NOW)
    ev2 = evaluate(stricter, default_model, frame, NOW)
    report = build_report(
        default_policy,
        aggregate(ev, labels),
        {"source": "test"},
        (stricter, aggregate(ev2, labels), compare(ev, ev2, labels)),
    )
    decisions = np.array(ev.decisions())
    assert {o.decision: o.n for o in report.outcomes} == {
        d: int((decisions == d).sum()) for d in ("APPROVE", "REVIEW", "REJECT")
    }
    rejected = decisions == "REJECT"
    assert next(o for o in report.outcomes if o.decision == "REJECT").bad_rate == pytest.approx(
        labels[rejected].mean()
    )
    assert report.spend_per_1000 == pytest.approx(1000 * ev.vendor_cost.sum() / ev.n)
    assert sum(s.rejected for s in report.funnel) == int(rejected.sum())
    # AUC and KS from the exact histogram equal the rank-based metrics on the rows themselves
    scored = ev.scored
    assert report.score is not None
    assert report.score.auc == pytest.approx(metrics.auc(labels[scored], -ev.final_points[scored]), abs=1e-12)
    assert report.score.ks == pytest.approx(metrics.ks(labels[scored], -ev.final_points[scored]), abs=1e-12)
    # per rule: hits and precision as counted directly from the trace-like columns
    col = next(c for c in ev.rules if c.rule.id == "BUR_SEVERE_DELINQUENCY")
    row = next(r for r in report.rules if r.rule_id == "BUR_SEVERE_DELINQUENCY")
    hits = col.outcome == 4
    assert row.hits == int(hits.sum()) and row.precision == pytest.approx(labels[hits].mean())
    c = report.comparison
    assert c is not None
    swap_out = (ev.decision != REJECT) & (ev2.decision == REJECT)
    assert c.swap_out.n == int(swap_out.sum())
    assert c.swap_out.bad_rate == pytest.approx(labels[swap_out].mean())
    assert set(c.swap_out.examples) <= set(ev.application_ids[swap_out].tolist())
    assert sum(c.outcome_differences.values()) == 0


def test_score_quality_of_a_perfect_and_a_useless_score() -> None:
    perfect = {50_000: (10, 10), 60_000: (10, 0)}  # every bad below every good
    assert score_quality(perfect).auc == 1.0 and score_quality(perfect).ks == 1.0
    useless = {55_000: (20, 5)}  # all tied
    assert score_quality(useless).auc == 0.5 and score_quality(useless).ks == 0.0


def test_the_default_policy_needs_known_facts(default_policy, default_model) -> None:
    types = fact_types(default_policy)
    needed = required_facts(default_policy, default_model)
    assert set(needed) <= set(types)
    assert "bureau.multi_lender_7d" in needed and "lists.black.any" in needed
    assert not any(n.startswith(("features.", "score.")) for n in needed)
    assert types["bureau.thin_file"] == "boolean" and types["bureau.phone_tenure_months"] == "number"
