"""The OIDC token verifier and the TOKEN authorizer (issue 11, identity.provider "oidc"), with
keys generated here and a key set served from memory."""

from __future__ import annotations

import base64
import importlib.util
import json
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from lendguard import deployment
from lendguard.http.access import Role, principal_from_context
from lendguard.http.authorizer import UNAUTHORIZED, Unauthorized, authorize, settings_from_env
from lendguard.http.oidc import REFETCH_INTERVAL_S, InvalidToken, OidcSettings, OidcVerifier, fetch_json
from lendguard.offline import project

ISSUER = "https://idp.lender.example.cn/realms/staff"
AUDIENCE = "lendguard-console"
JWKS_URI = ISSUER + "/protocol/openid-connect/certs"
NOW = 1_800_000_000.0
METHOD_ARN = "arn:aws-cn:execute-api:cn-northwest-1:123456789012:abc123/prod/GET/v1/cases"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def num(value: int) -> str:
    return b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))


RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def rsa_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    pub = key.public_key().public_numbers()
    return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": num(pub.n), "e": num(pub.e)}


def ec_jwk(key: ec.EllipticCurvePrivateKey, kid: str) -> dict[str, Any]:
    pub = key.public_key().public_numbers()
    # RFC 7518 6.2.1: the coordinates at the curve's full size (32 bytes on P-256).
    return {"kty": "EC", "kid": kid, "crv": "P-256", "x": b64(pub.x.to_bytes(32, "big")),
            "y": b64(pub.y.to_bytes(32, "big"))}  # fmt: skip


def sign(claims: Mapping[str, Any], *, alg: str = "RS256", kid: str = "rsa-1", key: Any = RSA_KEY) -> str:
    header = b64(json.dumps({"alg": alg, "typ": "JWT", "kid": kid}).encode())
    payload = b64(json.dumps(dict(claims)).encode())
    signing_input = f"{header}.{payload}".encode()
    if alg == "RS256":
        signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    elif alg == "ES256":
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    elif alg == "HS256":
        mac = hmac.HMAC(key, hashes.SHA256())
        mac.update(signing_input)
        signature = mac.finalize()
    else:  # "none"
        signature = b""
    return f"{header}.{payload}.{b64(signature)}"


def claims(**overrides: Any) -> dict[str, Any]:
    base = {"iss": ISSUER, "aud": AUDIENCE, "sub": "u-7f3a", "name": "Reviewer One",
            "groups": ["reviewer", "analyst"], "exp": NOW + 600, "nbf": NOW - 5, "iat": NOW - 5}  # fmt: skip
    return base | overrides


class Provider:
    """The issuer's key set, served from memory; counts the fetches."""

    def __init__(self, *key_sets: list[dict[str, Any]]) -> None:
        self.key_sets = list(key_sets)
        self.urls: list[str] = []

    def __call__(self, url: str) -> Mapping[str, Any]:
        self.urls.append(url)
        if url.endswith("/.well-known/openid-configuration"):
            return {"issuer": ISSUER, "jwks_uri": JWKS_URI}
        assert url == JWKS_URI
        keys = self.key_sets[0] if len(self.key_sets) == 1 else self.key_sets.pop(0)
        return {"keys": keys}


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def verifier(provider: Provider | None = None, clock: Clock | None = None, **settings: Any) -> OidcVerifier:
    config = OidcSettings(issuer=ISSUER, audience=AUDIENCE, jwks_uri=JWKS_URI).model_copy(update=settings)
    return OidcVerifier(config, fetch=provider or Provider([rsa_jwk(RSA_KEY, "rsa-1"), ec_jwk(EC_KEY, "ec-1")]),
                        clock=clock or Clock())  # fmt: skip


def test_a_valid_rs256_token_names_its_subject_name_and_groups() -> None:
    caller = verifier().verify(sign(claims()))
    assert (caller.sub, caller.name, caller.groups) == ("u-7f3a", "Reviewer One", ("reviewer", "analyst"))


def test_a_valid_es256_token_verifies() -> None:
    assert verifier().verify(sign(claims(), alg="ES256", kid="ec-1", key=EC_KEY)).sub == "u-7f3a"


def test_audience_may_be_a_list_containing_ours() -> None:
    assert verifier().verify(sign(claims(aud=["other", AUDIENCE]))).sub == "u-7f3a"


@pytest.mark.parametrize(
    ("token_claims", "reason"),
    [
        (claims(aud="another-app"), "another audience"),
        (claims(aud=["a", "b"]), "another audience"),
        (claims(iss="https://evil.example.com"), "another issuer"),
        (claims(exp=NOW - 31), "expired"),
        (claims(exp=None), "no expiry"),
        (claims(exp=True), "no expiry"),
        (claims(nbf=NOW + 31), "not valid yet"),
        (claims(sub=""), "no subject"),
    ],
)
def test_claims_that_do_not_fit_are_refused(token_claims: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidToken, match=reason):
        verifier().verify(sign(token_claims))


def test_exp_and_nbf_allow_the_leeway() -> None:
    check = verifier()
    assert check.verify(sign(claims(exp=NOW - 29, nbf=NOW + 29))).sub == "u-7f3a"


def test_a_token_signed_by_another_key_is_refused() -> None:
    with pytest.raises(InvalidToken, match="bad signature"):
        verifier().verify(sign(claims(), key=OTHER_RSA_KEY))


def test_a_tampered_payload_is_refused() -> None:
    header, _, signature = sign(claims()).split(".")
    forged = b64(json.dumps(claims(groups=["approver"])).encode())
    with pytest.raises(InvalidToken, match="bad signature"):
        verifier().verify(f"{header}.{forged}.{signature}")


def test_alg_none_is_refused() -> None:
    with pytest.raises(InvalidToken, match="algorithm not accepted"):
        verifier().verify(sign(claims(), alg="none"))


def test_hs256_keyed_with_the_public_key_is_refused() -> None:
    # The classic confusion attack: the RSA public key (public knowledge) as an HMAC secret.
    public_bytes = RSA_KEY.public_key().public_numbers().n.to_bytes(256, "big")
    with pytest.raises(InvalidToken, match="algorithm not accepted"):
        verifier().verify(sign(claims(), alg="HS256", key=public_bytes))


def test_an_rs256_token_naming_an_ec_key_is_refused() -> None:
    with pytest.raises(InvalidToken, match="not a signing key for its algorithm"):
        verifier().verify(sign(claims(), kid="ec-1"))


@pytest.mark.parametrize("token", ["", "abc", "a.b", "a.b.c.d", "!!.??.xx", "e30.e30."])
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidToken):
        verifier().verify(token)


def test_the_key_set_is_fetched_once_and_kept() -> None:
    provider = Provider([rsa_jwk(RSA_KEY, "rsa-1")])
    check = verifier(provider)
    for _ in range(3):
        check.verify(sign(claims()))
    assert provider.urls == [JWKS_URI]


def test_an_unknown_kid_refetches_the_key_set_after_rotation() -> None:
    rotated = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    provider = Provider([rsa_jwk(RSA_KEY, "rsa-1")], [rsa_jwk(RSA_KEY, "rsa-1"), rsa_jwk(rotated, "rsa-2")])
    clock = Clock()
    check = verifier(provider, clock)
    check.verify(sign(claims()))
    clock.now += REFETCH_INTERVAL_S + 1
    assert check.verify(sign(claims(exp=clock.now + 60), kid="rsa-2", key=rotated)).sub == "u-7f3a"
    assert check.fetches == 2


def test_unknown_kids_do_not_refetch_more_than_once_per_interval() -> None:
    provider = Provider([rsa_jwk(RSA_KEY, "rsa-1")])
    check = verifier(provider)
    check.verify(sign(claims()))
    for kid in ("made-up-1", "made-up-2"):
        with pytest.raises(InvalidToken, match="key id"):
            check.verify(sign(claims(), kid=kid))
    assert check.fetches == 1


def test_without_jwks_uri_the_discovery_document_names_it() -> None:
    provider = Provider([rsa_jwk(RSA_KEY, "rsa-1")])
    check = verifier(provider, jwks_uri=None)
    check.verify(sign(claims()))
    assert provider.urls == [ISSUER + "/.well-known/openid-configuration", JWKS_URI]


def test_the_groups_claim_is_configurable_and_may_be_a_string() -> None:
    check = verifier(groups_claim="roles")
    assert check.verify(sign(claims(roles="operator reviewer"))).groups == ("operator", "reviewer")


def test_error_messages_never_echo_claims() -> None:
    with pytest.raises(InvalidToken) as caught:
        verifier().verify(sign(claims(aud="110101199003078515", sub="13800138000")))
    assert "110101199003078515" not in str(caught.value) and "13800138000" not in str(caught.value)


# ---- the authorizer ------------------------------------------------------------------------


def event(token: str | None) -> dict[str, Any]:
    found: dict[str, Any] = {"type": "TOKEN", "methodArn": METHOD_ARN}
    if token is not None:
        found["authorizationToken"] = token
    return found


def test_the_authorizer_allows_the_method_and_passes_the_caller_in_its_context() -> None:
    answer = authorize(event("Bearer " + sign(claims())), verifier())
    assert answer["principalId"] == "u-7f3a"
    (statement,) = answer["policyDocument"]["Statement"]
    assert statement == {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": METHOD_ARN}
    assert answer["context"] == {"sub": "u-7f3a", "name": "Reviewer One", "groups": "reviewer,analyst"}
    assert all(isinstance(v, str) for v in answer["context"].values())


def test_the_api_reads_the_authorizer_context_as_the_same_principal_as_cognito_claims() -> None:
    context = authorize(event("Bearer " + sign(claims())), verifier())["context"]
    # API Gateway passes a Lambda authorizer's context flat under requestContext.authorizer.
    from_oidc = principal_from_context({"authorizer": {"principalId": "u-7f3a", **context}})
    from_cognito = principal_from_context(
        {
            "authorizer": {
                "claims": {"sub": "u-7f3a", "name": "Reviewer One", "cognito:groups": "reviewer,analyst"}
            }
        }
    )
    assert from_oidc == from_cognito
    assert from_oidc is not None and from_oidc.roles == frozenset({Role.REVIEWER, Role.ANALYST})


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Basic dXNlcjpwYXNz", "Bearer not.a.jwt", "Bearer " + sign(claims(exp=NOW - 600))],
)
def test_the_authorizer_answers_unauthorized_to_anything_else(header: str | None) -> None:
    with pytest.raises(Unauthorized) as caught:
        authorize(event(header), verifier())
    assert str(caught.value) == UNAUTHORIZED


def test_settings_come_from_the_environment_the_stack_sets() -> None:
    settings = settings_from_env({deployment.ENV_OIDC_ISSUER: ISSUER, deployment.ENV_OIDC_AUDIENCE: AUDIENCE,
                                  deployment.ENV_OIDC_GROUPS_CLAIM: "roles"})  # fmt: skip
    assert (settings.issuer, settings.audience, settings.jwks_uri, settings.groups_claim) == (
        ISSUER, AUDIENCE, None, "roles")  # fmt: skip


def test_a_provider_that_cannot_be_reached_refuses_the_token_and_is_asked_again_next_time() -> None:
    calls: list[str] = []

    def unreachable(url: str) -> Mapping[str, Any]:
        calls.append(url)
        raise InvalidToken("the identity provider's keys could not be fetched")

    check = OidcVerifier(OidcSettings(issuer=ISSUER, audience=AUDIENCE, jwks_uri=JWKS_URI), fetch=unreachable)
    for _ in range(2):
        with pytest.raises(InvalidToken, match="could not be fetched"):
            check.verify(sign(claims()))
    assert calls == [JWKS_URI, JWKS_URI]


def test_fetch_json_refuses_plain_http() -> None:
    with pytest.raises(InvalidToken, match="https"):
        fetch_json("http://idp.example.cn/certs")


def test_the_lambda_handler_answers_from_the_environment_the_stack_sets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(deployment.ENV_OIDC_ISSUER, ISSUER)
    monkeypatch.setenv(deployment.ENV_OIDC_AUDIENCE, AUDIENCE)
    monkeypatch.setenv(deployment.ENV_OIDC_JWKS_URI, JWKS_URI)
    path = project.function_dir(deployment.AUTHORIZER_FUNCTION) / "handler.py"
    spec = importlib.util.spec_from_file_location("authorizer_handler_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.verifier.settings == OidcSettings(issuer=ISSUER, audience=AUDIENCE, jwks_uri=JWKS_URI)
    # The one seam: the key set comes from memory, not the network (and the token's clock is ours).
    module.verifier = verifier()
    context = SimpleNamespace(function_name="authorizer", memory_limit_in_mb=256, aws_request_id="r-1",
                              invoked_function_arn="arn:aws-cn:lambda:cn-northwest-1:123456789012:function:a")  # fmt: skip
    answer = module.handler(event("Bearer " + sign(claims())), context)
    assert answer["context"]["sub"] == "u-7f3a"
    with pytest.raises(Unauthorized):
        module.handler(event("Bearer " + sign(claims(), key=OTHER_RSA_KEY)), context)
