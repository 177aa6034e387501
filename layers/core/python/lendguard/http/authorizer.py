"""The API Gateway TOKEN authorizer for the lender's own OIDC provider (``identity.provider: oidc``).

API Gateway sends the ``Authorization`` header and the method ARN; :func:`authorize` verifies
the bearer token (:mod:`lendguard.http.oidc`) and answers with an IAM policy allowing that one
method, and a context (``sub``, ``name``, ``groups``) that API Gateway hands the api function
as ``requestContext.authorizer``; :func:`lendguard.http.access.principal_from_context` reads it
as it reads a Cognito token's claims. Roles are not checked here: the resolver checks them per
route from the route table, as with Cognito.

A token that does not verify raises ``Unauthorized``, the one message API Gateway turns into a
401; the reason is logged, never the token or its claims.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger

from lendguard import deployment
from lendguard.http.oidc import InvalidToken, OidcSettings, OidcVerifier

logger = Logger(child=True)
UNAUTHORIZED = "Unauthorized"  # API Gateway answers 401 to exactly this error message


class Unauthorized(Exception):
    def __init__(self) -> None:
        super().__init__(UNAUTHORIZED)


def settings_from_env(environ: Mapping[str, str] = os.environ) -> OidcSettings:
    """The provider the stack configured (``infra/config/<env>.json`` ``identity``)."""
    return OidcSettings(
        issuer=environ[deployment.ENV_OIDC_ISSUER],
        audience=environ[deployment.ENV_OIDC_AUDIENCE],
        jwks_uri=environ.get(deployment.ENV_OIDC_JWKS_URI) or None,
        groups_claim=environ.get(deployment.ENV_OIDC_GROUPS_CLAIM) or "groups",
    )


def bearer(header: Any) -> str:
    """The token of an ``Authorization: Bearer <token>`` header (the scheme is case-insensitive)."""
    if not isinstance(header, str):
        raise InvalidToken("no Authorization header")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("the Authorization header is not 'Bearer <token>'")
    return token.strip()


def policy(principal_id: str, method_arn: str, context: dict[str, str]) -> dict[str, Any]:
    """The authorizer's answer: invoke this one method, with the caller in the context."""
    return {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": method_arn}],
        },
        "context": context,
    }


def authorize(event: Mapping[str, Any], verifier: OidcVerifier) -> dict[str, Any]:
    """Answer a TOKEN authorizer event, or raise :class:`Unauthorized` (a 401)."""
    method_arn = event.get("methodArn")
    if not isinstance(method_arn, str) or not method_arn:
        raise Unauthorized()
    try:
        caller = verifier.verify(bearer(event.get("authorizationToken")))
    except InvalidToken as exc:
        logger.info("token refused", extra={"reason": str(exc)})
        raise Unauthorized() from None
    # Context values must be strings, numbers or booleans: the groups travel comma-separated.
    context = {"sub": caller.sub, "name": caller.name, "groups": ",".join(caller.groups)}
    return policy(caller.sub, method_arn, context)
