"""The API's access in the synthesized template (issue 11): methods and authorizers from the
route table, the staff user pool, and WAF rules that fit the callers."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.app import build_app, stack_name
from infra.constructs.api import WAF_BODY_LIMIT_BYTES, WAF_WINDOW_SECONDS, waf_rate_limits
from infra.settings import load_config
from lendguard.http.access import ROUTES, Role


def template(env_name: str, outdir) -> dict[str, Any]:
    app = build_app(env_name, bundle=False, outdir=str(outdir),
                    context={"@aws-cdk/core:failSynthOnValidationErrors": False})  # fmt: skip
    return Template.from_stack(app.node.find_child(stack_name(env_name))).to_json()


@pytest.fixture(scope="module")
def prod(tmp_path_factory) -> dict[str, Any]:
    return template("prod", tmp_path_factory.mktemp("prod"))


def resources(tpl: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in tpl["Resources"].values() if r["Type"] == type_]


def paths(tpl: dict[str, Any]) -> dict[str, str]:
    res = {k: v for k, v in tpl["Resources"].items() if v["Type"] == "AWS::ApiGateway::Resource"}
    out: dict[str, str] = {}

    def path_of(logical_id: str) -> str:
        if logical_id not in out:
            props = res[logical_id]["Properties"]
            parent = props["ParentId"]
            prefix = path_of(parent["Ref"]) if "Ref" in parent else ""
            out[logical_id] = f"{prefix}/{props['PathPart']}"
        return out[logical_id]

    for logical_id in res:
        path_of(logical_id)
    return out


def test_methods_and_authorizers_come_from_the_route_table(prod):
    where = paths(prod)
    methods = {
        (where[m["ResourceId"]["Ref"]], m["HttpMethod"]): m
        for m in resources(prod, "AWS::ApiGateway::Method")
    }
    assert set(methods) == {(r.path, r.method) for r in ROUTES}
    (authorizer,) = resources(prod, "AWS::ApiGateway::Authorizer")
    assert authorizer["Type"] == "COGNITO_USER_POOLS"
    for route in ROUTES:
        method = methods[(route.path, route.method)]
        if route.machine:
            assert (method["AuthorizationType"], method["ApiKeyRequired"]) == ("AWS_IAM", True), route
        else:
            assert method["AuthorizationType"] == "COGNITO_USER_POOLS" and not method.get("ApiKeyRequired"), (
                route
            )


def test_staff_sign_in_requires_mfa_and_has_no_self_sign_up_and_a_group_per_role(prod):
    (pool,) = resources(prod, "AWS::Cognito::UserPool")
    assert pool["MfaConfiguration"] == "ON"
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    groups = {g["GroupName"] for g in resources(prod, "AWS::Cognito::UserPoolGroup")}
    assert groups == {r.value for r in Role}


def _rule(tpl: dict[str, Any], name: str) -> dict[str, Any]:
    (acl,) = resources(tpl, "AWS::WAFv2::WebACL")
    return next(r for r in acl["Rules"] if r["Name"] == name)


def test_waf_rate_limits_are_sized_to_the_stage_throttle(prod):
    config = load_config("prod")
    limits = waf_rate_limits(config.api_throttle_rate_limit, config.waf_people_requests_per_5min)
    decisions = _rule(prod, "RateLimitDecisions")["Statement"]["RateBasedStatement"]
    # The prod throttle (200/s) over the 5-minute window: WAF never blocks what the stage admits.
    assert (
        decisions["Limit"]
        == limits["RateLimitDecisions"]
        == config.api_throttle_rate_limit * WAF_WINDOW_SECONDS
    )
    assert decisions["EvaluationWindowSec"] == WAF_WINDOW_SECONDS
    # Scoped to the machines' routes (by what follows a path's last parameter).
    scoped = {
        s["ByteMatchStatement"]["SearchString"]
        for s in decisions["ScopeDownStatement"]["OrStatement"]["Statements"]
    }
    assert scoped == {r.path.rsplit("}", 1)[-1] for r in ROUTES if r.machine} >= {"/v1/decisions", "/appeal"}
    people = _rule(prod, "RateLimitPeople")["Statement"]["RateBasedStatement"]
    assert people["Limit"] == config.waf_people_requests_per_5min
    assert "NotStatement" in people["ScopeDownStatement"]


def test_the_body_size_rule_spares_the_bulk_routes(prod):
    common = _rule(prod, "AWSManagedRulesCommonRuleSet")["Statement"]["ManagedRuleGroupStatement"]
    assert common["RuleActionOverrides"] == [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]
    body = _rule(prod, "BodySizeExceptBulk")
    size, unless = body["Statement"]["AndStatement"]["Statements"]
    assert size["SizeConstraintStatement"]["Size"] == WAF_BODY_LIMIT_BYTES
    # A path with parameters is matched by what follows its last parameter.
    bulk = {r.path.rsplit("}", 1)[-1] for r in ROUTES if r.bulk}
    assert "/v1/lists/import" in bulk
    spared = unless["NotStatement"]["Statement"]
    matched = [spared] if "ByteMatchStatement" in spared else spared["OrStatement"]["Statements"]
    assert {m["ByteMatchStatement"]["SearchString"] for m in matched} == bulk
    assert body["Action"] == {"Block": {}}
