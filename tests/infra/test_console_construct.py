"""The console's CDK construct: private bucket behind CloudFront (origin access control), HTTPS,
security headers with the same CSP as ``lendguard serve``, ``/v1/*`` to the API on the same origin."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk.assertions import Template

from infra.constructs.console import API_PATH, Console
from infra.settings import ConfigError, OidcIdentity, load_config
from lendguard.offline.console import assets, signin

OIDC = OidcIdentity(
    provider="oidc", issuer="https://sso.lender.example/", audience="lendguard-console",
    authorization_endpoint="https://sso.lender.example/oauth2/authorize",
    token_endpoint="https://tokens.lender.example/oauth2/token",
)  # fmt: skip


def _synth(outdir: Path, oidc: OidcIdentity | None = None) -> tuple[cdk.Stack, Console]:
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(
        app, "ConsoleTest", env=cdk.Environment(account="123456789012", region="ap-southeast-1")
    )
    api = apigw.RestApi(stack, "Api", deploy_options=apigw.StageOptions(stage_name="dev"))
    api.root.add_resource("v1").add_method("GET", apigw.MockIntegration())
    pool = None if oidc else cognito.UserPool(stack, "StaffPool", self_sign_up_enabled=False)
    console = Console(stack, "Console", env_name="dev", api=api, removal_policy=cdk.RemovalPolicy.DESTROY,
                      user_pool=pool, oidc=oidc)  # fmt: skip
    return stack, console


def _template(outdir: Path, oidc: OidcIdentity | None = None) -> Template:
    return Template.from_stack(_synth(outdir, oidc)[0])


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    return _template(tmp_path_factory.mktemp("console-cdk"))


def _one(template: Template, type_: str) -> dict[str, Any]:
    found = template.find_resources(type_)
    assert len(found) == 1, found.keys()
    return next(iter(found.values()))


def test_the_bucket_is_private_and_read_only_by_the_distribution(template: Template) -> None:
    # The assets and the distribution's logs: both private.
    for bucket in template.find_resources("AWS::S3::Bucket").values():
        assert bucket["Properties"]["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
        }  # fmt: skip
    template.resource_count_is("AWS::CloudFront::OriginAccessControl", 1)
    statements = [
        s for p in template.find_resources("AWS::S3::BucketPolicy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]  # fmt: skip
    reads = [s for s in statements if s.get("Principal") == {"Service": "cloudfront.amazonaws.com"}]
    assert reads and all("AWS:SourceArn" in s["Condition"]["StringEquals"] for s in reads)
    assert not any(s.get("Principal") == "*" and s["Effect"] == "Allow" for s in statements)


def test_https_only_with_the_same_csp_as_local(template: Template) -> None:
    config = _one(template, "AWS::CloudFront::Distribution")["Properties"]["DistributionConfig"]
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert all(b["ViewerProtocolPolicy"] == "https-only" for b in config["CacheBehaviors"])
    headers = _one(template, "AWS::CloudFront::ResponseHeadersPolicy")["Properties"][
        "ResponseHeadersPolicyConfig"
    ]
    security = headers["SecurityHeadersConfig"]
    # The local policy, plus the hosted UI's origin where the page exchanges its code.
    csp = json.dumps(security["ContentSecurityPolicy"]["ContentSecurityPolicy"])
    local = assets.CONTENT_SECURITY_POLICY
    assert local.split("connect-src 'self'")[0] in csp and local.split("connect-src 'self'")[1] in csp
    assert "connect-src 'self' https://" in csp and ".amazoncognito.com" in csp
    assert security["FrameOptions"]["FrameOption"] == "DENY"
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000


def test_the_api_is_on_the_same_origin_uncached_with_authorization(template: Template) -> None:
    config = _one(template, "AWS::CloudFront::Distribution")["Properties"]["DistributionConfig"]
    (api,) = [b for b in config["CacheBehaviors"] if b["PathPattern"] == API_PATH]
    assert set(api["AllowedMethods"]) >= {"GET", "POST", "PUT", "DELETE"}
    assert api["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # Managed-CachingDisabled
    # Managed-AllViewerExceptHostHeader: Authorization reaches the API, Host stays the API's.
    assert api["OriginRequestPolicyId"] == "b689b0a8-53d0-40ab-baf2-68738e2966ac"
    origins = {o["Id"]: o for o in config["Origins"]}
    assert "CustomOriginConfig" in origins[api["TargetOriginId"]]
    # The stage is the origin path (taken from the stage URL at deploy time).
    assert "Fn::Join" in origins[api["TargetOriginId"]]["OriginPath"]


def test_the_assets_and_the_asl_are_published_under_console(template: Template) -> None:
    deployment = _one(template, "Custom::CDKBucketDeployment")["Properties"]
    assert deployment["DestinationBucketKeyPrefix"] == "console"
    assert deployment["DistributionPaths"] == ["/console/*"]
    # The static folder, the ASL beside it, and the sign-in config.json.
    assert len(deployment["SourceObjectKeys"]) == 3


def test_cognito_sign_in_is_the_staff_pools_code_flow_client_with_the_console_callback(
    tmp_path: Path,
) -> None:
    stack, console = _synth(tmp_path)
    template = Template.from_stack(stack)
    # No pool of its own: the API's staff pool, whose tokens the API's authorizer accepts.
    template.resource_count_is("AWS::Cognito::UserPool", 1)
    client = _one(template, "AWS::Cognito::UserPoolClient")["Properties"]
    assert client["AllowedOAuthFlows"] == ["code"] and client["AllowedOAuthFlowsUserPoolClient"] is True
    assert client["GenerateSecret"] is False and client["SupportedIdentityProviders"] == ["COGNITO"]
    assert client["AllowedOAuthScopes"] == list(signin.DEFAULT_SCOPES)
    (callback,) = client["CallbackURLs"]
    assert callback == client["LogoutURLs"][0]
    callback_parts = callback["Fn::Join"][1]
    assert callback_parts[0] == "https://" and callback_parts[-1] == "/console/index.html"
    assert "Fn::GetAtt" in callback_parts[1] and "DomainName" in callback_parts[1]["Fn::GetAtt"]
    domain = _one(template, "AWS::Cognito::UserPoolDomain")["Properties"]
    assert domain["Domain"] == "lendguard-dev-console"

    # config.json: the hosted UI's endpoints, this client, the console's URL as redirect.
    config = json.loads(json.dumps(stack.resolve(console.sign_in)))
    assert config["mode"] == "oidc" and config["scopes"] == list(signin.DEFAULT_SCOPES)
    assert config["redirect_uri"] == callback
    assert config["client_id"] == {"Ref": next(iter(template.find_resources("AWS::Cognito::UserPoolClient")))}
    for key, path in (("authorization_endpoint", "/oauth2/authorize"), ("token_endpoint", "/oauth2/token")):
        parts = config[key]["Fn::Join"][1]
        assert parts[0] == "https://" and parts[-1] == f".auth.ap-southeast-1.amazoncognito.com{path}"
        assert {"Ref": next(iter(template.find_resources("AWS::Cognito::UserPoolDomain")))} in parts


def test_oidc_sign_in_is_the_lenders_endpoints_and_its_csp_allows_the_token_endpoint(tmp_path: Path) -> None:
    stack, console = _synth(tmp_path, OIDC)
    template = Template.from_stack(stack)
    for type_ in ("UserPool", "UserPoolClient", "UserPoolDomain"):
        template.resource_count_is(f"AWS::Cognito::{type_}", 0)
    config = json.loads(json.dumps(stack.resolve(console.sign_in)))
    callback = config.pop("redirect_uri")["Fn::Join"][1]
    assert callback[0] == "https://" and callback[-1] == "/console/index.html"
    assert config == {
        "mode": "oidc", "authorization_endpoint": "https://sso.lender.example/oauth2/authorize",
        "token_endpoint": "https://tokens.lender.example/oauth2/token", "client_id": OIDC.audience,
        "scopes": list(signin.DEFAULT_SCOPES),
    }  # fmt: skip
    # What the page reads locally validates the same document (endpoints, scopes).
    signin.OidcSignIn.model_validate(
        {**config, "redirect_uri": "https://d.cloudfront.net/console/index.html"}
    )
    headers = _one(template, "AWS::CloudFront::ResponseHeadersPolicy")["Properties"]
    csp = headers["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]["ContentSecurityPolicy"]
    assert csp["ContentSecurityPolicy"] == assets.content_security_policy("https://tokens.lender.example")
    assert "connect-src 'self' https://tokens.lender.example;" in csp["ContentSecurityPolicy"]


def test_every_environment_has_the_flag_and_an_oidc_console_needs_its_endpoints(tmp_path: Path) -> None:
    for env in ("dev", "staging", "prod"):
        assert load_config(env).console_enabled is False
    identity = {"provider": "oidc", "issuer": "https://sso.lender.example/", "audience": "a"}
    (tmp_path / "x.json").write_text(json.dumps(
        {"policy_id": "default", "policy_version": 1, "console_enabled": True, "identity": identity}
    ))  # fmt: skip
    with pytest.raises(ConfigError, match=r"identity.authorization_endpoint, identity.token_endpoint"):
        load_config("x", tmp_path)
    (tmp_path / "y.json").write_text(json.dumps(
        {"policy_id": "default", "policy_version": 1,
         "identity": {**identity, "token_endpoint": "http://plain/token"}}
    ))  # fmt: skip
    with pytest.raises(ConfigError, match=r"field 'identity.token_endpoint'"):
        load_config("y", tmp_path)


def test_the_flag_adds_the_console_to_the_stack(tmp_path: Path, monkeypatch) -> None:
    import infra.app
    from infra.app import build_app, stack_name

    on = load_config("dev").model_copy(update={"console_enabled": True})
    monkeypatch.setattr(infra.app, "load_config", lambda name: on)
    app = build_app("dev", bundle=False, outdir=str(tmp_path),
                    context={"@aws-cdk/core:failSynthOnValidationErrors": False})  # fmt: skip
    template = Template.from_stack(app.node.find_child(stack_name("dev")))
    template.resource_count_is("AWS::CloudFront::Distribution", 1)
    assert "ConsoleUrl" in template.find_outputs("*")
