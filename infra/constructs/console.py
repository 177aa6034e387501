"""The reviewers' console on AWS: a private bucket behind CloudFront, the API on the same origin.

- Assets (``lendguard/offline/console/static``) and the decision ASL the timeline draws are
  published to a private, encrypted bucket that only this distribution may read (origin access
  control, ``aws:SourceArn`` on the bucket policy); nothing public.
- ``/console/*`` is served from the bucket; ``/v1/*`` goes to the API through the same
  distribution (same origin: no CORS), uncached, with the viewer's ``Authorization`` header.
- HTTPS only, and the same security headers and strict Content-Security-Policy as
  ``lendguard serve`` (one definition: :mod:`lendguard.offline.console.assets`).
- Sign-in (:mod:`lendguard.offline.console.signin`): authorization code + PKCE in the page,
  driven by a ``config.json`` published beside the assets. With Cognito it is the API's staff
  pool (the pool whose tokens the API's authorizer accepts): a public app client with the code
  flow and the console's URL as its only callback, and a hosted-UI domain. With the lender's
  OIDC provider (``identity.provider`` "oidc") it is that provider's endpoints and client id from
  the environment's config. The CSP's ``connect-src`` adds the token endpoint's origin (the
  code exchange is a cross-origin POST; the authorize step is a navigation).

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

from infra.settings import OidcIdentity
from lendguard.offline.console import assets, signin

CONSOLE_PATH = assets.PREFIX + "/*"
API_PATH = "/v1/*"


# The console's own URL, the OAuth callback: the page object itself, which the bucket holds
# (the S3 origin serves no index document for a folder).
CALLBACK_PAGE = assets.PREFIX + "/index.html"


class Console(Construct):
    """``bucket``, ``distribution``, ``headers``, ``url``, ``sign_in`` (the published config.json) and, with
    Cognito, the staff pool's ``client`` and hosted-UI ``domain``.

    Exactly one of ``user_pool`` (the API's staff pool) and ``oidc`` (the lender's provider).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        api: apigw.RestApi,
        removal_policy: RemovalPolicy,
        user_pool: cognito.IUserPool | None = None,
        oidc: OidcIdentity | None = None,
        access_logs_bucket: s3.IBucket | None = None,
        log_retention_days: int = 90,
    ) -> None:
        super().__init__(scope, construct_id)
        if (user_pool is None) == (oidc is None):
            raise ValueError(
                "Console needs exactly one of user_pool (Cognito) and oidc (the lender's provider)"
            )
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
        self.client: cognito.UserPoolClient | None = None
        self.domain: cognito.UserPoolDomain | None = None
        if user_pool is not None:
            self.domain = cognito.UserPoolDomain(
                self,
                "HostedUi",
                user_pool=user_pool,
                cognito_domain=cognito.CognitoDomainOptions(domain_prefix=f"lendguard-{env_name}-console"),
            )
            token_origin = self.domain.base_url()
        else:
            assert oidc is not None
            if oidc.authorization_endpoint is None or oidc.token_endpoint is None:
                raise ValueError(
                    "the console signs in through the OIDC provider: set identity.authorization_endpoint "
                    "and identity.token_endpoint"
                )
            token_origin = signin.origin(oidc.token_endpoint)
        self.headers = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            response_headers_policy_name=f"lendguard-{env_name}-console",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=assets.content_security_policy(token_origin), override=True
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
        # The console's address: what people open, and the sign-in's only redirect URI.
        self.url = f"https://{self.distribution.distribution_domain_name}{CALLBACK_PAGE}"
        callback = self.url
        if user_pool is not None:
            self.sign_in = self._cognito_sign_in(user_pool, callback)
        else:
            assert oidc is not None and oidc.authorization_endpoint and oidc.token_endpoint  # checked above
            self.sign_in = signin.oidc_document(
                authorization_endpoint=oidc.authorization_endpoint,
                token_endpoint=oidc.token_endpoint,
                client_id=oidc.audience,
                redirect_uri=callback,
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
                s3deploy.Source.json_data(signin.CONFIG_FILE, self.sign_in),
            ],
            distribution=self.distribution,
            distribution_paths=[CONSOLE_PATH],
            prune=True,
        )

    def _cognito_sign_in(self, user_pool: cognito.IUserPool, callback: str) -> dict[str, object]:
        """The staff pool's public client for the console: code flow only, the console's callback."""
        assert self.domain is not None
        self.client = cognito.UserPoolClient(
            self,
            "Client",
            user_pool=user_pool,
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_srp=True),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.custom(scope) for scope in signin.DEFAULT_SCOPES],
                callback_urls=[callback],
                logout_urls=[callback],
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            access_token_validity=Duration.hours(1),
            id_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.hours(8),
            prevent_user_existence_errors=True,
        )
        base = self.domain.base_url()
        return signin.oidc_document(
            authorization_endpoint=f"{base}/oauth2/authorize",
            token_endpoint=f"{base}/oauth2/token",
            client_id=self.client.user_pool_client_id,
            redirect_uri=callback,
        )
