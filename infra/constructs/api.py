"""The REST API in front of the ``api`` function.

Resources, methods and authorizers come from the route table the resolver enforces
(:data:`lendguard.http.access.ROUTES`): a route loan-app backends call (``POST /v1/decisions``)
needs SigV4 (IAM) *and* an API key, the key tying the caller to a usage plan (throttle + daily
quota); the people's routes need a token from the staff Cognito user pool (MFA required, no
self sign-up; its groups are the roles, which the resolver checks per route), or, where
``identity.provider`` is ``oidc`` (partitions without Cognito user pools), from the lender's own
OIDC provider, verified by a Lambda TOKEN authorizer (``functions/authorizer``). Access logs are
JSON without request bodies (applications hold personal data); execution logs at ERROR level,
no data trace.

The WAF web ACL (staging, prod) rate-limits per route, sized to the stage throttle, and applies
the body-size limit everywhere except the bulk routes (``RouteSpec.bulk``), which take CSV.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from lendguard.http import access

# Routes served by the api function: (path under the root, HTTP method), from the route table.
ROUTES: tuple[tuple[str, str], ...] = tuple((r.path, r.method) for r in access.ROUTES)
# WAF evaluates rate-based rules over this window; the common rule set's body-size rule (8 KB,
# also what WAF inspects of a REST API body) applies to every route but the bulk ones.
WAF_WINDOW_SECONDS = 300
WAF_BODY_LIMIT_BYTES = 8 * 1024
BULK_PATHS: tuple[str, ...] = tuple(r.path for r in access.ROUTES if r.bulk)
MACHINE_PATHS: tuple[str, ...] = tuple(sorted({r.path for r in access.ROUTES if r.machine}))


def waf_rate_limits(throttle_rate_limit: float, people_per_5min: int) -> dict[str, int]:
    """Requests per client IP per :data:`WAF_WINDOW_SECONDS`, by rule.

    Loan-app backends sit behind a few NAT addresses, so one IP may carry the whole decision
    traffic: their limit is the stage throttle over the window (API Gateway's throttle, not WAF,
    is what shapes them). People's routes get a per-person sized limit.
    """
    return {
        "RateLimitDecisions": int(throttle_rate_limit * WAF_WINDOW_SECONDS),
        "RateLimitPeople": people_per_5min,
    }


# Optional query parameters API Gateway passes through; the api function validates their values
# (and refuses unknown ones), so the error bodies are the same locally and deployed.
QUERY_PARAMETERS: dict[tuple[str, str], tuple[str, ...]] = {
    ("/v1/cases", "GET"): ("status", "decision", "from", "to", "application_id", "limit", "next_token"),
    ("/v1/policies/{policy_id}/diff", "GET"): ("from", "to"),
}


class DecisionApi(Construct):
    """``api`` (LambdaRestApi), ``api_key``, ``usage_plan``, ``access_logs`` and optionally ``web_acl``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: lambda_.IFunction,
        env_name: str,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
        throttle_rate_limit: float,
        throttle_burst_limit: int,
        quota_per_day: int,
        cloudwatch_role: bool,
        waf_enabled: bool,
        waf_people_requests_per_5min: int = 1500,
        token_authorizer: lambda_.IFunction | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.user_pool: cognito.UserPool | None = None
        self.authorizer: apigw.IAuthorizer
        if token_authorizer is None:
            self.user_pool = self._staff_pool(env_name, removal_policy)
            self.authorizer = apigw.CognitoUserPoolsAuthorizer(
                self,
                "StaffAuthorizer",
                cognito_user_pools=[self.user_pool],
                identity_source="method.request.header.Authorization",
            )
            people_auth = apigw.AuthorizationType.COGNITO
        else:
            # The lender's OIDC provider. No result cache: the answer allows one method ARN, and
            # a cached answer would outlive the token's expiry.
            self.authorizer = apigw.TokenAuthorizer(
                self,
                "StaffAuthorizer",
                handler=token_authorizer,
                identity_source="method.request.header.Authorization",
                results_cache_ttl=Duration.seconds(0),
            )
            people_auth = apigw.AuthorizationType.CUSTOM
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=log_retention, removal_policy=removal_policy
        )
        self.api = apigw.LambdaRestApi(
            self,
            "Api",
            handler=handler,
            proxy=False,
            rest_api_name=f"lendguard-{env_name}",
            description=f"lendguard decision API ({env_name})",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            integration_options=apigw.LambdaIntegrationOptions(allow_test_invoke=False),
            cloud_watch_role=cloudwatch_role,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            default_method_options=apigw.MethodOptions(
                authorization_type=apigw.AuthorizationType.IAM,
                api_key_required=True,
            ),
            deploy_options=apigw.StageOptions(
                stage_name=env_name,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
                tracing_enabled=True,
                throttling_rate_limit=throttle_rate_limit,
                throttling_burst_limit=throttle_burst_limit,
            ),
        )
        self.validator = self.api.add_request_validator(
            "RequestValidator", validate_request_body=True, validate_request_parameters=True
        )
        application_model = self.api.add_model(
            "ApplicationModel",
            content_type="application/json",
            model_name="Application",
            schema=apigw.JsonSchema(
                schema=apigw.JsonSchemaVersion.DRAFT4,
                title="Application",
                type=apigw.JsonSchemaType.OBJECT,
                min_properties=1,
            ),
        )
        # Review answers and re-decision requests: any JSON object; the function names bad fields.
        object_model = self.api.add_model(
            "JsonObjectModel",
            content_type="application/json",
            model_name="JsonObject",
            schema=apigw.JsonSchema(
                schema=apigw.JsonSchemaVersion.DRAFT4, title="JsonObject", type=apigw.JsonSchemaType.OBJECT
            ),
        )
        self.methods: dict[tuple[str, str], apigw.Method] = {}
        for route in access.ROUTES:
            path, http_method = route.path, route.method
            resource = self.api.root.resource_for_path(path)
            path_params = [part[1:-1].rstrip("+") for part in path.split("/") if part.startswith("{")]
            parameters = {f"method.request.path.{name}": True for name in path_params}
            parameters |= {
                f"method.request.querystring.{name}": False
                for name in QUERY_PARAMETERS.get((path, http_method), ())
            }
            model = application_model if path == "/v1/decisions" else object_model
            # Machines sign with SigV4 and hold an API key; people bring a staff token.
            auth = (
                {"authorization_type": apigw.AuthorizationType.IAM, "api_key_required": True}
                if route.machine
                else {"authorization_type": people_auth, "authorizer": self.authorizer, "api_key_required": False}
            )  # fmt: skip
            self.methods[(path, http_method)] = resource.add_method(
                http_method,
                request_validator=self.validator,
                request_parameters=parameters or None,
                request_models={"application/json": model} if route.body == "json" else None,
                **auth,
            )

        self.usage_plan = self.api.add_usage_plan(
            "UsagePlan",
            name=f"lendguard-{env_name}",
            throttle=apigw.ThrottleSettings(rate_limit=throttle_rate_limit, burst_limit=throttle_burst_limit),
            quota=apigw.QuotaSettings(limit=quota_per_day, period=apigw.Period.DAY),
            api_stages=[apigw.UsagePlanPerApiStage(api=self.api, stage=self.api.deployment_stage)],
        )
        self.api_key = self.api.add_api_key("ApiKey", api_key_name=f"lendguard-{env_name}-backend")
        self.usage_plan.add_api_key(self.api_key)

        limits = waf_rate_limits(throttle_rate_limit, waf_people_requests_per_5min)
        self.web_acl = self._web_acl(env_name, limits) if waf_enabled else None

    def _staff_pool(self, env_name: str, removal_policy: RemovalPolicy) -> cognito.UserPool:
        """People's sign-in: MFA required, no self sign-up, one group per role."""
        pool = cognito.UserPool(
            self,
            "StaffPool",
            user_pool_name=f"lendguard-{env_name}-staff",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True, username=True),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_digits=True,
                require_lowercase=True,
                require_uppercase=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            removal_policy=removal_policy,
        )
        for role in access.Role:
            cognito.CfnUserPoolGroup(
                self, f"Group{role.value.title()}", user_pool_id=pool.user_pool_id, group_name=role.value,
                description=f"lendguard {role.value}s (the role the API checks per route)",
            )  # fmt: skip
        pool.add_client("ConsoleClient", generate_secret=False, auth_flows=cognito.AuthFlow(user_srp=True))
        return pool

    def _web_acl(self, env_name: str, limits: dict[str, int]) -> wafv2.CfnWebACL:
        def managed(
            name: str, priority: int, count_rules: tuple[str, ...] = ()
        ) -> wafv2.CfnWebACL.RuleProperty:
            overrides = [
                wafv2.CfnWebACL.RuleActionOverrideProperty(
                    name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                )
                for rule in count_rules
            ]
            return wafv2.CfnWebACL.RuleProperty(
                name=name,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=name, rule_action_overrides=overrides or None
                    )
                ),
                visibility_config=_visibility(name),
            )

        def path_ends(path: str) -> wafv2.CfnWebACL.StatementProperty:
            # WAF sees the stage in front of the path (/prod/v1/...): match the end; a path with a
            # parameter (/v1/cases/{case_id}/appeal) by what follows its last parameter.
            path = path.rsplit("}", 1)[-1]
            return wafv2.CfnWebACL.StatementProperty(
                byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                    field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
                    positional_constraint="ENDS_WITH",
                    search_string=path,
                    text_transformations=[
                        wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")
                    ],
                )
            )

        def any_of(paths: tuple[str, ...]) -> wafv2.CfnWebACL.StatementProperty:
            if len(paths) == 1:
                return path_ends(paths[0])
            return wafv2.CfnWebACL.StatementProperty(
                or_statement=wafv2.CfnWebACL.OrStatementProperty(statements=[path_ends(p) for p in paths])
            )

        def not_(statement: wafv2.CfnWebACL.StatementProperty) -> wafv2.CfnWebACL.StatementProperty:
            return wafv2.CfnWebACL.StatementProperty(
                not_statement=wafv2.CfnWebACL.NotStatementProperty(statement=statement)
            )

        def rate(
            name: str, priority: int, scope: wafv2.CfnWebACL.StatementProperty
        ) -> wafv2.CfnWebACL.RuleProperty:
            return wafv2.CfnWebACL.RuleProperty(
                name=name,
                priority=priority,
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        limit=limits[name], aggregate_key_type="IP", evaluation_window_sec=WAF_WINDOW_SECONDS,
                        scope_down_statement=scope,
                    )
                ),
                visibility_config=_visibility(name),
            )  # fmt: skip

        body_too_large = wafv2.CfnWebACL.StatementProperty(
            size_constraint_statement=wafv2.CfnWebACL.SizeConstraintStatementProperty(
                field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(
                    body=wafv2.CfnWebACL.BodyProperty(oversize_handling="MATCH")
                ),
                comparison_operator="GT",
                size=WAF_BODY_LIMIT_BYTES,
                text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
            )
        )
        body_rule = wafv2.CfnWebACL.RuleProperty(
            name="BodySizeExceptBulk",
            priority=3,
            action=wafv2.CfnWebACL.RuleActionProperty(block={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                and_statement=wafv2.CfnWebACL.AndStatementProperty(
                    statements=[body_too_large, not_(any_of(BULK_PATHS))]
                )
            )
            if BULK_PATHS
            else body_too_large,
            visibility_config=_visibility("BodySizeExceptBulk"),
        )

        acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=f"lendguard-{env_name}-api",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(f"lendguard-{env_name}-api"),
            rules=[
                # Its 8 KB body rule would block the bulk routes: counted there, enforced below.
                managed("AWSManagedRulesCommonRuleSet", 1, count_rules=("SizeRestrictions_BODY",)),
                managed("AWSManagedRulesKnownBadInputsRuleSet", 2),
                body_rule,
                rate("RateLimitDecisions", 4, any_of(MACHINE_PATHS)),
                rate("RateLimitPeople", 5, not_(any_of(MACHINE_PATHS))),
            ],
        )
        wafv2.CfnWebACLAssociation(
            self,
            "WebAclAssociation",
            resource_arn=self.api.deployment_stage.stage_arn,
            web_acl_arn=acl.attr_arn,
        )
        return acl


def _visibility(metric_name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric_name, sampled_requests_enabled=True
    )
