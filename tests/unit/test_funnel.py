"""The cost funnel report, and its group-order optimiser checked against brute force."""

import copy
import itertools
import json

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from lendguard.offline.cli.main import app
from lendguard.offline.funnel import (
    FunnelError,
    expected_spend,
    load_records,
    optimal_order,
    policy_precedence,
    report,
)
from lendguard.offline.project import default_policy_path
from lendguard.policy.loader import load_policy_data


def brute_force(costs, rates, before=None):
    """The least expected spend over every order that respects ``before``."""
    best = None
    for order in itertools.permutations(range(len(costs))):
        position = {g: i for i, g in enumerate(order)}
        if any(position[f] > position[g] for g, firsts in (before or {}).items() for f in firsts):
            continue
        cost = expected_spend(order, costs, rates)
        best = cost if best is None else min(best, cost)
    return best


groups = st.integers(1, 6).flatmap(
    lambda n: st.tuples(
        st.lists(st.floats(0, 10, allow_nan=False), min_size=n, max_size=n),
        st.lists(st.floats(0, 1, allow_nan=False), min_size=n, max_size=n),
    )
)


@given(groups)
@settings(max_examples=300, deadline=None)
def test_the_optimiser_matches_brute_force(data):
    costs, rates = data
    order = optimal_order(costs, rates)
    assert sorted(order) == list(range(len(costs)))
    assert expected_spend(order, costs, rates) == pytest.approx(
        brute_force(costs, rates), rel=1e-9, abs=1e-12
    )


@given(groups, st.randoms(use_true_random=False))
@settings(max_examples=300, deadline=None)
def test_the_optimiser_matches_brute_force_under_precedence_constraints(data, rnd):
    costs, rates = data
    n = len(costs)
    topo = list(range(n))
    rnd.shuffle(topo)  # edges only go forward in a random order, so the constraints are acyclic
    before = {}
    for j in range(n):
        for i in range(j):
            if rnd.random() < 0.3:
                before.setdefault(topo[j], []).append(topo[i])
    order = optimal_order(costs, rates, before)
    position = {g: i for i, g in enumerate(order)}
    assert all(position[f] < position[g] for g, firsts in before.items() for f in firsts)
    best = brute_force(costs, rates, before)
    assert expected_spend(order, costs, rates) == pytest.approx(best, rel=1e-9, abs=1e-12)


def test_without_constraints_the_order_is_by_cost_over_reject_rate():
    costs, rates = [3.0, 0.3, 0.85, 1.0], [0.05, 0.02, 0.06, 0.0]
    assert optimal_order(costs, rates) == [2, 1, 0, 3]  # 14.2, 15, 60, never rejects


def test_the_optimiser_refuses_bad_input():
    with pytest.raises(ValueError, match="cyclic"):
        optimal_order([1, 1], [0.1, 0.1], {0: [1], 1: [0]})
    with pytest.raises(ValueError, match="reject rate"):
        optimal_order([1], [1.5])
    with pytest.raises(ValueError, match="same length"):
        optimal_order([1, 2], [0.1])


def case(groups: list[tuple[str, float]], rejected_at: str | None = None) -> dict:
    """A case record whose trace reached ``groups`` (name, spend) and maybe stopped at one."""
    vendors = [{"vendor": f"{g}_v", "group": g, "service": "x", "status": "ok", "cost": c} for g, c in groups]
    rules = [{"rule_id": f"R_{g}", "stage": f"vendor:{g}"} for g, _ in groups]
    return {
        "case_id": "C",
        "halted_at": f"vendor:{rejected_at}" if rejected_at else None,
        "trace": {"vendors": vendors, "rules": rules},
    }


def records() -> list[dict]:
    """100 applications: 10 stop before vendors; of 90, 'b' (cost 3) rejects 30, 'a' (cost 1) rejects 6."""
    out = [{"case_id": "C", "halted_at": "admission", "trace": {"vendors": [], "rules": []}}] * 10
    out += [case([("b", 3.0)], "b")] * 30
    out += [case([("b", 3.0), ("a", 1.0)], "a")] * 6
    out += [case([("b", 3.0), ("a", 1.0)])] * 54
    return out


def test_report_measures_reach_reject_rate_and_spend_per_1000():
    result = report(records())
    assert result.current_order == ["b", "a"] and result.applications == 100 and result.entered == 90
    b, a = result.groups
    assert (b.reach, b.rejects, b.spend) == (90, 30, 270.0) and b.reject_rate == pytest.approx(1 / 3)
    assert (a.reach, a.rejects, a.spend) == (60, 6, 60.0) and a.reject_rate == pytest.approx(0.1)
    assert result.spend_per_1000 == pytest.approx(3300.0)
    assert result.expected_per_1000 == pytest.approx(result.spend_per_1000)  # the model reproduces it
    # b: 3 / (1/3) = 9 per reject; a: 1 / 0.1 = 10: the current order is already the best.
    assert result.optimal_order == ["b", "a"] and result.saving_per_1000 == 0


def test_report_finds_the_cheaper_order_and_its_saving():
    cheap_first = [case([("b", 3.0)], "b")] * 5 + [case([("b", 3.0), ("a", 1.0)], "a")] * 40
    cheap_first += [case([("b", 3.0), ("a", 1.0)])] * 55
    result = report(cheap_first)
    assert result.optimal_order == ["a", "b"]
    # current: 3 + 0.95·1 = 3.95 per app; optimal: 1 + (1 - 40/95)·3 = 2.7368...
    assert result.expected_per_1000 == pytest.approx(3950.0)
    assert result.optimal_per_1000 == pytest.approx(1000 * (1 + (1 - 40 / 95) * 3))
    assert result.saving_share == pytest.approx(1 - result.optimal_per_1000 / 3950.0)


def test_the_policy_fixes_the_order_and_rules_reading_earlier_facts_constrain_it(default_policy):
    before = sorted(g.id for g in default_policy.groups_before_model)
    assert policy_precedence(default_policy) == {"payout": before}
    data = copy.deepcopy(yaml.safe_load((default_policy_path()).read_text()))
    data["vendor_groups"] = [
        g for g in data["vendor_groups"] if g["id"] in ("identity", "antifraud", "bureau")
    ]
    data["vendor_groups"][2]["rules"][0]["expression"] = "is_missing(bureau.thin_file) or not identity.match"
    policy = load_policy_data(data)
    assert policy_precedence(policy) == {"bureau": ["identity"]}
    path = [("identity", 0.3), ("antifraud", 0.8), ("bureau", 3.0)]
    recs = [case(path, "bureau")] * 50 + [case(path)] * 50
    # Only the bureau rejects: unconstrained it would go first; its rule now needs identity first.
    assert report(recs).optimal_order[0] == "bureau"
    result = report(recs, policy)
    assert result.current_order == ["identity", "antifraud", "bureau"]
    assert result.optimal_order == ["identity", "bureau", "antifraud"] and result.saving_per_1000 > 0


def test_records_load_from_json_jsonl_or_a_wrapping_object(tmp_path):
    recs = records()[:3]
    (tmp_path / "a.json").write_text(json.dumps(recs))
    (tmp_path / "b.jsonl").write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    (tmp_path / "c.json").write_text(json.dumps({"results": recs}))
    for name in ("a.json", "b.jsonl", "c.json"):
        assert load_records(tmp_path / name) == recs
    (tmp_path / "bad.jsonl").write_text(json.dumps(recs[0]) + "\n{oops\n")
    with pytest.raises(FunnelError, match=r"bad.jsonl:2: not JSON"):
        load_records(tmp_path / "bad.jsonl")
    (tmp_path / "d.json").write_text(json.dumps({"rows": []}))
    with pytest.raises(FunnelError, match="expected a list of case records or an object with one of"):
        load_records(tmp_path / "d.json")
    with pytest.raises(FunnelError, match="no case records"):
        report([])


def test_cli_funnel_report(tmp_path):
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(records()))
    runner = CliRunner()
    result = runner.invoke(app, ["funnel", "report", str(path)], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert (
        "3,300.00 per 1,000 applications" in result.output
        and "optimal order: the current one" in result.output
    )
    result = runner.invoke(app, ["funnel", "report", str(path), "--json"])
    body = json.loads(result.output)
    assert body["spend_per_1000"] == 3300.0 and body["groups"][0]["reject_rate"] == pytest.approx(1 / 3)
    result = runner.invoke(app, ["funnel", "report", str(path), "--policy", str(default_policy_path())])
    assert result.exit_code == 2 and "vendor groups the policy does not: ['a', 'b']" in result.output
    result = runner.invoke(app, ["funnel", "report"], env={"LENDGUARD_ENDPOINT": ""})
    assert result.exit_code == 2 and "give a FILE of case records or --endpoint" in result.output


def test_cli_funnel_report_reads_cases_from_an_endpoint(monkeypatch):
    import lendguard.offline.cli.funnel as cli_funnel

    stored = {f"C{i}": case([("b", 3.0), ("a", 1.0)], "a" if i % 2 else None) for i in range(4)}
    asked = []

    def fake_call(endpoint, method, path, body=None):
        asked.append(path)
        if path.startswith("/v1/executions"):
            runs = [{"case_id": c, "status": "SUCCEEDED"} for c in stored] + [
                {"case_id": "X", "status": "RUNNING"}
            ]
            return 200, {"executions": runs}
        return 200, stored[path.rsplit("/", 1)[1]]

    monkeypatch.setattr(cli_funnel, "call", fake_call)
    result = CliRunner().invoke(
        app, ["funnel", "report", "--endpoint", "http://127.0.0.1:9", "--limit", "5", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert asked[0] == "/v1/executions?limit=5" and "/v1/cases/X" not in asked
    body = json.loads(result.output)
    assert body["applications"] == 4 and body["groups"][1]["rejects"] == 2
