"""Cold starts of the online functions: SnapStart where offered, provisioned concurrency elsewhere.

Two syntheses: dev as a test builds it (region left to deploy time: SnapStart) and prod located
in cn-northwest-1 (no SnapStart for Python in the China regions: prod's provisioned concurrency).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.app import build_app, stack_name
from infra.settings import ConfigError, EnvConfig, load_config, snapstart_offered
from lendguard import deployment

ONLINE = {spec.name for spec in deployment.ONLINE_FUNCTIONS}


def _synth(env_name: str, outdir: Path, config: EnvConfig | None = None) -> dict[str, Any]:
    app = build_app(env_name, bundle=False, outdir=str(outdir), config=config,
                    context={"@aws-cdk/core:failSynthOnValidationErrors": False})  # fmt: skip
    return Template.from_stack(app.node.find_child(stack_name(env_name))).to_json()


def _china_prod() -> EnvConfig:
    raw = load_config("prod").model_dump(mode="json") | {
        "region": "cn-northwest-1",
        "identity": {"provider": "oidc", "issuer": "https://sso.lender.example.cn", "audience": "lendguard"},
    }
    return EnvConfig.model_validate(raw)


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _synth("dev", tmp_path_factory.mktemp("cold-dev"))


@pytest.fixture(scope="module")
def china(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _synth("prod", tmp_path_factory.mktemp("cold-cn"), _china_prod())


def _functions(template: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Deployment name (``validate``) -> (logical ID, properties) of each function."""
    found = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Lambda::Function" and "FunctionName" in resource["Properties"]:
            name = resource["Properties"]["FunctionName"].split("-", 2)[2]
            found[name] = (logical_id, resource["Properties"])
    return found


def _aliases(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Function logical ID -> properties of its alias."""
    return {
        r["Properties"]["FunctionName"]["Ref"]: r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Alias"
    }


def test_online_functions_start_from_a_snapshot_behind_the_live_alias(dev):
    functions, aliases = _functions(dev), _aliases(dev)
    assert ONLINE - {"authorizer"} <= set(functions)  # dev signs people in with Cognito
    for name, (logical_id, props) in functions.items():
        if name in ONLINE:
            assert props["SnapStart"] == {"ApplyOn": "PublishedVersions"}, name
            alias = aliases[logical_id]
            assert alias["Name"] == deployment.LIVE_ALIAS
            # A published version of this function (SnapStart applies to versions only).
            version = dev["Resources"][alias["FunctionVersion"]["Fn::GetAtt"][0]]
            assert version["Type"] == "AWS::Lambda::Version"
            assert version["Properties"]["FunctionName"] == {"Ref": logical_id}
            assert "ProvisionedConcurrencyConfig" not in alias  # the two never combine
        else:  # review steps, monitor, shadow: nobody waits on them
            assert "SnapStart" not in props, name
            assert logical_id not in aliases, name


def test_without_snapstart_the_online_aliases_keep_provisioned_environments(china):
    functions, aliases = _functions(china), _aliases(china)
    wanted = load_config("prod").cold_start.provisioned_concurrency
    assert wanted, "prod configures provisioned concurrency for regions without SnapStart"
    for name, (logical_id, props) in functions.items():
        assert "SnapStart" not in props, name
        if name in ONLINE:
            provisioned = aliases[logical_id].get("ProvisionedConcurrencyConfig")
            expected = wanted.get(name)
            assert provisioned == ({"ProvisionedConcurrentExecutions": expected} if expected else None), name
    assert "authorizer" in functions  # the China stack signs people in with OIDC


def test_the_state_machine_and_the_api_invoke_the_live_alias(dev):
    functions = _functions(dev)
    alias_ids = {k for k, r in dev["Resources"].items() if r["Type"] == "AWS::Lambda::Alias"}
    substitutions = dev["Resources"][deployment.DECISION_STATE_MACHINE.logical_id]["Properties"][
        "DefinitionSubstitutions"
    ]
    for spec in deployment.DECISION_STATE_MACHINE.functions:
        ref = substitutions[spec.substitution]["Ref"]
        assert ref in alias_ids
        assert dev["Resources"][ref]["Properties"]["FunctionName"] == {"Ref": functions[spec.name][0]}
    text = json.dumps([
        r["Properties"]["Integration"]["Uri"]
        for r in dev["Resources"].values()
        if r["Type"] == "AWS::ApiGateway::Method"
    ])  # fmt: skip
    api_alias = [k for k in alias_ids if dev["Resources"][k]["Properties"]["FunctionName"]
                 == {"Ref": functions["api"][0]}]  # fmt: skip
    assert len(api_alias) == 1 and api_alias[0] in text
    assert functions["api"][0] not in text  # never $LATEST


def test_snapstart_regions():
    assert snapstart_offered("us-east-1") and snapstart_offered("eu-west-1")
    assert not snapstart_offered("cn-northwest-1") and not snapstart_offered("cn-north-1")


def test_provisioned_concurrency_names_online_functions_only(tmp_path):
    raw = load_config("dev").model_dump(mode="json") | {
        "cold_start": {"provisioned_concurrency": {"monitor": 1}}
    }
    with pytest.raises(ValueError, match=r"not online function\(s\) \['monitor'\]"):
        EnvConfig.model_validate(raw)
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "dev.json").write_text(json.dumps(raw))
    with pytest.raises(ConfigError, match=r"cold_start\.provisioned_concurrency"):
        load_config("dev", config_dir)
