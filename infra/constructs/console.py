"""The reviewers' console on AWS: a private bucket behind CloudFront, the API on the same origin.

- Assets (``lendguard/offline/console/static``) and the decision ASL the timeline draws are
  published to a private, encrypted bucket that only this distribution may read (origin access
  control, ``aws:SourceArn`` on the bucket policy); nothing public.
- ``/console/*`` is served from the bucket; ``/v1/*`` goes to the API through the same
  distribution (same origin: no CORS), uncached, with the viewer's ``Authorization`` header.
- HTTPS only, and the same security headers and strict Content-Security-Policy as
  ``lendguard serve`` (one definition: :mod:`lendguard.offline.console.assets`).
- Sign-in: a Cognito user pool with its hosted UI (authorization code + PKCE, no client secret,
  callback ``/console/``), or the lender's own OIDC provider when ``oidc_issuer`` is set.

- Access logs: the distribution's standard logs go to a private log bucket of their own
  (CloudFront writes them with ACLs, which the stack's access-log bucket disables); both buckets'
  server access logs go to ``access_logs_bucket`` when given.

cdk-nag findings the construct cannot fix are acknowledged, each with its reason, in
``LendGuardStack._acknowledge_console_findings``.

Partitions without CloudFront (aws-cn without an ICP filing) serve the console otherwise: see
README "Console".
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from lendguard.offline.console import assets

CONSOLE_PATH = assets.PREFIX + "/*"
API_PATH = "/v1/*"


class Console(Construct):
    """``bucket``, ``distribution``, ``headers`` and, without an external issuer, ``user_pool`` / ``client``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        api: apigw.RestApi,
        removal_policy: RemovalPolicy,
        oidc_issuer: str | None = None,
        access_logs_bucket: s3.IBucket | None = None,
        log_retention_days: int = 90,
    ) -> None:
        super().__init__(scope, construct_id)
        private = {
            "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
            "encryption": s3.BucketEncryption.S3_MANAGED,
            "enforce_ssl": True,
            "removal_policy": removal_policy,
            "auto_delete_objects": removal_policy == RemovalPolicy.DESTROY,
            "server_access_logs_bucket": access_logs_bucket,
        }
        self.bucket = s3.Bucket(
            self,
            "Assets",
            versioned=True,
            server_access_logs_prefix="console-assets/" if access_logs_bucket else None,
            **private,
        )
        # CloudFront's standard logs are delivered with object ACLs: this bucket lets the writer
        # own them (still private: public access blocked, TLS only).
        self.logs_bucket = s3.Bucket(
            self,
            "Logs",
            object_ownership=s3.ObjectOwnership.OBJECT_WRITER,
            lifecycle_rules=[
                s3.LifecycleRule(id="expire-logs", expiration=Duration.days(log_retention_days))
            ],
            server_access_logs_prefix="console-logs/" if access_logs_bucket else None,
            **private,
        )
        self.headers = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            response_headers_policy_name=f"lendguard-{env_name}-console",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=assets.CONTENT_SECURITY_POLICY, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(365), include_subdomains=True, override=True
                ),
            ),
        )
        # The API's stage is the origin path: /v1/... on the distribution is /<stage>/v1/... there.
        api_origin = origins.RestApiOrigin(api)
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"lendguard {env_name} console",
            enable_logging=True,
            log_bucket=self.logs_bucket,
            log_file_prefix="cloudfront/",
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            default_root_object="console/index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                response_headers_policy=self.headers,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
            ),
            additional_behaviors={
                API_PATH: cloudfront.BehaviorOptions(
                    origin=api_origin,
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                    allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                    cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                    # Everything the viewer sent (Authorization included) except Host, which
                    # must be the API's own for API Gateway to route it.
                    origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                    response_headers_policy=self.headers,
                ),
            },
        )
        # index.html names its modules relatively, so /console/ must serve the page itself.
        s3deploy.BucketDeployment(
            self,
            "Publish",
            destination_bucket=self.bucket,
            destination_key_prefix=assets.PREFIX.lstrip("/"),
            sources=[
                s3deploy.Source.asset(str(assets.STATIC_DIR)),
                s3deploy.Source.data(assets.ASL_PATH, assets.asl_file().read_text()),
            ],
            distribution=self.distribution,
            distribution_paths=[CONSOLE_PATH],
            prune=True,
        )
        self.user_pool: cognito.UserPool | None = None
        self.client: cognito.UserPoolClient | None = None
        self.oidc_issuer = oidc_issuer
        if oidc_issuer is None:
            self._cognito(env_name, removal_policy)

    def _cognito(self, env_name: str, removal_policy: RemovalPolicy) -> None:
        """A user pool with the hosted UI; reviewers are invited, never sign themselves up."""
        callback = f"https://{self.distribution.distribution_domain_name}{assets.PREFIX}/"
        self.user_pool = cognito.UserPool(
            self,
            "Users",
            user_pool_name=f"lendguard-{env_name}-console",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(username=True, email=True),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_digits=True,
                require_lowercase=True,
                require_symbols=True,
                require_uppercase=True,
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            removal_policy=removal_policy,
        )
        self.client = self.user_pool.add_client(
            "Console",
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_srp=True),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
                callback_urls=[callback],
                logout_urls=[callback],
            ),
            access_token_validity=Duration.hours(1),
            id_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.hours(8),
            prevent_user_existence_errors=True,
        )
        self.user_pool.add_domain(
            "HostedUi",
            cognito_domain=cognito.CognitoDomainOptions(domain_prefix=f"lendguard-{env_name}-console"),
        )
