"""The console signs in through an identity provider (authorization code + PKCE) in headless
Chromium against ``lendguard serve --console-signin``.

A tiny OIDC provider runs in the test: its authorize endpoint records the S256 challenge and
sends the browser back with a code; its token endpoint refuses the code unless the verifier
hashes to that challenge and the client and redirect URI match, and then answers with an id
token the local stack accepts (a users-file token: the local stack verifies no JWTs).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from authn import token_of, write_users_file
from served import free_port, served_stack

CLIENT_ID = "lendguard-console"
USER = "alice"


@dataclass
class FakeProvider:
    """What the fake provider saw: issued codes (code -> challenge, redirect) and exchanges."""

    redirect_uri: str = ""
    console_origin: str = ""
    codes: dict[str, tuple[str, str]] = field(default_factory=dict)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    exchanges: list[str] = field(default_factory=list)  # "ok" or the refusal's reason


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _handler(provider: FakeProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if parts.path != "/authorize":
                self._reply(404, {"error": "not_found"})
                return
            provider.authorize_requests.append(query)
            ok = (
                query.get("response_type") == "code"
                and query.get("client_id") == CLIENT_ID
                and query.get("redirect_uri") == provider.redirect_uri
                and query.get("code_challenge_method") == "S256"
                and len(query.get("code_challenge", "")) == 43
                and "openid" in query.get("scope", "").split()
                and query.get("state")
            )
            if not ok:
                self._reply(400, {"error": "invalid_request"})
                return
            code = secrets.token_urlsafe(16)
            provider.codes[code] = (query["code_challenge"], query["redirect_uri"])
            back = urlencode({"code": code, "state": query["state"]})
            self.send_response(302)
            self.send_header("Location", f"{query['redirect_uri']}?{back}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            if urlsplit(self.path).path != "/token":
                self._reply(404, {"error": "not_found"})
                return
            if not self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                self._refuse("content type")
                return
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            form = {k: v[0] for k, v in parse_qs(body).items()}
            issued = provider.codes.pop(form.get("code", ""), None)  # a code is good once
            if form.get("grant_type") != "authorization_code" or issued is None:
                self._refuse("code")
            elif form.get("client_id") != CLIENT_ID or form.get("redirect_uri") != issued[1]:
                self._refuse("client")
            elif _s256(form.get("code_verifier", "")) != issued[0]:
                self._refuse("verifier")
            else:
                provider.exchanges.append("ok")
                self._reply(200, {"id_token": token_of(USER), "token_type": "Bearer", "expires_in": 3600})

        def _refuse(self, reason: str) -> None:
            provider.exchanges.append(reason)
            self._reply(400, {"error": "invalid_grant", "error_description": reason})

        def _reply(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            # The page calls the token endpoint from its own origin (a CORS request).
            self.send_header("Access-Control-Allow-Origin", provider.console_origin)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture(scope="module")
def provider_and_console(default_model, tmp_path_factory) -> Iterator[tuple[FakeProvider, str]]:
    provider = FakeProvider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    issuer = f"http://127.0.0.1:{server.server_address[1]}"
    port = free_port()
    provider.console_origin = f"http://127.0.0.1:{port}"
    provider.redirect_uri = f"{provider.console_origin}/console/index.html"
    folder = tmp_path_factory.mktemp("console-signin")
    config = folder / "signin.json"
    config.write_text(json.dumps({
        "mode": "oidc", "authorization_endpoint": f"{issuer}/authorize", "token_endpoint": f"{issuer}/token",
        "client_id": CLIENT_ID, "redirect_uri": provider.redirect_uri, "scopes": ["openid", "profile"],
    }))  # fmt: skip
    users = write_users_file(folder / "users.json")
    try:
        with served_stack(folder / "serve.log", "--users", str(users), "--console-signin", str(config),
                          port=port) as url:  # fmt: skip
            yield provider, url
    finally:
        server.shutdown()


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.problems = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))
    return page


def test_sign_in_through_the_provider_with_pkce_then_the_queue(provider_and_console, page) -> None:
    provider, url = provider_and_console
    page.goto(f"{url}/console/#/lists")
    page.locator("#signin-provider").click()
    # Back from the provider with a code, exchanged with the verifier, and on the page asked for.
    page.locator("#list-form").wait_for()
    assert provider.exchanges[-1:] == ["ok"], provider.exchanges
    request = provider.authorize_requests[-1]
    assert request["code_challenge_method"] == "S256" and request["scope"] == "openid profile"
    # The code never stays in the address bar; the id token is in the tab's session storage only.
    assert "code=" not in page.url and page.url.endswith("#/lists")
    assert page.evaluate("sessionStorage.getItem('lendguard.token')") == token_of(USER)
    assert page.evaluate("sessionStorage.getItem('lendguard.pkce')") is None  # verifier used once
    # (localStorage keeps only the language choice.)
    assert page.evaluate("Object.keys(localStorage)") in ([], ["lendguard.lang"])
    assert page.locator("#who").inner_text() == USER  # the API's subject, not a typed name
    page.goto(f"{url}/console/#/queue")
    page.locator("#queue-body table, #queue-body p").first.wait_for()
    assert page.problems == [], "; ".join(page.problems)  # type: ignore[attr-defined]

    # Sign-out clears the token; the provider's sign-in is offered again.
    page.locator("#signout").click()
    page.locator("#signin-provider").wait_for()
    assert page.evaluate("sessionStorage.getItem('lendguard.token')") is None


def test_a_401_or_a_forged_return_sends_the_user_to_sign_in_again(provider_and_console, page) -> None:
    provider, url = provider_and_console
    # An id token the API no longer accepts (expired): the 401 returns to the provider's sign-in.
    page.goto(f"{url}/console/#/queue")
    page.evaluate(
        "sessionStorage.setItem('lendguard.token', 'expired-token'); sessionStorage.setItem('lendguard.user', 'x')"
    )
    page.reload()
    page.locator("#signin [role=alert]", has_text="登录已失效").wait_for()
    assert page.evaluate("sessionStorage.getItem('lendguard.token')") is None

    # A code this tab never asked for (state not ours): refused before any token request.
    exchanges = len(provider.exchanges)
    page.goto(f"{url}/console/index.html?code=stolen&state=forged")
    page.locator("#signin [role=alert]", has_text="登录未完成").wait_for()
    page.locator("#signin-provider").wait_for()
    assert len(provider.exchanges) == exchanges and "code=" not in page.url
