"""The users file of ``lendguard serve``: bearer tokens standing in for the JWT authorizer and
for SigV4, so the local API sees the same request context API Gateway sends.

A users file is JSON ``{"users": [{token, kind, sub, name, roles, expires_at}, ...]}``;
``kind`` is ``person`` (roles from :class:`lendguard.http.access.Role`) or ``machine`` (a
loan-app backend: ``sub`` is the IAM principal's ARN). ``examples/users.json`` is the
documented default, one person per role; ``lendguard serve --users FILE`` replaces it.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, ConfigDict, Field, ValidationError, model_validator

from lendguard.core import strict_json
from lendguard.core.base_model import Model
from lendguard.http.access import Role

DEFAULT_USERS_FILE = "users.json"  # in examples/


class UsersFileError(ValueError):
    """A users file that cannot be used; the message names the file and the entry."""


class LocalUser(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    token: Annotated[str, Field(min_length=16, max_length=256, pattern=r"^[A-Za-z0-9._~+/=\-]+$")]
    kind: Literal["person", "machine"] = "person"
    sub: Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9][A-Za-z0-9@._:/+\-]*$")]
    name: Annotated[str, Field(min_length=1, max_length=128)]
    roles: list[Role] = Field(default_factory=list)
    expires_at: AwareDatetime

    @model_validator(mode="after")
    def _roles_fit_kind(self) -> LocalUser:
        if self.kind == "machine" and self.roles:
            raise ValueError("a machine has no roles (IAM decides what it may call)")
        if self.kind == "person" and not self.roles:
            raise ValueError("a person needs at least one role")
        return self


class UsersFile(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    comment: str | None = Field(default=None, alias="_comment")
    users: list[LocalUser] = Field(min_length=1)


class TokenProblem(Exception):
    """A bearer token that names nobody, or no longer: the local stand-in for the authorizer's 401."""


class Users:
    """Tokens to request contexts."""

    def __init__(self, users: list[LocalUser]):
        self._users = users

    @classmethod
    def load(cls, path: Path) -> Users:
        try:
            data = strict_json.loads(path.read_bytes())
            parsed = UsersFile.model_validate(data)
        except OSError as exc:
            raise UsersFileError(f"{path}: cannot read: {exc.strerror}") from None
        except strict_json.JsonProblem as exc:
            raise UsersFileError(f"{path}: {exc}") from None
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)
            )
            raise UsersFileError(f"{path}: {problems}") from None
        tokens = [u.token for u in parsed.users]
        if len(set(tokens)) != len(tokens):
            raise UsersFileError(f"{path}: two users share a token")
        return cls(parsed.users)

    def find(self, token: str, now: datetime | None = None) -> LocalUser:
        """The user of ``token``; :class:`TokenProblem` when unknown or expired."""
        found = None
        for user in self._users:  # compare every token in constant time
            if hmac.compare_digest(user.token.encode(), token.encode()):
                found = user
        if found is None:
            raise TokenProblem("unknown token")
        if found.expires_at <= (now or datetime.now(UTC)):
            raise TokenProblem("token expired")
        return found

    def token_of(self, sub: str) -> str:
        """The token of a user (for tests and the demo)."""
        for user in self._users:
            if user.sub == sub:
                return user.token
        raise KeyError(sub)


def request_context_of(user: LocalUser) -> dict[str, Any]:
    """What API Gateway puts in ``requestContext`` for this caller (IAM, or the JWT authorizer)."""
    if user.kind == "machine":
        return {"identity": {"userArn": user.sub, "user": user.name, "sourceIp": "127.0.0.1"}}
    claims = {"sub": user.sub, "name": user.name, "cognito:groups": ",".join(r.value for r in user.roles)}
    return {"authorizer": {"claims": claims}, "identity": {"sourceIp": "127.0.0.1"}}
