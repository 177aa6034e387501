"""Errors that cross module boundaries, each carrying field-level details for 4xx answers."""

from __future__ import annotations

from pydantic import BaseModel, ValidationError


class FieldError(BaseModel):
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


class PolicyError(ValueError):
    """A policy document that cannot be loaded; the message names the rule or section."""


class NotFound(LookupError):
    """A case, list entry or artifact that does not exist."""


class Conflict(RuntimeError):
    """A request that contradicts the stored state (for example a second answer to a review)."""
