"""The REST API in front of the ``api`` function.

Callers are backend services: every method needs SigV4 (IAM) *and* an API key, the key ties the
caller to a usage plan (throttle + daily quota). Access logs are JSON without request bodies
(applications hold personal data); execution logs at ERROR level, no data trace.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

# Routes served by the api function: (path under the root, HTTP method).
ROUTES: tuple[tuple[str, str], ...] = (
    ("/v1/decisions", "POST"),
    ("/v1/cases", "GET"),
    ("/v1/cases/{case_id}", "GET"),
    ("/v1/cases/{case_id}/history", "GET"),
    ("/v1/cases/{case_id}/review", "POST"),
    ("/v1/cases/{case_id}/redecide", "POST"),
    ("/v1/lists/{proxy+}", "ANY"),
)
# Optional query parameters API Gateway passes through; the api function validates their values
# (and refuses unknown ones), so the error bodies are the same locally and deployed.
QUERY_PARAMETERS: dict[tuple[str, str], tuple[str, ...]] = {
    ("/v1/cases", "GET"): ("status", "decision", "from", "to", "application_id", "limit", "next_token"),
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
    ) -> None:
        super().__init__(scope, construct_id)
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
        for path, http_method in ROUTES:
            resource = self.api.root.resource_for_path(path)
            path_params = [part[1:-1].rstrip("+") for part in path.split("/") if part.startswith("{")]
            parameters = {f"method.request.path.{name}": True for name in path_params}
            parameters |= {
                f"method.request.querystring.{name}": False
                for name in QUERY_PARAMETERS.get((path, http_method), ())
            }
            model = application_model if path == "/v1/decisions" else object_model
            self.methods[(path, http_method)] = resource.add_method(
                http_method,
                request_validator=self.validator,
                request_parameters=parameters or None,
                request_models={"application/json": model} if http_method == "POST" else None,
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

        self.web_acl = self._web_acl(env_name) if waf_enabled else None

    def _web_acl(self, env_name: str) -> wafv2.CfnWebACL:
        def managed(name: str, priority: int) -> wafv2.CfnWebACL.RuleProperty:
            return wafv2.CfnWebACL.RuleProperty(
                name=name,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=name
                    )
                ),
                visibility_config=_visibility(name),
            )

        acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=f"lendguard-{env_name}-api",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(f"lendguard-{env_name}-api"),
            rules=[
                managed("AWSManagedRulesCommonRuleSet", 1),
                managed("AWSManagedRulesKnownBadInputsRuleSet", 2),
                wafv2.CfnWebACL.RuleProperty(
                    name="RateLimitPerIp",
                    priority=3,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            limit=2000, aggregate_key_type="IP"
                        )
                    ),
                    visibility_config=_visibility("RateLimitPerIp"),
                ),
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
