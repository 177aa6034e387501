"""Vendor faults, classified so the caller knows whether a retry can help.

Every adapter raises one of these; the caller retries the retryable ones with backoff, feeds
every failure to the vendor's circuit breaker and records ``kind`` in the trace.
"""

from __future__ import annotations


class VendorError(RuntimeError):
    """A vendor call that failed (timeout, 5xx, malformed payload, unreachable, misconfigured)."""

    kind = "error"
    retryable = True

    def __init__(self, message: str, *, retryable: bool | None = None):
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable


class VendorTimeout(VendorError):
    """No complete answer within the vendor's ``timeout_ms``."""

    kind = "timeout"


class VendorUnavailable(VendorError):
    """The vendor could not be reached: connection refused or reset, DNS, TLS."""

    kind = "unavailable"


class VendorHTTPError(VendorError):
    """A non-2xx answer. 5xx and 429 are worth retrying; other statuses mean our request is wrong."""

    def __init__(self, status: int, message: str = ""):
        retryable = status >= 500 or status == 429
        super().__init__(f"HTTP {status}" + (f": {message}" if message else ""), retryable=retryable)
        self.status = status
        # http_5xx, http_429, http_4xx, or http_3xx (redirects are never followed: our URL is wrong).
        self.kind = "http_429" if status == 429 else f"http_{status // 100}xx"


class VendorMalformed(VendorError):
    """An answer that is not JSON, or lacks or mistypes a field the response model needs."""

    kind = "malformed"


class VendorConfigError(VendorError):
    """Our side is wrong (no secret, unknown adapter, template path absent): retrying cannot help."""

    kind = "config"
    retryable = False
