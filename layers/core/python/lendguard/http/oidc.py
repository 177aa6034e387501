"""Verifying the lender's own OIDC identity provider's tokens (where Cognito is not offered).

:class:`OidcVerifier` checks a compact JWT the way API Gateway's Cognito authorizer would: the
signature (RS256 or ES256 only) against the issuer's JSON Web Key Set, then ``iss``, ``aud``,
``exp`` and ``nbf`` with a small leeway, and a ``sub``. ``alg: none`` and the HMAC algorithms are
refused outright: a public key must never be usable as an HMAC secret.

The key set is fetched once per container and cached; a token naming a key id the cache lacks
(the provider rotated its keys) refetches it, at most once per :data:`REFETCH_INTERVAL_S` so
tokens with made-up key ids cannot turn the authorizer into a flood of requests to the provider.

No boto3 here, and no token content in any error message: a claim may hold personal data.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pydantic import ConfigDict, Field

from lendguard.core.base_model import Model

# Clock skew tolerated between the provider and Lambda on exp / nbf.
DEFAULT_LEEWAY_S = 30
REFETCH_INTERVAL_S = 60.0
FETCH_TIMEOUT_S = 3.0
ALGORITHMS: frozenset[str] = frozenset({"RS256", "ES256"})
_KTY = {"RS256": "RSA", "ES256": "EC"}

JwksFetcher = Callable[[str], Mapping[str, Any]]
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


class InvalidToken(Exception):
    """The token is not one the provider issued for this API now; the reason names no claim value."""


class OidcSettings(Model):
    """Where the provider is and which claim carries the groups (the roles)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: str = Field(min_length=1)
    audience: str = Field(min_length=1)
    # Without it, the provider's discovery document (<issuer>/.well-known/openid-configuration) names it.
    jwks_uri: str | None = None
    groups_claim: str = "groups"
    leeway_s: int = Field(default=DEFAULT_LEEWAY_S, ge=0, le=300)


class VerifiedToken(Model):
    """The caller a valid token names."""

    sub: str
    name: str
    groups: tuple[str, ...]


def fetch_json(url: str) -> Mapping[str, Any]:
    """GET ``url`` as JSON (the key set or the discovery document); https only."""
    if not url.startswith("https://"):
        raise InvalidToken("the identity provider's URL must use https")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as response:
            document = json.loads(response.read())
    except (OSError, ValueError) as exc:  # unreachable, timed out, not JSON: refuse, retry next token
        raise InvalidToken("the identity provider's keys could not be fetched") from exc
    if not isinstance(document, Mapping):
        raise InvalidToken("the identity provider answered with something other than a JSON object")
    return document


def _b64url(segment: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidToken("malformed token: a segment is not base64url") from exc


def _json_segment(segment: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64url(segment))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidToken(f"malformed token: the {what} is not JSON") from exc
    if not isinstance(value, dict):
        raise InvalidToken(f"malformed token: the {what} is not a JSON object")
    return value


def _b64url_int(value: Any, what: str) -> int:
    if not isinstance(value, str) or not value:
        raise InvalidToken(f"the key set has a key without {what}")
    return int.from_bytes(_b64url(value), "big")


def public_key(jwk: Mapping[str, Any]) -> PublicKey:
    """The public key a JWK describes (RSA, or EC on P-256)."""
    kty = jwk.get("kty")
    if kty == "RSA":
        return rsa.RSAPublicNumbers(
            _b64url_int(jwk.get("e"), "e"), _b64url_int(jwk.get("n"), "n")
        ).public_key()
    if kty == "EC" and jwk.get("crv") == "P-256":
        numbers = ec.EllipticCurvePublicNumbers(
            _b64url_int(jwk.get("x"), "x"), _b64url_int(jwk.get("y"), "y"), ec.SECP256R1()
        )
        return numbers.public_key()
    raise InvalidToken("the key set's key is neither RSA nor EC P-256")


class OidcVerifier:
    """Verify tokens of one issuer for one audience; keep its key set for the container's life."""

    def __init__(
        self,
        settings: OidcSettings,
        fetch: JwksFetcher = fetch_json,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._fetch = fetch
        self._clock = clock
        self._keys: dict[str, Mapping[str, Any]] = {}
        self._fetched_at: float | None = None
        self._jwks_uri = settings.jwks_uri
        self.fetches = 0  # how often the key set was fetched (the refetch rule is tested on it)

    # ---- key set ---------------------------------------------------------------------------
    def _uri(self) -> str:
        if self._jwks_uri is None:
            discovery = self._fetch(self.settings.issuer.rstrip("/") + "/.well-known/openid-configuration")
            uri = discovery.get("jwks_uri")
            if not isinstance(uri, str) or not uri:
                raise InvalidToken("the provider's discovery document names no jwks_uri")
            self._jwks_uri = uri
        return self._jwks_uri

    def _refresh(self) -> None:
        document = self._fetch(self._uri())
        keys = document.get("keys")
        if not isinstance(keys, list):
            raise InvalidToken("the provider's key set has no keys")
        self._keys = {str(k["kid"]): k for k in keys if isinstance(k, Mapping) and k.get("kid")}
        self._fetched_at = self._clock()
        self.fetches += 1

    def _key(self, kid: str) -> Mapping[str, Any]:
        if self._fetched_at is None:
            self._refresh()
        if kid not in self._keys and self._clock() - (self._fetched_at or 0.0) >= REFETCH_INTERVAL_S:
            self._refresh()  # the provider may have rotated its keys since we fetched them
        if kid not in self._keys:
            raise InvalidToken("the token's key id is not in the provider's key set")
        return self._keys[kid]

    # ---- token -----------------------------------------------------------------------------
    def verify(self, token: str) -> VerifiedToken:
        """The caller ``token`` names, or :class:`InvalidToken` saying what is wrong with it."""
        parts = token.split(".")
        if len(parts) != 3 or not all(parts[:2]):
            raise InvalidToken("malformed token: expected header.payload.signature")
        header = _json_segment(parts[0], "header")
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise InvalidToken(f"algorithm not accepted: use one of {', '.join(sorted(ALGORITHMS))}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("the token's header names no key id (kid)")
        jwk = self._key(kid)
        if (
            jwk.get("kty") != _KTY[alg]
            or jwk.get("alg") not in (None, alg)
            or jwk.get("use") not in (None, "sig")
        ):
            raise InvalidToken("the key the token names is not a signing key for its algorithm")
        _check_signature(public_key(jwk), alg, f"{parts[0]}.{parts[1]}".encode("ascii"), _b64url(parts[2]))
        claims = _json_segment(parts[1], "payload")
        return self._check_claims(claims)

    def _check_claims(self, claims: Mapping[str, Any]) -> VerifiedToken:
        s = self.settings
        if claims.get("iss") != s.issuer:
            raise InvalidToken("the token was issued by another issuer")
        aud = claims.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if s.audience not in audiences:
            raise InvalidToken("the token is for another audience")
        now = self._clock()
        exp = claims.get("exp")
        if not _is_number(exp):
            raise InvalidToken("the token has no expiry (exp)")
        if now > exp + s.leeway_s:
            raise InvalidToken("the token has expired")
        nbf = claims.get("nbf")
        if nbf is not None and (not _is_number(nbf) or now < nbf - s.leeway_s):
            raise InvalidToken("the token is not valid yet (nbf)")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise InvalidToken("the token names no subject (sub)")
        name = claims.get("name") or claims.get("preferred_username") or sub
        return VerifiedToken(sub=sub, name=str(name), groups=_groups(claims.get(s.groups_claim)))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _groups(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, list):
        return tuple(str(g) for g in raw if isinstance(g, str) and g)
    if isinstance(raw, str) and raw:
        return tuple(g for g in raw.replace(",", " ").split() if g)
    return ()


def _check_signature(key: PublicKey, alg: str, signing_input: bytes, signature: bytes) -> None:
    try:
        if alg == "RS256" and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
            return
        if alg == "ES256" and isinstance(key, ec.EllipticCurvePublicKey):
            # JWS carries ECDSA signatures as r || s, 32 bytes each (RFC 7518 3.4), not DER.
            if len(signature) != 64:
                raise InvalidToken("bad signature")
            r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            key.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(hashes.SHA256()))
            return
    except InvalidSignature as exc:
        raise InvalidToken("bad signature") from exc
    raise InvalidToken("the key the token names does not match its algorithm")
