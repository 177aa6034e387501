"""``lendguard serve``: the HTTP API on 127.0.0.1, answering exactly as API Gateway would,
and the console's static files at ``/console``.

Each request is turned into an API Gateway REST proxy event and handed to the same resolver
the deployed ``api`` function runs, so bodies and status codes are the same.
"""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from lendguard.core.application import MAX_PAYLOAD_BYTES
from lendguard.offline.console import assets
from lendguard.offline.local.lambda_hook import LocalContext

# Powertools' resolver keeps the current event on itself: one request at a time.
_resolve_lock = threading.Lock()


def proxy_event(method: str, target: str, headers: dict[str, str], body: bytes | None) -> dict[str, Any]:
    """An API Gateway REST (v1) Lambda-proxy event for one HTTP request."""
    parts = urlsplit(target)
    query = dict(parse_qsl(parts.query)) or None
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
            "requestId": str(uuid.uuid4()),
            "stage": "local",
            "httpMethod": method,
            "path": parts.path,
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": body.decode("utf-8", errors="replace") if body else None,
        "isBase64Encoded": False,
    }


def resolve(
    method: str, target: str, headers: dict[str, str], body: bytes | None
) -> tuple[int, dict[str, str], str]:
    """Answer one request with the API's resolver: (status, headers, body)."""
    from lendguard.http.app import app

    with _resolve_lock:
        result = app.resolve(proxy_event(method, target, headers, body), LocalContext("lendguard-local-api"))
    out_headers = dict(result.get("headers") or {})
    for key, values in (result.get("multiValueHeaders") or {}).items():
        out_headers[key] = ", ".join(values)
    return int(result["statusCode"]), out_headers, result.get("body") or ""


class _Handler(BaseHTTPRequestHandler):
    server_version = "lendguard-local"

    def _serve(self) -> None:
        path = urlsplit(self.path).path
        if path == assets.PREFIX or path.startswith(assets.PREFIX + "/"):
            self._console(path)
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_PAYLOAD_BYTES + 1024:
            self._send(413, {"Content-Type": "application/json"},
                       json.dumps({"error": "payload too large", "details": [
                           {"field": "(body)", "message": f"limit is {MAX_PAYLOAD_BYTES} bytes"}]}))  # fmt: skip
            return
        body = self.rfile.read(length) if length else None
        try:
            status, headers, text = resolve(self.command, self.path, dict(self.headers.items()), body)
        except Exception as exc:  # the API Gateway equivalent of an integration failure
            status, headers, text = (
                500,
                {"Content-Type": "application/json"},
                json.dumps(
                    {
                        "error": "internal error",
                        "details": [{"field": "(server)", "message": f"{type(exc).__name__}: {exc}"}],
                    }
                ),
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
        found = assets.resolve_asset(path)
        if found is None:
            self._send(404, {"Content-Type": "text/plain", **assets.SECURITY_HEADERS}, "not found")
            return
        file, content_type = found
        self._send(200, {"Content-Type": content_type, **assets.SECURITY_HEADERS}, file.read_text("utf-8"))

    def _send(self, status: int, headers: dict[str, str], text: str) -> None:
        data = text.encode()
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815 - names http.server dispatches on

    def log_message(self, format: str, *args: Any) -> None:
        pass


def make_server(port: int) -> ThreadingHTTPServer:
    """An HTTP server bound to 127.0.0.1 only (never an outside interface)."""
    return ThreadingHTTPServer(("127.0.0.1", port), _Handler)
