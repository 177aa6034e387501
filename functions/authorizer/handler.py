"""API Gateway TOKEN authorizer: the lender's own OIDC provider (``lendguard.http.authorizer``)."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from lendguard.http.authorizer import authorize, settings_from_env
from lendguard.http.oidc import OidcVerifier

logger = Logger()
# One verifier per container: it fetches the provider's key set once and keeps it.
verifier = OidcVerifier(settings_from_env())


@logger.inject_lambda_context(log_event=False)
def handler(event: dict, context: LambdaContext) -> dict:
    return authorize(event, verifier)
