"""The console's CDK construct: private bucket behind CloudFront (origin access control), HTTPS,
security headers with the same CSP as ``lendguard serve``, ``/v1/*`` to the API on the same origin."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_apigateway as apigw
from aws_cdk.assertions import Match, Template

from infra.constructs.console import API_PATH, Console
from infra.settings import load_config
from lendguard.offline.console import assets


def _template(outdir: Path, oidc_issuer: str | None = None) -> Template:
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(
        app, "ConsoleTest", env=cdk.Environment(account="123456789012", region="ap-southeast-1")
    )
    api = apigw.RestApi(stack, "Api", deploy_options=apigw.StageOptions(stage_name="dev"))
    api.root.add_resource("v1").add_method("GET", apigw.MockIntegration())
    Console(stack, "Console", env_name="dev", api=api, removal_policy=cdk.RemovalPolicy.DESTROY,
            oidc_issuer=oidc_issuer)  # fmt: skip
    return Template.from_stack(stack)


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
    assert security["ContentSecurityPolicy"]["ContentSecurityPolicy"] == assets.CONTENT_SECURITY_POLICY
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
    assert len(deployment["SourceObjectKeys"]) == 2  # the static folder, and the ASL beside it


def test_sign_in_is_the_hosted_ui_or_the_configured_oidc_provider(template: Template, tmp_path: Path) -> None:
    pool = _one(template, "AWS::Cognito::UserPool")["Properties"]
    assert (
        pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True and pool["MfaConfiguration"] == "ON"
    )
    client = _one(template, "AWS::Cognito::UserPoolClient")["Properties"]
    assert client["AllowedOAuthFlows"] == ["code"] and client["GenerateSecret"] is False
    assert json.dumps(client["CallbackURLs"]).count("/console/") == 1
    template.resource_count_is("AWS::Cognito::UserPoolDomain", 1)
    external = _template(tmp_path, oidc_issuer="https://sso.lender.example/")
    external.resource_count_is("AWS::Cognito::UserPool", 0)
    external.has_resource_properties("AWS::CloudFront::Distribution", Match.any_value())


def test_every_environment_has_the_flag_and_a_bad_issuer_is_refused(tmp_path: Path) -> None:
    for env in ("dev", "staging", "prod"):
        assert load_config(env).console_enabled is False
    (tmp_path / "x.json").write_text(json.dumps(
        {"policy_id": "default", "policy_version": 1, "console_oidc_issuer": "http://plain"}
    ))  # fmt: skip
    with pytest.raises(ValueError, match="console_oidc_issuer"):
        load_config("x", tmp_path)


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
