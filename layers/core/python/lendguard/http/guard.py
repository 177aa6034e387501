"""The API's trust boundary, run before every route: who calls, may they, and what they send.

:func:`guard` is a Powertools middleware. For every request it finds the route in the route
table (:data:`lendguard.http.access.ROUTES`), authenticates the caller from the request context
(401 when nobody is named), checks the caller's roles (403), and checks the body's content type
(415). Routes then read the caller with :func:`principal` and pass it into domain calls as a
parameter; they never authorise anything themselves.

:func:`internal_error` is the answer to anything unexpected: a 500 JSON error carrying the
request id and nothing of the exception (its text may hold personal data).
"""

from __future__ import annotations

import base64
import json
import traceback
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from lendguard.core.errors import FieldError
from lendguard.http.access import CONTENT_TYPES, Principal, allowed, match, principal_from_context

logger = Logger(child=True)
PRINCIPAL_KEY = "lendguard_principal"


class HttpProblem(Exception):
    """A request refused before any route runs: status, message and the field at fault."""

    def __init__(self, status: int, message: str, details: list[FieldError] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or []


class Forbidden(HttpProblem):
    """403: the caller is known but may not do this (also: a body naming someone else)."""

    def __init__(self, message: str, details: list[FieldError] | None = None):
        super().__init__(403, message, details)


def error_response(status: int, message: str, details: list[FieldError] | None = None) -> Response:
    """The API's error body: ``{"error", "details": [{"field", "message"}]}``."""
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"error": message, "details": [d.model_dump() for d in details or []]},
    )


def request_id(event: Any) -> str:
    """API Gateway's id of the request (what an operator greps the access logs for)."""
    context = getattr(event, "request_context", None)
    return str(getattr(context, "request_id", None) or "unknown")


def internal_error(rid: str) -> dict[str, Any]:
    """A 500 proxy response for ``rid``: no exception type, text or trace leaves the function."""
    body = {
        "error": "internal error",
        "request_id": rid,
        "details": [{"field": "(server)", "message": f"unexpected error; quote request id {rid}"}],
    }
    return {
        "statusCode": 500,
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def log_unexpected(exc: BaseException, rid: str) -> None:
    """Log where it failed (frames only: the message could hold personal data) and what kind."""
    logger.error(
        "unexpected error",
        extra={"request_id": rid, "error_type": type(exc).__name__,
               "frames": traceback.format_tb(exc.__traceback__)[-8:]},
    )  # fmt: skip


def body_bytes(app: BaseRouter) -> bytes | None:
    """The request body exactly as sent: base64-decoded when API Gateway encoded it (a body
    that is not valid UTF-8 arrives so), so strict parsing sees the bytes the client sent."""
    event = app.current_event
    raw = event.body
    if raw is None or raw == "":
        return None
    if event.is_base64_encoded:
        return base64.b64decode(raw)
    return raw.encode("utf-8", errors="surrogatepass")


def principal(app: BaseRouter) -> Principal:
    """The authenticated caller of the current request (set by :func:`guard`)."""
    found = app.context.get(PRINCIPAL_KEY)
    if not isinstance(found, Principal):  # a route outside the table: guard refused it already
        raise HttpProblem(401, "authentication required")
    return found


def _content_type(headers: dict[str, str]) -> str:
    for key, value in headers.items():
        if key.lower() == "content-type":
            return value.split(";", 1)[0].strip().lower()
    return ""


def guard(app: BaseRouter, next_middleware: NextMiddleware) -> Response:
    """Authenticate, authorise and check the content type; then run the route."""
    event = app.current_event
    route = match(event.http_method, event.path)
    if route is None:
        return next_middleware(app)  # Powertools answers 404 / 405
    caller = principal_from_context(event.raw_event.get("requestContext"))
    if caller is None:
        raise HttpProblem(401, "authentication required: send a bearer token or sign the request (SigV4)")
    if not allowed(route, caller):
        needed = ", ".join(sorted(route.roles)) or "a loan-app backend (IAM)"
        raise Forbidden(f"{route.method} {route.path} needs one of: {needed}")
    if route.body is not None and body_bytes(app) is not None:
        sent = _content_type(dict(event.headers or {}))
        accepted = CONTENT_TYPES[route.body]
        if sent not in accepted:
            raise HttpProblem(
                415,
                "unsupported media type",
                [FieldError(field="Content-Type", message=f"must be {' or '.join(accepted)}")],
            )
    app.append_context(**{PRINCIPAL_KEY: caller})
    return next_middleware(app)


def actor_field(value: Any, caller: Principal, field: str) -> str:
    """The actor a body may still name: absent (the caller is used) or the caller itself."""
    if value is None or value == "" or value == caller.actor:
        return caller.actor
    raise Forbidden(
        f"{field} must be the authenticated caller",
        [FieldError(field=field, message="must be omitted or equal the authenticated caller")],
    )
