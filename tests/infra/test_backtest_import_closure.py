"""The backtest functions need pandas and numpy, never pyarrow, scikit-learn, scipy or xgboost.

Their layers are core + deps + backtest (pandas, pruned, and ``lendguard.offline.backtest``):
pyarrow is not there (pandas then keeps strings in Python objects). In a fresh interpreter where
importing those packages fails, the three backtest handlers are imported as Lambda imports them
and a shard's work is done as ``lendguard.offline.backtest.sharded.evaluate_cases`` does it on the
rows it read (typed, evaluated under two policies, aggregated): its aggregates must equal those
computed here, where pyarrow is installed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from import_closure import run_closure

from lendguard.offline import project

BLOCKED = ("pyarrow", "sklearn", "scipy", "xgboost")

HANDLERS = ("backtest_planner", "backtest_shard", "backtest_summary")
BODY = """
    from datetime import datetime

    import pandas as pd
    from lendguard.models.artifact import ModelArtifact
    from lendguard.offline.backtest.run import Candidate, prepare_all, shard_aggregates
    from lendguard.policy.loader import load_policy_text

    given = json.loads(Path(args[0]).read_text())
    model = ModelArtifact.load(Path(given["model"]))
    base, other = (Candidate(load_policy_text(text, name), model) for name, text in given["policies"].items())
    prepared, other_prepared = prepare_all(pd.DataFrame(given["rows"]), base, other, None, None)
    agg, other_agg, swaps = shard_aggregates(
        base, prepared.frame, None, other, other_prepared.frame, datetime.fromisoformat(given["now"])
    )
    report = {"aggregates": [
        agg.model_dump(mode="json"), other_agg.model_dump(mode="json"), swaps.model_dump(mode="json")]}
"""


def test_backtest_handlers_and_a_shards_evaluation_run_without_pyarrow(tmp_path: Path) -> None:
    import copy
    from datetime import UTC, datetime

    import pandas as pd
    import yaml

    from lendguard.core.hashing import LOCAL_SECRET
    from lendguard.models.artifact import ModelArtifact
    from lendguard.offline.backtest.run import Candidate, prepare_all, shard_aggregates
    from lendguard.offline.synthetic import backtest_rows
    from lendguard.policy.loader import load_policy_text

    root = project.project_root()
    text = project.default_policy_path().read_text()
    data = copy.deepcopy(yaml.safe_load(text))
    cut = data["cutoffs"]
    data["version"], cut["review_min"], cut["approve_min"] = (
        9,
        cut["approve_min"] + 25,
        cut["approve_min"] + 60,
    )
    policies = {"default": text, "stricter": yaml.safe_dump(data)}
    base_policy = load_policy_text(text, "default")
    _, rows, _ = backtest_rows(300, 5, LOCAL_SECRET, base_policy)
    rows = [{k: v for k, v in r.items() if k != "default"} for r in rows]
    model_dir = root / "tests" / "data" / "models" / "default-xgb" / "v1"
    now = datetime(2026, 11, 1, tzinfo=UTC)
    given = tmp_path / "rows.json"
    given.write_text(
        json.dumps(
            {"rows": rows, "policies": policies, "model": str(model_dir), "now": now.isoformat()}, default=str
        )
    )

    model = ModelArtifact.load(model_dir)
    base, other = (Candidate(load_policy_text(t, n), model) for n, t in policies.items())
    raw = pd.DataFrame(json.loads(given.read_text())["rows"])
    prepared, other_prepared = prepare_all(raw, base, other, None, None)
    expected = [
        part.model_dump(mode="json")
        for part in shard_aggregates(base, prepared.frame, None, other, other_prepared.frame, now)
    ]

    report = run_closure(BLOCKED, HANDLERS, BODY, str(given))
    assert report["heavy"] == [], report["attempted"]
    assert report["aggregates"] == expected
    assert expected[0]["rows"] == 300 and expected[2]["swap_out"]["counts"]["n"] > 0


@pytest.mark.parametrize("entry", ["offline/__init__.py", "offline/backtest"])
def test_the_layer_ships_the_evaluator_entries(entry: str) -> None:
    from infra.constructs.backtest_layer import EVALUATOR_ENTRIES, evaluator_files

    assert entry in EVALUATOR_ENTRIES
    names = {p.name for p in evaluator_files()}
    assert {"sharded.py", "evaluator.py", "aggregates.py", "handlers.py"} <= names
