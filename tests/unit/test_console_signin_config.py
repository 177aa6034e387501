"""The console's sign-in config.json: what ``lendguard serve --console-signin`` accepts, and the
CSP that lets the page reach the token endpoint (and nothing else)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lendguard.offline.console import assets, signin

GOOD: dict[str, Any] = {
    "mode": "oidc",
    "authorization_endpoint": "https://sso.lender.example/authorize",
    "token_endpoint": "https://sso.lender.example:8443/token",
    "client_id": "console",
    "redirect_uri": "https://console.lender.example/console/index.html",
    "scopes": ["openid", "profile"],
}


def _write(tmp_path: Path, raw: object) -> Path:
    path = tmp_path / "signin.json"
    path.write_text(json.dumps(raw))
    return path


def test_token_mode_is_the_default_document() -> None:
    assert json.loads(signin.document(signin.TokenSignIn())) == {"mode": "token"}


def test_an_oidc_file_loads_and_round_trips(tmp_path: Path) -> None:
    loaded = signin.load(_write(tmp_path, GOOD))
    assert isinstance(loaded, signin.OidcSignIn)
    assert (
        json.loads(signin.document(loaded))
        == GOOD
        == signin.oidc_document(
            **{k: v for k, v in GOOD.items() if k not in ("mode", "scopes")}, scopes=("openid", "profile")
        )
    )
    # Plain http is for a provider on this machine only.
    local = {**GOOD, "token_endpoint": "http://127.0.0.1:9000/token"}
    assert signin.load(_write(tmp_path, local)).token_endpoint == local["token_endpoint"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"token_endpoint": "http://sso.lender.example/token"}, "token_endpoint"),
        ({"authorization_endpoint": "javascript:alert(1)"}, "authorization_endpoint"),
        ({"client_id": "two words"}, "client_id"),
        ({"scopes": []}, "scopes"),
        ({"scopes": ['open"id']}, "scopes.0"),
        ({"extra": 1}, "extra"),
        ({"mode": "implicit"}, "<root>"),
    ],
)
def test_a_bad_file_names_the_field(tmp_path: Path, change: dict[str, Any], field: str) -> None:
    with pytest.raises(signin.SignInConfigError, match=f"field '{field}'"):
        signin.load(_write(tmp_path, {**GOOD, **change}))


def test_a_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "signin.json"
    path.write_text("{")
    with pytest.raises(signin.SignInConfigError, match="not a readable JSON file"):
        signin.load(path)


def test_the_csp_adds_only_the_token_endpoints_origin() -> None:
    origin = signin.origin(GOOD["token_endpoint"])
    assert origin == "https://sso.lender.example:8443"
    csp = assets.content_security_policy(origin)
    assert "connect-src 'self' https://sso.lender.example:8443;" in csp
    # Everything else as strict as without a provider.
    assert csp.replace(f" {origin}", "") == assets.CONTENT_SECURITY_POLICY
