"""``lendguard serve``: the HTTP API on 127.0.0.1, answering exactly as API Gateway would,
and the console's static files at ``/console``.

Each request is turned into an API Gateway REST proxy event and handed to the same resolver
the deployed ``api`` function runs, so bodies and status codes are the same. The caller comes
from a bearer token in the users file (:mod:`lendguard.offline.local.users`), turned into the
request context API Gateway's authorizers produce: the resolver cannot tell the difference.

Concurrency: the server accepts with a listen backlog of :data:`LISTEN_BACKLOG` and a thread
per connection, so 50 concurrent clients queue instead of being reset. Powertools keeps the
current request on a class attribute (``BaseRouter.current_event``, one request per Lambda
container), so requests are *resolved* one at a time; moto, which does the work, serialises on
the same interpreter anyway, so the lock costs no throughput (``bench/serve.py`` measures it).
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import uuid
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from lendguard.core.application import MAX_PAYLOAD_BYTES
from lendguard.offline.console import assets, signin
from lendguard.offline.console.signin import OidcSignIn, TokenSignIn
from lendguard.offline.local.lambda_hook import LocalContext
from lendguard.offline.local.users import DEFAULT_USERS_FILE, TokenProblem, Users, request_context_of

LISTEN_BACKLOG = 128
_resolve_lock = threading.Lock()


@cache
def default_users() -> Users:
    """``examples/users.json``: one person per role and a loan-app backend."""
    from lendguard.offline.project import examples_dir

    return Users.load(examples_dir() / DEFAULT_USERS_FILE)


class Unauthorized(Exception):
    """What API Gateway's authorizer answers itself (401) before the function runs."""


def _bearer(headers: dict[str, str]) -> str | None:
    for key, value in headers.items():
        if key.lower() == "authorization":
            scheme, _, token = value.strip().partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized("the Authorization header must be 'Bearer TOKEN'")
            return token.strip()
    return None


def proxy_event(
    method: str,
    target: str,
    headers: dict[str, str],
    body: bytes | None,
    request_context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST (v1) Lambda-proxy event for one HTTP request.

    A body that is not valid UTF-8 is passed base64-encoded (as API Gateway passes binary), so
    the API sees the bytes the client sent and can refuse them by name.
    """
    parts = urlsplit(target)
    query = dict(parse_qsl(parts.query)) or None
    text: str | None = None
    encoded = False
    if body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode("ascii"), True
    rid = str(uuid.uuid4())
    return {
        "resource": parts.path,
        "path": parts.path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in (query or {}).items()} or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "requestId": rid,
            "stage": "local",
            "httpMethod": method,
            "path": parts.path,
            "identity": {"sourceIp": "127.0.0.1"},
            **(request_context or {}),
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


def _json_error(status: int, message: str, field: str, detail: str) -> tuple[int, dict[str, str], str]:
    body = {"error": message, "details": [{"field": field, "message": detail}]}
    return status, {"Content-Type": "application/json"}, json.dumps(body)


def resolve(
    method: str, target: str, headers: dict[str, str], body: bytes | None, users: Users | None = None
) -> tuple[int, dict[str, str], str]:
    """Answer one request with the API's resolver: (status, headers, body).

    A missing token reaches the API without a caller (401 from the API's guard); an unknown or
    expired one is refused here with 401, as API Gateway's authorizer refuses it.
    """
    from lendguard.http.app import app

    try:
        token = _bearer(headers)
        context = request_context_of((users or default_users()).find(token)) if token else None
    except (Unauthorized, TokenProblem) as exc:
        return _json_error(401, "unauthorized", "Authorization", str(exc))
    event = proxy_event(method, target, headers, body, context)
    with _resolve_lock:
        result = app.resolve(event, LocalContext("lendguard-local-api"))
    out_headers = dict(result.get("headers") or {})
    for key, values in (result.get("multiValueHeaders") or {}).items():
        out_headers[key] = ", ".join(values)
    return int(result["statusCode"]), out_headers, result.get("body") or ""


class _Handler(BaseHTTPRequestHandler):
    server_version = "lendguard-local"
    users: Users | None = None
    sign_in: TokenSignIn | OidcSignIn = TokenSignIn()

    def _serve(self) -> None:
        path = urlsplit(self.path).path
        if path == assets.PREFIX or path.startswith(assets.PREFIX + "/"):
            self._console(path)
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self._send(*_json_error(400, "bad request", "Content-Length", "must be an integer"))
            return
        if length > MAX_PAYLOAD_BYTES + 1024:
            self._send(
                *_json_error(413, "payload too large", "(body)", f"limit is {MAX_PAYLOAD_BYTES} bytes")
            )
            return
        body = self.rfile.read(length) if length else None
        try:
            status, headers, text = resolve(
                self.command, self.path, dict(self.headers.items()), body, self.users
            )
        except Exception:  # the API Gateway equivalent of an integration failure: no text leaks
            rid = str(uuid.uuid4())
            status, headers, text = _json_error(
                500, "internal error", "(server)", f"unexpected error; quote request id {rid}"
            )
        self._send(status, headers, text)

    def _console(self, path: str) -> None:
        """The console's static files (GET only), with the same security headers as CloudFront."""
        if self.command != "GET":
            self._send(405, {"Content-Type": "text/plain", "Allow": "GET"}, "method not allowed")
            return
        if path == assets.PREFIX:  # relative asset URLs resolve under /console/
            self._send(301, {"Location": assets.PREFIX + "/"}, "")
            return
        connect = (
            (signin.origin(self.sign_in.token_endpoint),) if isinstance(self.sign_in, OidcSignIn) else ()
        )
        headers = assets.security_headers(*connect)
        if path == f"{assets.PREFIX}/{signin.CONFIG_FILE}":
            self._send(
                200, {"Content-Type": assets.CONTENT_TYPES[".json"], **headers}, signin.document(self.sign_in)
            )
            return
        found = assets.resolve_asset(path)
        if found is None:
            self._send(404, {"Content-Type": "text/plain", **headers}, "not found")
            return
        file, content_type = found
        self._send(200, {"Content-Type": content_type, **headers}, file.read_text("utf-8"))

    def _send(self, status: int, headers: dict[str, str], text: str) -> None:
        data = text.encode()
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up waiting
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve  # noqa: N815 - names http.server dispatches on

    def log_message(self, format: str, *args: Any) -> None:
        pass


class LocalHttpServer(ThreadingHTTPServer):
    """A thread per connection, a deep accept queue, threads that never block shutdown."""

    request_queue_size = LISTEN_BACKLOG
    daemon_threads = True


def make_server(
    port: int, users_file: Path | None = None, sign_in: TokenSignIn | OidcSignIn | None = None
) -> LocalHttpServer:
    """An HTTP server bound to 127.0.0.1 only (never an outside interface).

    ``users_file`` replaces ``examples/users.json`` (the tokens callers may send); ``sign_in``
    is the console's ``config.json`` (default: paste a token).
    """
    users = Users.load(users_file) if users_file is not None else default_users()
    handler = type("Handler", (_Handler,), {"users": users, "sign_in": sign_in or TokenSignIn()})
    return LocalHttpServer(("127.0.0.1", port), handler)
