"""One policy, two evaluators: the column evaluator decides exactly as the in-process pipeline.

Thousands of generated applications (with planted list entries and vendors that fail for some
applicants, so ``on_missing`` matters) are decided both ways; decisions, reasons, limits, APRs
and vendor spend must be identical and scores equal to 1e-9. A property test does the same on
random variations of the default policy.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lendguard.core.application import parse_application
from lendguard.core.hashing import LOCAL_SECRET
from lendguard.decision.offer import make_offer
from lendguard.decision.pipeline import MemoryLists, Pipeline
from lendguard.decision.state import DecisionState
from lendguard.offline.backtest.data import prepare
from lendguard.offline.backtest.evaluator import Evaluation, evaluate
from lendguard.offline.backtest.offers import offer_columns
from lendguard.offline.project import default_policy_path
from lendguard.offline.synthetic import LABEL_COLUMN, backtest_rows
from lendguard.policy.loader import load_policy_data
from lendguard.policy.schema import Policy
from lendguard.vendors.base import ProviderRegistry, SimulatedProvider
from lendguard.vendors.errors import VendorError

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
N = 2500
DOWN_SHARE = 0.04  # each vendor fails for this share of applicants (by application id)


def _down(application_id: str, vendor_id: str) -> bool:
    digest = hashlib.sha256(f"down:{vendor_id}:{application_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < DOWN_SHARE


class FlakyProvider(SimulatedProvider):
    """The simulated vendor, failing (not retryable) for a fixed set of applications."""

    def fetch(self, subject, application):
        if _down(str(application["application_id"]), self.vendor.id):
            raise VendorError("simulated outage", retryable=False)
        return super().fetch(subject, application)


class World:
    """Generated applications, their list entries, and the table of facts a backtest reads."""

    def __init__(self, policy: Policy) -> None:
        apps, rows, entries = backtest_rows(N, 5, LOCAL_SECRET, policy, NOW)
        self.apps = [parse_application(a, policy.products) for a in apps]
        self.entries = entries
        for row in rows:  # what the vendors that failed online left in the history: nothing
            for vendor in policy.vendors:
                if _down(row["application_id"], vendor.id):
                    for name in [k for k in row if k.startswith(f"{vendor.id}.")]:
                        row[name] = None
        self.raw = pd.DataFrame(rows)

    def pipeline_states(self, policy: Policy, model, n: int) -> list[DecisionState]:
        # The breaker's clock leaps on every reading, so a run of outages never opens it: each
        # row's vendors answer or fail on their own, as the table records them.
        ticks = itertools.count(step=10_000)
        registry = ProviderRegistry(monotonic=lambda: float(next(ticks)))
        for vendor in policy.vendors:
            registry.register(vendor.id, FlakyProvider(vendor))
        pipeline = Pipeline(policy, model, LOCAL_SECRET, lookup=MemoryLists(self.entries), providers=registry)
        return [pipeline.decide(app, f"C{i}", NOW) for i, app in enumerate(self.apps[:n])]

    def evaluation(self, policy: Policy, model, n: int) -> Evaluation:
        prepared = prepare(self.raw.iloc[:n], policy, model, LABEL_COLUMN, "1")
        return evaluate(policy, model, prepared.frame, NOW)


@pytest.fixture(scope="module")
def world(default_policy) -> World:
    return World(default_policy)


def assert_same(states: list[DecisionState], ev: Evaluation) -> None:
    """Every row decided alike: decision, reasons, limit, APR, spend, halting stage, scores."""
    reasons = ev.reasons()
    decisions = ev.decisions()
    for i, state in enumerate(states):
        where = f"row {i} ({state.application['application_id']})"
        assert decisions[i] == state.decision, where
        assert [(r.code, r.message, r.source) for r in reasons[i]] == [
            (r.code, r.message, r.source) for r in state.reasons
        ], where
        offer = state.offer
        assert bool(ev.offers.ok[i]) == (offer is not None), where
        if offer is not None:
            assert ev.offers.limit[i] == offer.credit_limit, where
            assert ev.offers.apr[i] == offer.apr, where
        assert ev.vendor_cost[i] == state.vendor_cost, where
        halted = None if ev.halted_at[i] < 0 else ev.stages[ev.halted_at[i]]
        assert halted == state.halted_at, where
        if state.score is None:
            assert not ev.scored[i], where
        else:
            assert ev.scored[i], where
            assert abs(ev.pd[i] - state.score.pd) <= 1e-9, where
            assert abs(ev.model_points[i] - state.score.points) <= 1e-9, where
            assert abs(ev.final_points[i] - state.score.final_points) <= 1e-9, where
            assert bool(ev.reliable[i]) == state.score.reliable, where
            assert ev.missing_inputs(i) == state.score.missing_inputs, where


def test_column_evaluator_decides_thousands_of_applications_as_the_pipeline(
    world, default_policy, default_model
) -> None:
    states = world.pipeline_states(default_policy, default_model, N)
    ev = world.evaluation(default_policy, default_model, N)
    assert_same(states, ev)
    # The data exercised what matters: every outcome, rejects at several stages, missing data.
    counts = pd.Series(ev.decisions()).value_counts()
    assert {"APPROVE", "REVIEW", "REJECT"} <= set(counts.index)
    assert len({s.halted_at for s in states if s.halted_at}) >= 4
    assert any(r.outcome == "missing" and r.effect != "none" for s in states for r in s.trace.rules)
    assert any(h for s in states for h in s.trace.list_hits)


def _policy_variant(data: dict[str, Any], draw: Any) -> Policy:
    doc = copy.deepcopy(data)
    groups = [doc["admission"], doc["lists"], *(g["rules"] for g in doc["vendor_groups"]), doc["post_model"]]
    for rule in itertools.chain.from_iterable(groups):
        if not rule.get("mandatory"):
            rule["enabled"] = draw(st.booleans())
        rule["on_missing"] = draw(st.sampled_from(["skip", "hit", "reject", "review"]))
        rule["skip_if_white"] = draw(st.booleans())
        for key, value in list(rule.get("params", {}).items()):
            if isinstance(value, int | float) and not isinstance(value, bool):
                factor = draw(st.sampled_from([0.5, 0.8, 1.0, 1.25, 2.0]))
                rule["params"][key] = (
                    type(value)(value * factor) if isinstance(value, float) else round(value * factor)
                )
    for group in doc["vendor_groups"]:
        group["skip_if_white"] = draw(st.booleans())
    review_min = draw(st.integers(min_value=555, max_value=620))
    doc["cutoffs"] = {"review_min": review_min, "approve_min": review_min + draw(st.integers(0, 40))}
    doc["limits"]["max_dti"] = draw(st.sampled_from([0.3, 0.45, 0.5, 0.8]))
    doc["limits"]["rounding"] = draw(st.sampled_from([50, 100, 500]))
    doc["scoring"]["max_missing_inputs"] = draw(st.integers(0, 4))
    return load_policy_data(doc, "<variant>")


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_policies_decide_alike(world, default_model, data) -> None:
    base = yaml.safe_load(default_policy_path().read_text())
    policy = _policy_variant(base, data.draw)
    n = 300
    assert_same(world.pipeline_states(policy, default_model, n), world.evaluation(policy, default_model, n))


@settings(max_examples=60, deadline=None)
@given(
    product=st.sampled_from(["revolving", "single"]),
    income=st.one_of(st.none(), st.floats(0, 60_000).map(lambda x: round(x, 1))),
    debt=st.one_of(st.none(), st.floats(0, 30_000).map(lambda x: round(x, 2))),
    points=st.floats(540, 720),
    seed=st.integers(0, 2**32 - 1),
)
def test_offers_column_wise_equal_make_offer(default_policy, product, income, debt, points, seed) -> None:
    """Limits and APRs for many rows around one draw (dense near the debt-to-income boundary)."""
    rng = np.random.default_rng(seed)
    spec = default_policy.products[product]
    m = 200
    terms = rng.choice(spec.terms, m)
    base_income = income if income is not None else 0.0
    incomes = np.where(rng.random(m) < 0.1, np.nan, np.round(base_income * rng.uniform(0.5, 1.5, m), 1))
    debts = np.where(rng.random(m) < 0.1, np.nan, np.round((debt or 0.0) * rng.uniform(0, 2, m), 2))
    # requested amounts around the affordable ceiling, where rounding and fit decide
    frame = pd.DataFrame({
        "application.product": [product] * m, "application.term_months": terms.astype(float),
        "application.requested_amount": np.round(rng.uniform(spec.min_amount, spec.max_amount, m), -1),
        "applicant.monthly_income": incomes, "bureau.monthly_debt": debts,
    })  # fmt: skip
    pts = np.round(points + rng.normal(0, 20, m), 2)
    cols = offer_columns(default_policy, frame, pts, np.ones(m, dtype=bool), NOW)
    for i in range(m):
        facts = {
            k: (None if isinstance(v, float) and v != v else v) for k, v in frame.iloc[i].to_dict().items()
        }
        state = DecisionState.model_construct(facts=facts, application={})
        offer, why = make_offer(state, default_policy, float(pts[i]), NOW)
        if offer is None:
            assert not cols.ok[i] and cols.failure[i] == why, (i, facts, pts[i])
        else:
            assert cols.ok[i], (i, facts, pts[i], cols.failure[i])
            assert (cols.limit[i], cols.apr[i], cols.basis[i]) == (offer.credit_limit, offer.apr, why), (
                i,
                facts,
            )
            assert Decimal(str(cols.limit[i])) == offer.schedule.principal


def test_tree_batch_margins_and_contributions_equal_the_single_row_path(default_model) -> None:
    ensemble = default_model.ensemble()
    rng = np.random.default_rng(3)
    x = rng.normal(size=(500, ensemble.n_features)) * 50 + 20
    x[rng.random(x.shape) < 0.1] = np.nan
    # values sitting exactly on the model's own thresholds take the same branch both ways
    trees = json.loads(default_model.model_json)["learner"]["gradient_booster"]["model"]["trees"]
    splits = [
        (f, c)
        for t in trees
        for f, c, lc in zip(t["split_indices"], t["split_conditions"], t["left_children"], strict=True)
        if lc != -1
    ]
    for i in range(100):
        for f, c in (splits[j] for j in rng.choice(len(splits), 5)):
            x[i, f] = c
    margins = ensemble.predict_margin_batch_f64(x, method="tables")
    assert np.array_equal(margins, ensemble.predict_margin_batch_f64(x, method="walk"))
    contributions = ensemble.contributions_batch(x)
    rows = [[None if v != v else float(v) for v in r] for r in x]
    for i, row in enumerate(rows):
        assert margins[i] == ensemble.predict_margin(row)
        single = ensemble.contributions(row)
        assert contributions[i].tolist() == [single[name] for name in ensemble.feature_names]


def test_trees_too_deep_for_tables_are_walked_with_the_same_result(default_model, monkeypatch) -> None:
    from lendguard.models.artifact import ModelArtifact

    ensemble = ModelArtifact(default_model.metadata, default_model.model_json).ensemble()  # a fresh one
    monkeypatch.setattr(type(ensemble), "_MAX_TABLE", 1)
    x = np.random.default_rng(4).normal(size=(200, ensemble.n_features)) * 30
    with pytest.raises(ValueError, match="too deep"):
        ensemble.predict_margin_batch_f64(x, method="tables")
    walked = ensemble.predict_margin_batch_f64(x)
    assert walked.tolist() == [ensemble.predict_margin(list(r)) for r in x.tolist()]


@pytest.fixture(scope="module")
def scorecard_model(tmp_path_factory):
    from lendguard.offline.training.default_model import train_default_scorecard

    artifact, _ = train_default_scorecard(tmp_path_factory.mktemp("card"), rows=2000)
    return artifact


def test_a_scorecard_policy_decides_alike(world, scorecard_model) -> None:
    doc = yaml.safe_load(default_policy_path().read_text())
    doc["scoring"]["model"] = {
        "id": scorecard_model.metadata.model_id,
        "version": scorecard_model.metadata.version,
    }
    policy = load_policy_data(doc, "<scorecard>")
    n = 600
    ev = world.evaluation(policy, scorecard_model, n)
    assert ev.scorecard_shortfalls is not None
    assert_same(world.pipeline_states(policy, scorecard_model, n), ev)
