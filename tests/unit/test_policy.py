import copy

import pytest
import yaml

from lendguard.core.errors import PolicyError
from lendguard.offline.project import default_policy_path
from lendguard.policy.loader import load_policy_data, load_policy_text

RAW = yaml.safe_load((default_policy_path()).read_text())


def load_with(mutate) -> None:
    data = copy.deepcopy(RAW)
    mutate(data)
    load_policy_data(data, "test.yaml")


def rule(data, rule_id):
    for section in ("admission", "lists", "post_model"):
        for r in data[section]:
            if r["id"] == rule_id:
                return r
    for group in data["vendor_groups"]:
        for r in group["rules"]:
            if r["id"] == rule_id:
                return r
    raise KeyError(rule_id)


def test_default_policy_loads(default_policy):
    assert default_policy.id == "default"
    # Cost order: liveness and identity, the telco three-element check before anti-fraud, the
    # payout card's four-element check only after the model.
    assert [g.id for g in default_policy.groups_before_model] == [
        "liveness", "identity", "telco", "face", "antifraud", "bureau",
    ]  # fmt: skip
    assert [g.id for g in default_policy.groups_after_model] == ["payout"]
    assert default_policy.pricing.apr_cap <= 0.36
    ids = [r.id for r in default_policy.all_rules()]
    assert len(ids) == len(set(ids)) > 20


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: rule(d, "ADM_AGE").update(enabled=False),
            "admission.0 (rule ADM_AGE): mandatory and cannot be switched off",
        ),
        (lambda d: rule(d, "ADM_AGE").update(expression="applicant.age < min_ag"), "ADM_AGE"),
        (
            lambda d: rule(d, "ADM_MIN_INCOME").update(expression="applicant.monthly_income <"),
            "ADM_MIN_INCOME",
        ),
        (lambda d: rule(d, "ADM_MIN_INCOME")["params"].update(unused=1), "parameters not used"),
        (lambda d: rule(d, "ADM_NIGHT_APPLICATION").pop("points"), "needs 'points'"),
        (lambda d: rule(d, "ADM_AGE").update(action="explode"), "ADM_AGE"),
        (lambda d: rule(d, "ADM_AGE").update(colour="red"), "unknown field"),
        (
            lambda d: d["admission"].append(copy.deepcopy(d["admission"][0])),
            "duplicate rule ids: ['ADM_AGE']",
        ),
        (lambda d: d["vendor_groups"][0]["vendors"].append("nobody"), "unknown vendor 'nobody'"),
        (lambda d: d["pricing"].update(apr_cap=0.4), "above the legal ceiling 36%"),
        (lambda d: d["pricing"]["apr_by_score_band"].__setitem__(0, 0.3), "must be in (0, apr_cap"),
        (lambda d: d["limits"]["table"].pop(), "needs 5 rows"),
        (lambda d: d["limits"].update(score_bands=[555, 550, 610, 640, 670]), "strictly ascending"),
        (lambda d: d["cutoffs"].update(review_min=700), "review_min must not be above approve_min"),
    ],
)
def test_invalid_policies_name_the_problem(mutate, message):
    with pytest.raises(PolicyError) as exc:
        load_with(mutate)
    assert message in str(exc.value)


def test_a_rule_cannot_read_data_its_stage_has_not_paid_for():
    # An admission rule reading the bureau would call a paid vendor before the cheap checks.
    with pytest.raises(PolicyError, match=r"rule ADM_BUREAU_CONSENT in admission reads 'bureau\.thin_file'"):
        load_with(lambda d: rule(d, "ADM_BUREAU_CONSENT").update(expression="bureau.thin_file"))
    with pytest.raises(
        PolicyError, match=r"IDV_MISMATCH in vendor_groups\.identity reads 'bureau\.open_loans'"
    ):
        load_with(lambda d: rule(d, "IDV_MISMATCH").update(expression="bureau.open_loans > 3"))


def test_yaml_errors_are_reported():
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy_text("id: [unclosed", "bad.yaml")
    with pytest.raises(PolicyError, match="must be a mapping"):
        load_policy_text("- a\n- b\n", "list.yaml")
