"""Callers for HTTP tests: a users registry with a person per actor name the tests use.

Importable from any test (``tests/`` is on ``sys.path`` through the root conftest). Every test
person holds every role unless a test asks for fewer, so route tests that are not about roles
read as before; ``tests/e2e/test_access.py`` checks each route with each single role.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lendguard.http.access import Role
from lendguard.offline.local.users import LocalUser, Users

ACTORS = ("ops", "alice", "bob", "carol", "dave", "erin", "frank", "rev1", "dpo", "e2e", "hr", "a")
MACHINE = "arn:aws:iam::000000000000:role/loan-app-backend"
_EXPIRES = datetime.now(UTC) + timedelta(days=1)


def token_of(sub: str) -> str:
    return f"test-token-{sub.replace(':', '-').replace('/', '-')}-0123456789"


def _person(sub: str, roles: list[Role] | None = None) -> LocalUser:
    return LocalUser(token=token_of(sub), kind="person", sub=sub, name=sub.title(),
                     roles=roles or list(Role), expires_at=_EXPIRES)  # fmt: skip


USERS = Users(
    [_person(sub) for sub in ACTORS]
    + [_person(f"only-{role.value}", [role]) for role in Role]
    + [
        LocalUser(
            token=token_of("machine"), kind="machine", sub=MACHINE, name="loan-app", expires_at=_EXPIRES
        )
    ]
)


def auth(sub: str = "ops") -> dict[str, str]:
    """Headers of a request by ``sub`` (``machine`` for the loan-app backend)."""
    return {"Authorization": f"Bearer {token_of(sub)}"}


def write_users_file(path: Path) -> Path:
    """The same users as a users file (for a served API)."""
    users = [
        {"token": token_of(sub), "kind": "person", "sub": sub, "name": sub.title(),
         "roles": [r.value for r in Role], "expires_at": _EXPIRES.isoformat()}
        for sub in ACTORS
    ]  # fmt: skip
    users.append({"token": token_of("machine"), "kind": "machine", "sub": MACHINE, "name": "loan-app",
                  "roles": [], "expires_at": _EXPIRES.isoformat()})  # fmt: skip
    path.write_text(json.dumps({"users": users}))
    return path


def caller_for(method: str, target: str, body: bytes | None) -> str:
    """Who a test request is from: the loan-app backend for decisions, else the actor the body
    or query names (when it is a test user), else ``ops``."""
    from urllib.parse import parse_qsl, urlsplit

    parts = urlsplit(target)
    if method == "POST" and parts.path == "/v1/decisions":
        return "machine"
    named: list[str] = [v for k, v in parse_qsl(parts.query) if k in ("added_by", "removed_by")]
    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = None
    if isinstance(data, dict):
        named += [str(data[k]) for k in ("reviewer", "added_by", "requested_by") if k in data]
    return next((n for n in named if n in ACTORS), "ops")


def resolve_as(
    method: str, target: str, headers: dict[str, str], body: bytes | None, sub: str | None = None
) -> tuple[int, dict[str, str], str]:
    """``lendguard.offline.local.server.resolve`` with the test users, as ``sub`` (default:
    :func:`caller_for`)."""
    from lendguard.offline.local.server import resolve

    who = sub or caller_for(method, target, body)
    return resolve(method, target, {**headers, **auth(who)}, body, USERS)


def cli_token_env(args: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``LENDGUARD_TOKEN`` for a CLI call: the user ``--by`` / ``--reviewer`` names, else ops;
    ``decide`` runs as the loan-app backend."""
    args = list(args)
    who = "machine" if args[:1] == ["decide"] else "ops"
    for flag in ("--by", "--reviewer"):
        if flag in args and args.index(flag) + 1 < len(args) and args[args.index(flag) + 1] in ACTORS:
            who = args[args.index(flag) + 1]
    return {"LENDGUARD_TOKEN": token_of(who)}


def call_json(method: str, target: str, body: Any = None, actor: str | None = None) -> tuple[int, Any]:
    """A JSON request through the local resolver by ``actor`` (see :func:`resolve_as`); (status, body)."""
    data = json.dumps(body).encode() if body is not None else None
    status, _, text = resolve_as(method, target, {"Content-Type": "application/json"}, data, actor)
    return status, json.loads(text)
