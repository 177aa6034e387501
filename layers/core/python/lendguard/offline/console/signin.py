"""How the console signs people in: the ``config.json`` published beside its assets.

Two modes, one file the page reads before anything else:

- ``token``: paste a bearer token from the local users file (``lendguard serve``'s default).
- ``oidc``: OAuth 2.0 authorization code with PKCE (S256) against an identity provider: the
  Cognito hosted UI of the staff pool, or the lender's OIDC provider. The page is a public
  client (no secret); it sends the id token as ``Authorization``, which the API's authorizer
  (Cognito user pool or the OIDC TOKEN authorizer) verifies.

The CDK construct builds the same document from deploy-time values (:func:`oidc_document`); a
local file for ``lendguard serve --console-signin`` is validated by :class:`OidcSignIn`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError

from lendguard.core.base_model import Model

CONFIG_FILE = "config.json"
DEFAULT_SCOPES: tuple[str, ...] = ("openid", "email", "profile")
# https anywhere; plain http only on the loopback interface (a provider on the same machine).
_ENDPOINT = r"^(https://[^\s/?#]+|http://(127\.0\.0\.1|localhost)(:\d{1,5})?)(/[^\s#]*)?$"


class TokenSignIn(Model):
    """Paste a bearer token (the local users file's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["token"] = "token"


class OidcSignIn(Model):
    """Authorization code + PKCE against an identity provider."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["oidc"]
    authorization_endpoint: Annotated[str, Field(pattern=_ENDPOINT)]
    token_endpoint: Annotated[str, Field(pattern=_ENDPOINT)]
    client_id: Annotated[str, Field(min_length=1, max_length=256, pattern=r"^\S+$")]
    # The console's own URL: where the provider sends the browser back with the code.
    redirect_uri: Annotated[str, Field(pattern=_ENDPOINT)]
    scopes: Annotated[
        list[Annotated[str, Field(pattern=r"^[\x21\x23-\x5b\x5d-\x7e]+$")]], Field(min_length=1)
    ]


SignIn = Annotated[TokenSignIn | OidcSignIn, Field(discriminator="mode")]
_SIGN_IN: TypeAdapter[TokenSignIn | OidcSignIn] = TypeAdapter(SignIn)


class SignInConfigError(ValueError):
    """A sign-in file that cannot be used; the message names the field."""


def load(path: Path) -> TokenSignIn | OidcSignIn:
    """Read and validate a sign-in file (the ``config.json`` format)."""
    try:
        raw = json.loads(path.read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SignInConfigError(f"{path}: not a readable JSON file: {exc}") from None
    try:
        return _SIGN_IN.validate_python(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"field {'.'.join(str(p) for p in err['loc'][1:] or err['loc']) or '<root>'!r}: {err['msg']}"
            for err in exc.errors()
        )
        raise SignInConfigError(f"{path}: {problems}") from None


def oidc_document(
    *, authorization_endpoint: str, token_endpoint: str, client_id: str, redirect_uri: str,
    scopes: tuple[str, ...] = DEFAULT_SCOPES,
) -> dict[str, Any]:  # fmt: skip
    """The ``oidc`` config.json; values may be CDK tokens (resolved when it is published)."""
    return {
        "mode": "oidc",
        "authorization_endpoint": authorization_endpoint,
        "token_endpoint": token_endpoint,
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scopes": list(scopes),
    }


def origin(url: str) -> str:
    """``scheme://host[:port]`` of an endpoint (what a CSP source names)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def document(sign_in: TokenSignIn | OidcSignIn) -> str:
    """The config.json text the page reads."""
    return sign_in.model_dump_json()
