"""A China-region deployment with the lender's own OIDC provider (issue 11): no Cognito user
pool (not offered in aws-cn), the TOKEN authorizer on every people's route, and the issuer and
audience in the authorizer function's environment. Also the ``identity`` settings' errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.app import build_app, stack_name
from infra.settings import ConfigError, EnvConfig, load_config
from lendguard import deployment
from lendguard.http.access import ROUTES
from lendguard.offline import project
from tests.infra.test_api_access import paths, resources

ISSUER = "https://sso.lender.example.cn/realms/staff"
AUDIENCE = "lendguard-console"
JWKS_URI = ISSUER + "/protocol/openid-connect/certs"


def china_config(**identity: Any) -> EnvConfig:
    raw = load_config("prod").model_dump(mode="json")
    raw |= {"region": "cn-northwest-1", "identity": {"provider": "oidc", "issuer": ISSUER, "audience": AUDIENCE,
                                                     **identity}}  # fmt: skip
    return EnvConfig.model_validate(raw)


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory) -> tuple[dict[str, Any], dict[str, Any]]:
    """The China stack's template and cdk-nag's validation report."""
    app = build_app("prod", bundle=False, outdir=str(tmp_path_factory.mktemp("cn")),
                    context={"@aws-cdk/core:failSynthOnValidationErrors": False},
                    config=china_config(jwks_uri=JWKS_URI, groups_claim="roles"))  # fmt: skip
    stack = app.node.find_child(stack_name("prod"))
    assembly = app.synth()
    report = json.loads((Path(assembly.directory) / "validation-report.json").read_text())
    return Template.from_stack(stack).to_json(), report


@pytest.fixture(scope="module")
def china(synthesized) -> dict[str, Any]:
    return synthesized[0]


def test_cdk_nag_leaves_no_open_finding_with_the_oidc_authorizer(synthesized):
    findings = [
        f"{v['ruleName']} at {c['constructPath']}"
        for report in synthesized[1]["pluginReports"]
        for v in report["violations"]
        for c in v["violatingConstructs"]
    ]
    assert findings == []


def test_no_cognito_resource_in_a_china_region(china):
    assert not [t for t in (r["Type"] for r in china["Resources"].values()) if t.startswith("AWS::Cognito::")]


def test_every_people_route_uses_the_oidc_token_authorizer(china):
    (authorizer,) = resources(china, "AWS::ApiGateway::Authorizer")
    assert authorizer["Type"] == "TOKEN"
    assert authorizer["IdentitySource"] == "method.request.header.Authorization"
    assert authorizer["AuthorizerResultTtlInSeconds"] == 0
    (authorizer_id,) = [
        k for k, v in china["Resources"].items() if v["Type"] == "AWS::ApiGateway::Authorizer"
    ]
    where = paths(china)
    methods = {
        (where[m["ResourceId"]["Ref"]], m["HttpMethod"]): m
        for m in resources(china, "AWS::ApiGateway::Method")
    }
    assert set(methods) == {(r.path, r.method) for r in ROUTES}
    for route in ROUTES:
        method = methods[(route.path, route.method)]
        if route.machine:
            assert (method["AuthorizationType"], method["ApiKeyRequired"]) == ("AWS_IAM", True), route
        else:
            assert method["AuthorizationType"] == "CUSTOM", route
            assert method["AuthorizerId"] == {"Ref": authorizer_id}, route


def _function(tpl: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [p for p in resources(tpl, "AWS::Lambda::Function") if p.get("FunctionName") == name]
    return found


def test_the_authorizer_function_has_the_issuer_and_audience_and_nothing_else_of_ours(china):
    name = f"lendguard-prod-{deployment.AUTHORIZER_FUNCTION.name}"
    env = _function(china, name)["Environment"]["Variables"]
    assert env[deployment.ENV_OIDC_ISSUER] == ISSUER
    assert env[deployment.ENV_OIDC_AUDIENCE] == AUDIENCE
    assert env[deployment.ENV_OIDC_JWKS_URI] == JWKS_URI
    assert env[deployment.ENV_OIDC_GROUPS_CLAIM] == "roles"
    # No table, bucket or secret names: it verifies tokens and touches nothing else.
    assert {k for k in env if k.startswith("LENDGUARD_")} == {
        deployment.ENV_OIDC_ISSUER, deployment.ENV_OIDC_AUDIENCE, deployment.ENV_OIDC_JWKS_URI,
        deployment.ENV_OIDC_GROUPS_CLAIM,
    }  # fmt: skip
    assert _function(china, name)["Handler"] == deployment.AUTHORIZER_FUNCTION.handler
    assert (project.function_dir(deployment.AUTHORIZER_FUNCTION) / "handler.py").is_file()


def test_cognito_in_a_china_region_is_refused_naming_identity_provider(tmp_path):
    config = load_config("prod").model_copy(update={"region": "cn-northwest-1"})
    with pytest.raises(ConfigError, match=r"field 'identity.provider': Cognito user pools are not offered"):
        build_app("prod", bundle=False, outdir=str(tmp_path), config=config)


def test_cognito_stays_the_default():
    assert load_config("prod").identity.provider == "cognito"


@pytest.mark.parametrize(
    ("identity", "field"),
    [
        ({"provider": "okta"}, "identity"),
        ({"provider": "oidc", "audience": AUDIENCE}, "identity.issuer"),
        (
            {"provider": "oidc", "issuer": "http://sso.lender.example.cn", "audience": AUDIENCE},
            "identity.issuer",
        ),
        ({"provider": "oidc", "issuer": ISSUER}, "identity.audience"),
        (
            {"provider": "oidc", "issuer": ISSUER, "audience": AUDIENCE, "jwks_uri": "ftp://x/certs"},
            "identity.jwks_uri",
        ),
        (
            {"provider": "oidc", "issuer": ISSUER, "audience": AUDIENCE, "groups_claim": ""},
            "identity.groups_claim",
        ),
        ({"provider": "cognito", "issuer": ISSUER}, "identity.issuer"),
    ],
)
def test_a_bad_identity_names_the_key(tmp_path, identity: dict[str, Any], field: str):
    raw = load_config("dev").model_dump(mode="json") | {"identity": identity}
    (tmp_path / "cn.json").write_text(json.dumps(raw))
    with pytest.raises(ConfigError, match=f"field '{field}'"):
        load_config("cn", config_dir=tmp_path)
