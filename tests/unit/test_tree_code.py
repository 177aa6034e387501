"""The generated single-row code gives exactly the array walk's margins and contributions."""

from __future__ import annotations

import random

import pytest

from lendguard.models import tree_code
from lendguard.models.trees import TreeEnsemble

N_FEATURES = 5


def _random_tree(rng: random.Random, depth: int) -> dict:
    """An XGBoost JSON tree: random splits down to ``depth`` (some branches stop early)."""
    left, right, split, cond, default, hess = [], [], [], [], [], []

    def node(level: int) -> int:
        i = len(left)
        for column in (left, right, split, cond, default, hess):
            column.append(0)
        hess[i] = rng.uniform(0.5, 50.0)
        if level == depth or (level and rng.random() < 0.25):
            left[i] = right[i] = -1
            cond[i] = rng.uniform(-0.5, 0.5)  # the leaf value
            return i
        split[i] = rng.randrange(N_FEATURES)
        cond[i] = rng.choice([rng.uniform(-3, 3), float(rng.randint(-2, 2))])
        default[i] = rng.random() < 0.5
        left[i], right[i] = node(level + 1), node(level + 1)
        return i

    node(0)
    return {"left_children": left, "right_children": right, "split_indices": split,
            "split_conditions": cond, "default_left": default, "sum_hessian": hess}  # fmt: skip


def _ensemble(rng: random.Random, n_trees: int, depth: int) -> TreeEnsemble:
    doc = {
        "learner": {
            "objective": {"name": "binary:logistic"},
            "learner_model_param": {"num_feature": str(N_FEATURES), "base_score": "3.2E-1"},
            "feature_names": [f"f{i}" for i in range(N_FEATURES)],
            "gradient_booster": {"name": "gbtree", "model": {
                "trees": [_random_tree(rng, depth) for _ in range(n_trees)]}},
        }
    }  # fmt: skip
    return TreeEnsemble.from_xgboost_json(doc)


def _walk_only(ensemble: TreeEnsemble) -> TreeEnsemble:
    ensemble._margin_code = ensemble._contrib_code = False
    return ensemble


def _rows(rng: random.Random, n: int) -> list[list[float | None]]:
    def value() -> float | None:
        pick = rng.random()
        if pick < 0.15:
            return None
        if pick < 0.3:
            return float(rng.randint(-2, 2))  # on a threshold: the < must be the same
        return rng.uniform(-4, 4)

    return [[value() for _ in range(N_FEATURES)] for _ in range(n)]


@pytest.mark.parametrize(("seed", "n_trees", "depth"), [(1, 1, 0), (2, 30, 1), (3, 80, 4), (4, 20, 9)])
def test_generated_code_is_bit_identical_to_the_walk(seed: int, n_trees: int, depth: int) -> None:
    rng = random.Random(seed)
    compiled = _ensemble(random.Random(seed), n_trees, depth)
    walk = _walk_only(_ensemble(random.Random(seed), n_trees, depth))
    for row in _rows(rng, 400):
        assert compiled.predict_margin(row) == walk.predict_margin(row)
        assert compiled.contributions(row) == walk.contributions(row)
    assert compiled._margin_code and compiled._contrib_code  # the code path was the one compared


def test_too_deep_a_model_keeps_the_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tree_code, "MAX_DEPTH", 2)
    ensemble = _ensemble(random.Random(5), 10, 5)
    walk = _walk_only(_ensemble(random.Random(5), 10, 5))
    row = [0.5, None, -1.0, 2.0, 0.0]
    assert ensemble.predict_margin(row) == walk.predict_margin(row)
    assert ensemble.contributions(row) == walk.contributions(row)
    assert ensemble._margin_code is False and ensemble._contrib_code is False


def test_the_generated_source_holds_numbers_only() -> None:
    source: list[str] = []
    original = tree_code._compile

    def capture(text: str, name: str):
        source.append(text)
        return original(text, name)

    ensemble = _ensemble(random.Random(6), 3, 3)
    tree_code._compile = capture
    try:
        tree_code.margin_function(2 * N_FEATURES, ensemble.base_margin, ensemble._roots, ensemble._feat,
                                  ensemble._thr, ensemble._left, ensemble._right)  # fmt: skip
    finally:
        tree_code._compile = original
    allowed = set("0123456789.-+e()<=,: \nxmifelsdtarngu_")
    assert set("".join(source)) <= allowed


def test_a_non_finite_value_keeps_the_walk() -> None:
    nan = float("nan")
    # one split (node 0, threshold NaN) over two leaves (slots 1 and 2)
    assert tree_code.margin_function(2, 0.0, [0], [0, 0, 0], [nan, 0.1, 0.2], [~1, 0, 0], [~2, 0, 0]) is None
    assert (
        tree_code.margin_function(2, 0.0, [0], [0, 0, 0], [0.0, 0.1, 0.2], [~1, 0, 0], [~2, 0, 0]) is not None
    )


def test_the_warm_up_can_compile_ahead_of_the_first_row() -> None:
    ensemble = _ensemble(random.Random(7), 5, 3)
    assert ensemble._margin_code is None
    assert ensemble.compile_single_row() is True
    assert ensemble._margin_code and ensemble._contrib_code
