"""Errors that cross module boundaries, each carrying field-level details for 4xx answers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from lendguard.core import strict_json
from lendguard.core.base_model import Model


class FieldError(Model):
    """One problem with one input field: the dotted path of the field and what is wrong."""

    field: str
    message: str


class InvalidInput(ValueError):
    """Input a user sent that cannot be accepted; ``details`` names each bad field."""

    def __init__(self, message: str, details: list[FieldError]):
        super().__init__(message + ": " + "; ".join(f"{d.field}: {d.message}" for d in details))
        self.message = message
        self.details = details

    @classmethod
    def from_validation_error(cls, message: str, exc: ValidationError, prefix: str = "") -> InvalidInput:
        """Turn pydantic's errors into field errors with dotted paths (``applicant.phone``)."""
        details = []
        for err in exc.errors(include_url=False):
            path = ".".join(str(p) for p in err["loc"]) or "(body)"
            text = err["msg"]
            if err["type"] == "extra_forbidden":
                text = "unknown field"
            elif text.startswith("Value error, "):
                text = text[len("Value error, ") :]
            details.append(FieldError(field=f"{prefix}{path}", message=text))
        return cls(message, details)


def json_object(body: Any, message: str) -> Mapping[str, Any]:
    """A request body (JSON text, or already parsed) as a JSON object, or :class:`InvalidInput`
    on field ``(body)`` saying why not.

    Text is parsed by :func:`lendguard.core.strict_json.loads` (duplicate keys, a BOM, invalid
    UTF-8, deep nesting and oversized numbers are refused), the same over HTTP and in the CLI.
    """

    def bad(problem: str) -> InvalidInput:
        return InvalidInput(message, [FieldError(field="(body)", message=problem)])

    data: Any = body
    if isinstance(body, str | bytes | None):
        if not body:
            raise bad("request body is empty")
        try:
            data = strict_json.loads(body)
        except strict_json.JsonProblem as exc:
            raise bad(str(exc)) from None
    if not isinstance(data, Mapping):
        raise bad("must be a JSON object")
    return data


class PolicyError(ValueError):
    """A policy document that cannot be loaded; the message names the rule or section."""


class NotFound(LookupError):
    """A case, list entry or artifact that does not exist."""


class Conflict(RuntimeError):
    """A request that contradicts the stored state (for example a second answer to a review)."""


class Forbidden(Conflict):
    """The actor may not do this (their own change, not an approver); answered 403.

    Raised by the policy lifecycle's rules; it lives here so the API function maps it to 403
    without importing the lifecycle's models at its start.
    """

    def __init__(self, message: str, details: list[FieldError]):
        super().__init__(message)
        self.details = details
