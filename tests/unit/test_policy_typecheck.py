"""Issue 11, "policies that cannot fail at run time": `policy validate` refuses what the
expression evaluator would only find case by case, naming the rule and the column."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from lendguard.core.errors import PolicyError
from lendguard.offline.project import default_policy_path
from lendguard.policy.loader import load_policy_data

DEFAULT = yaml.safe_load(default_policy_path().read_text())


def with_admission_rule(expression: str, params: dict | None = None) -> dict:
    data = copy.deepcopy(DEFAULT)
    data["admission"].append(
        {"id": "ADM_TEST", "description": "test", "expression": expression, "params": params or {},
         "action": "reject", "reason": "test"}
    )  # fmt: skip
    return data


def problems_of(data: dict) -> str:
    with pytest.raises(PolicyError) as caught:
        load_policy_data(data, "p.yaml")
    return str(caught.value)


@pytest.mark.parametrize(
    ("expression", "params", "message"),
    [
        ("applicant.city > min_x", {"min_x": 3}, "'>' compares a string with a number at column 16"),
        ("applicant.city == 3", None, "'==' compares a string with a number at column 16"),
        ("consents.bureau + 1 > 0", None, "arithmetic '+' on a boolean at column 17"),
        ("-consents.telco < 0", None, "unary '-' needs a number, got a boolean at column 1"),
        ("not applicant.age", None, "'not' needs a boolean, got a number at column 1"),
        ("applicant.age and consents.bureau", None, "'and' needs a boolean, got a number"),
        ("applicant.monthly_income / 0 > 1", None, "'/' by a constant zero at column 26"),
        ("applicant.monthly_income % zero > 1", {"zero": 0}, "'%' by a constant zero"),
        ("applicant.age > 1e400", None, "number literal overflows to infinity at column 17"),
        ("applicant.age + 1", None, "gives a number; it must give a boolean"),
        ("abs(applicant.city) > 1", None, "abs() needs a number, got a string"),
        ("applicant.age in ['a', 'b']", None, "'in' looks for a number among string items"),
        ("consents.bureau < consents.telco", None, "'<' cannot order booleans"),
        ("coalesce(applicant.city, applicant.age) == 1", None, "coalesce() mixes number and string"),
    ],
)
def test_type_errors_name_the_rule_and_the_column(expression, params, message):
    text = problems_of(with_admission_rule(expression, params))
    assert "rule ADM_TEST in admission: " + message in text, text


def test_an_unknown_function_is_refused_with_its_column():
    assert "unknown function 'pow'" in problems_of(with_admission_rule("pow(applicant.age, 2) > 1"))


@pytest.mark.parametrize(
    "expression",
    [
        "applicant.city == 'Shanghai' and applicant.age >= 22",
        "is_missing(applicant.city) or applicant.city in ['a', 'b']",
        "coalesce(applicant.age, 30) > 25 and not consents.bureau",
        "min(applicant.age, 60) / 2 > 10",
    ],
)
def test_well_typed_rules_pass(expression):
    load_policy_data(with_admission_rule(expression), "p.yaml")


def test_a_feature_that_gives_a_boolean_is_refused():
    data = copy.deepcopy(DEFAULT)
    data["features"][0]["expression"] = "applicant.age > 30"
    assert f"feature {data['features'][0]['name']}: gives a boolean; it must give a number" in problems_of(
        data
    )


def test_vendor_groups_whose_worst_case_exceeds_the_function_and_api_limits_are_refused():
    data = copy.deepcopy(DEFAULT)
    for vendor in data["vendors"]:
        vendor.update(timeout_ms=4000, retries=2, backoff_max_ms=1000)  # 14 s each, 42 s in sequence
    text = problems_of(data)
    before = sum(not g.get("after_model") for g in data["vendor_groups"])
    after = len(data["vendor_groups"]) - before
    assert f"worst case {14000 * before} ms" in text and "external_data function's 28000 ms" in text
    assert f"worst case {14000 * (before + after)} ms" in text
    assert "exceeds the 24000 ms the API's 29 s limit leaves" in text
    # The after_model groups run in the decision function, within its own timeout.
    assert (
        f"the after_model groups' worst case {14000 * after} ms exceeds the decision function's 8000 ms"
        in text
    )


def test_policy_validate_exits_2_naming_the_rule(tmp_path: Path):
    from lendguard.offline.cli.main import app

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(with_admission_rule("applicant.city > min_x", {"min_x": 3})))
    result = CliRunner().invoke(app, ["policy", "validate", str(path)], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert "ADM_TEST" in result.output and "compares a string with a number" in result.output
    ok = CliRunner().invoke(app, ["policy", "validate", str(default_policy_path())])
    assert ok.exit_code == 0, ok.output
