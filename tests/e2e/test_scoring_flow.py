"""Scoring end to end on moto: shadow models in the case, and a scorecard deciding from the policy.

One local stack for the module, with two versions of the default policy:

* v1 — the default XGBoost model decides; a synthetic scorecard and a German Credit XGBoost
  model (whose features this flow never has) run in shadow;
* v2 — the scorecard decides with the card written into the policy (its intercept edited, as
  an analyst would); the XGBoost model runs in shadow.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from lendguard import deployment
from lendguard.cases.service import decide
from lendguard.offline import project
from lendguard.offline.training.default_model import train_default_scorecard
from lendguard.offline.training.tabular import read_training_csv, train_from_frame
from lendguard.store import cases

GERMAN = Path(__file__).resolve().parents[1] / "data" / "germancredit.csv"


@pytest.fixture(scope="module")
def stack(tmp_path_factory, default_model):
    from lendguard.offline.local.runtime import LocalRuntime
    from lendguard.store.model_registry import S3ModelRegistry

    tmp = tmp_path_factory.mktemp("scoring-flow")
    scorecard, _ = train_default_scorecard(tmp / "scorecard", rows=4000, seed=42)
    german = train_from_frame(
        read_training_csv(GERMAN), "creditability", model_id="gc-xgb", params={"num_boost_round": 50}
    ).artifact
    policy = yaml.safe_load((project.default_policy_path()).read_text())
    policy["scoring"]["shadow_models"] = [
        {"id": "default-scorecard", "version": 1},
        {"id": "gc-xgb", "version": 1},
    ]
    (tmp / "v1.yaml").write_text(yaml.safe_dump(policy, sort_keys=False))
    card = scorecard.scorecard().model_dump(mode="json", exclude_none=True)
    card["intercept_points"] += 7  # an analyst's edit: the policy's card is what scores
    v2 = copy.deepcopy(policy)
    v2["version"] = 2
    v2["scoring"].update(
        model={"id": "default-scorecard", "version": 1}, scorecard=card,
        shadow_models=[{"id": "default-xgb", "version": 1}],
    )  # fmt: skip
    (tmp / "v2.yaml").write_text(yaml.safe_dump(v2, sort_keys=False))
    with LocalRuntime(policy_path=tmp / "v1.yaml") as runtime:
        registry = S3ModelRegistry()
        registry.register(scorecard)
        registry.register(german)
        runtime.publish_policy(tmp / "v2.yaml")
        yield {"runtime": runtime, "scorecard": scorecard, "card": card}


def _decide(raw: dict, application_id: str):
    body = dict(raw, application_id=application_id)
    status, response = decide(json.dumps(body))
    assert status == 200, response
    return response, cases.get_case(response.case_id)


def test_shadow_models_are_recorded_and_never_decide(stack, examples) -> None:
    r, case = _decide(examples["approve"], "A-SHADOW-1")
    # the same decision as the default flow gives this application (tests/e2e/test_decision_flow.py)
    assert r.decision == "APPROVE" and r.credit_limit == 5000
    assert r.model == {"id": "default-xgb", "version": 1} and case.score.model_id == "default-xgb"
    scorecard, german = case.score.shadow
    assert (scorecard["model_id"], scorecard["model_version"], scorecard["kind"]) == (
        "default-scorecard",
        1,
        "scorecard",
    )
    assert set(scorecard["bins"]) == set(stack["scorecard"].scorecard().feature_names)
    assert 0 < scorecard["pd"] < 1 and "error" not in scorecard
    # a shadow model whose inputs this flow never has is still scored (every input missing), not fatal
    assert german["model_id"] == "gc-xgb" and len(german["missing_inputs"]) == 20 and "error" not in german
    assert not [x for x in case.trace.rules if x.stage == "scorecard"]  # shadows leave no scorecard lines


def test_a_scorecard_in_the_policy_decides_and_is_traced(stack, examples, monkeypatch) -> None:
    monkeypatch.setenv(deployment.ENV_POLICY_VERSION, "2")
    r, case = _decide(examples["review"], "A-CARD-1")
    assert r.policy == {"id": "default", "version": 2}
    assert r.model == {"id": "default-scorecard", "version": 1}
    lines = [x for x in case.trace.rules if x.stage == "scorecard"]
    card = stack["card"]
    assert [x.rule_id for x in lines] == ["INTERCEPT", *(f["name"] for f in card["features"])]
    assert lines[0].points == card["intercept_points"]  # the policy's (edited) card scored
    assert all(x.params["bin"] and x.points is not None for x in lines[1:])
    assert sum(x.points for x in lines) == pytest.approx(case.score.points)
    assert [s["model_id"] for s in case.score.shadow] == ["default-xgb"]
    assert r.decision in ("REVIEW", "REJECT")
    model_reasons = [x.code for x in case.reasons if x.source == "model"]
    assert model_reasons and set(model_reasons) <= {x.code for x in r.reasons}, case.reasons
    # the reasons are the features that lost the most points against their best bin
    lost = sorted(case.score.contributions.items(), key=lambda kv: (-kv[1], kv[0]))
    expected = ["MODEL_" + name.upper().replace(".", "_") for name, _ in lost]
    assert model_reasons == [c for c in expected if c in model_reasons][: len(model_reasons)]
    assert set(model_reasons) <= set(
        expected[: len(model_reasons) + 1]
    )  # one may be skipped as a duplicate text
