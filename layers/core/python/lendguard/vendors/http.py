"""The generic HTTP JSON adapter: one configured request per call, mapped onto a typed response.

Configured in the policy (``adapter: http`` + an ``http`` block, see
:class:`lendguard.policy.schema.HttpAdapter`): URL and method, an auth header whose value comes
from Secrets Manager, a request template, and a JSON pointer (RFC 6901) per response field.
Uses urllib3 (already shipped with botocore), never follows redirects, reads at most
``max_response_bytes``, and leaves retries to the caller so every attempt is counted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import urllib3
from pydantic import ValidationError

from lendguard.core.vendor_responses import RESPONSE_MODELS, VendorResponse
from lendguard.decision.state import Subject
from lendguard.policy.pointer import PointerNotFound, resolve_pointer
from lendguard.policy.schema import HttpAdapter, Vendor
from lendguard.policy.template import TemplateError, render
from lendguard.vendors.errors import (
    VendorConfigError,
    VendorHTTPError,
    VendorMalformed,
    VendorTimeout,
    VendorUnavailable,
)

# (secret id, JSON field or None) -> secret value; lendguard.store.vendor_secrets provides it.
SecretLookup = Callable[[str, str | None], str]

_POOL: urllib3.PoolManager | None = None


def shared_pool() -> urllib3.PoolManager:
    """One connection pool per container: warm Lambdas reuse TLS connections to vendors."""
    global _POOL
    if _POOL is None:
        _POOL = urllib3.PoolManager(num_pools=16, maxsize=8, block=False)
    return _POOL


class HttpJsonProvider:
    """A vendor reached over HTTP(S) with a JSON answer."""

    def __init__(
        self, vendor: Vendor, secrets: SecretLookup | None = None, pool: urllib3.PoolManager | None = None
    ):
        if vendor.http is None:
            raise VendorConfigError(f"vendor {vendor.id}: adapter 'http' has no 'http' block")
        self.vendor = vendor
        self.config: HttpAdapter = vendor.http
        self._secrets = secrets
        self._pool = pool or shared_pool()
        self._model = RESPONSE_MODELS[vendor.service]

    def _headers(self) -> dict[str, str]:
        cfg = self.config
        headers = {"Accept": "application/json", "User-Agent": "lendguard", **cfg.headers}
        if cfg.secret_id:
            if self._secrets is None:
                raise VendorConfigError(
                    f"vendor {self.vendor.id}: no secret reader configured for http.secret_id"
                )
            try:
                secret = self._secrets(cfg.secret_id, cfg.secret_field)
            except Exception as exc:  # the message names the secret id, never its value
                raise VendorConfigError(f"vendor {self.vendor.id}: cannot read its secret: {exc}") from None
            headers[cfg.auth_header] = cfg.auth_prefix + secret
        return headers

    def build_request(self, subject: Subject, application: dict[str, Any]) -> dict[str, Any]:
        """The keyword arguments of the urllib3 request (tests check templates with it)."""
        cfg = self.config
        try:
            values = render(
                cfg.request_template, {"application": application, "subject": subject.model_dump()}
            )
        except TemplateError as exc:
            raise VendorConfigError(f"vendor {self.vendor.id}: http.request_template: {exc}") from None
        headers = self._headers()
        if cfg.method == "GET":
            fields = {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}
            return {"method": "GET", "url": cfg.url, "fields": fields, "headers": headers}
        headers["Content-Type"] = "application/json"
        body = json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode()
        return {"method": "POST", "url": cfg.url, "body": body, "headers": headers}

    def fetch(self, subject: Subject, application: dict[str, Any]) -> tuple[VendorResponse, bytes]:
        """Send one request; return the typed response and the raw body, or raise a VendorError."""
        request = self.build_request(subject, application)
        timeout_s = self.vendor.timeout_ms / 1000
        try:
            response = self._pool.request(
                **request,
                timeout=urllib3.Timeout(connect=timeout_s, read=timeout_s),
                retries=False,
                redirect=False,
                preload_content=False,
            )
        except urllib3.exceptions.NewConnectionError as exc:
            # Checked before TimeoutError: urllib3 makes NewConnectionError a ConnectTimeoutError.
            raise VendorUnavailable(f"cannot connect: {_short(exc)}") from None
        except urllib3.exceptions.TimeoutError as exc:
            raise VendorTimeout(f"{_short(exc)}") from None
        except urllib3.exceptions.HTTPError as exc:
            raise VendorUnavailable(f"{type(exc).__name__}: {_short(exc)}") from None
        try:
            limit = self.config.max_response_bytes
            try:
                raw = response.read(limit + 1)
            except urllib3.exceptions.TimeoutError as exc:
                raise VendorTimeout(f"reading the answer: {_short(exc)}") from None
            except urllib3.exceptions.HTTPError as exc:
                raise VendorUnavailable(f"reading the answer: {_short(exc)}") from None
            status = response.status
        finally:
            response.release_conn()
        if not 200 <= status < 300:
            raise VendorHTTPError(status, raw[:200].decode(errors="replace"))
        if len(raw) > limit:
            raise VendorMalformed(f"answer is over http.max_response_bytes ({limit})")
        return self.parse(raw), raw

    def parse(self, raw: bytes) -> VendorResponse:
        """Map a raw JSON answer onto the service's response model."""
        try:
            document = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise VendorMalformed(f"answer is not JSON: {exc}") from None
        mapped: dict[str, Any] = {}
        fields = self._model.model_fields
        for name, pointer in self.config.response_map.items():
            try:
                mapped[name] = resolve_pointer(document, pointer)
            except PointerNotFound as exc:
                if fields[name].is_required():
                    raise VendorMalformed(f"field {name}: {exc}") from None
        try:
            return self._model.model_validate(mapped)
        except ValidationError as exc:
            raise VendorMalformed(f"answer does not fit {self._model.__name__}: {_errors(exc)}") from None


def _short(exc: BaseException) -> str:
    return str(exc)[:300]


def _errors(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(answer)'}: {e['msg']}"
        for e in exc.errors(include_url=False)
    )
