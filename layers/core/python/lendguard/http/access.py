"""Who may call what: the one route table, and the caller an API Gateway request context names.

:data:`ROUTES` declares every route of the HTTP API: its method and path (API Gateway's form,
``/v1/cases/{case_id}``), the roles of the people who may call it, whether loan-app backends
(IAM, SigV4) may, and what body it takes. The resolver enforces it on every request
(:mod:`lendguard.http.guard`): API Gateway may expose a proxy resource, so the check cannot
live only there. The CDK stack reads the same table to create the resources, methods and
authorizers (``infra/constructs/api.py``).

Two kinds of caller, as API Gateway presents them to the function:

- a *machine* (a loan-app backend) signs with SigV4; IAM authorizes it and the request context
  carries ``identity.userArn``;
- a *person* signs in through the JWT authorizer (a Cognito user pool, or the lender's OIDC
  provider); the request context carries the token's claims under ``authorizer.claims``
  (Cognito), or the OIDC Lambda authorizer's context flat under ``authorizer``:
  ``sub`` (the identity), ``name`` / ``cognito:username`` (shown) and the groups, which are the
  roles.

``lendguard serve`` builds the same request context from bearer tokens in a users file
(:mod:`lendguard.offline.local.users`), so this module cannot tell the two apart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from lendguard.core.base_model import Model


class Role(StrEnum):
    """What a person may do (DESIGN.md, "Who uses it and how")."""

    OPERATOR = "operator"  # lists, case look-up, re-decisions
    REVIEWER = "reviewer"  # answers REVIEW cases
    ANALYST = "analyst"  # reads cases and executions, exports lists; writes policies
    APPROVER = "approver"  # approves policy versions (maker-checker)
    PRIVACY = "privacy"  # reads cases to answer data-subject requests; erasure


_OP, _REV, _AN, _APP, _PRIV = Role.OPERATOR, Role.REVIEWER, Role.ANALYST, Role.APPROVER, Role.PRIVACY
BodyKind = Literal["json", "csv"]
# The content types a body of each kind may be sent as (parameters such as charset aside).
CONTENT_TYPES: dict[str, tuple[str, ...]] = {
    "json": ("application/json",),
    "csv": ("text/csv", "text/plain"),
}


@dataclass(frozen=True)
class RouteSpec:
    """One route: who may call it and what it takes."""

    method: str
    path: str  # API Gateway's resource path: /v1/cases/{case_id}
    roles: frozenset[Role] = frozenset()  # people, by role
    machine: bool = False  # loan-app backends (IAM)
    body: BodyKind | None = None
    bulk: bool = False  # large bodies by design (CSV imports): the WAF body-size rule skips it

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\\\{[^/]+\\\}", "[^/]+", re.escape(self.path)) + "$")

    @property
    def path_parameters(self) -> list[str]:
        return re.findall(r"\{([^/}]+)\}", self.path)


ROUTES: tuple[RouteSpec, ...] = (
    RouteSpec("POST", "/v1/decisions", machine=True, body="json"),
    # Every person may ask who they are (the console hides actions their roles do not allow).
    RouteSpec("GET", "/v1/me", roles=frozenset(Role)),
    RouteSpec("GET", "/v1/cases", roles=frozenset({_OP, _REV, _AN, _PRIV})),
    RouteSpec("GET", "/v1/cases/{case_id}", roles=frozenset({_OP, _REV, _AN, _PRIV})),
    RouteSpec("GET", "/v1/cases/{case_id}/history", roles=frozenset({_OP, _REV, _AN})),
    RouteSpec("POST", "/v1/cases/{case_id}/review", roles=frozenset({_REV}), body="json"),
    RouteSpec("POST", "/v1/cases/{case_id}/redecide", roles=frozenset({_OP}), body="json"),
    # A replay decrypts the case's archive: analysts only.
    RouteSpec("POST", "/v1/cases/{case_id}/replay", roles=frozenset({_AN}), body="json"),
    RouteSpec("POST", "/v1/lists/import", roles=frozenset({_OP}), body="csv", bulk=True),
    RouteSpec("GET", "/v1/lists/export", roles=frozenset({_OP, _AN})),
    RouteSpec("GET", "/v1/lists/{kind}/{key_type}/{value}", roles=frozenset({_OP, _REV})),
    RouteSpec("PUT", "/v1/lists/{kind}/{key_type}/{value}", roles=frozenset({_OP}), body="json"),
    RouteSpec("DELETE", "/v1/lists/{kind}/{key_type}/{value}", roles=frozenset({_OP})),
    RouteSpec("GET", "/v1/executions", roles=frozenset({_OP, _AN})),
    # Loan events come from the lender's servicing system (IAM) or an operator's CSV import.
    RouteSpec("POST", "/v1/loans/events", roles=frozenset({_OP}), machine=True, body="json", bulk=True),
    RouteSpec("GET", "/v1/loans/events", roles=frozenset({_OP, _AN})),
    RouteSpec("GET", "/v1/loans/outcomes", roles=frozenset({_AN})),
    RouteSpec("GET", "/v1/rules/stats", roles=frozenset({_OP, _AN})),
    # The daily monitor's report (reads archived facts, never a person's application).
    RouteSpec("GET", "/v1/monitor", roles=frozenset({_OP, _AN})),
    # Personal data: erasure by the privacy officer; an audited reveal of one clear field by the
    # people who must contact the applicant; an appeal relayed by the loan app for its borrower.
    RouteSpec("POST", "/v1/privacy/erasures", roles=frozenset({_PRIV}), body="json"),
    RouteSpec("POST", "/v1/cases/{case_id}/reveal", roles=frozenset({_REV, _OP}), body="json"),
    RouteSpec("POST", "/v1/cases/{case_id}/appeal", roles=frozenset({_OP}), machine=True, body="json"),
    # Policy lifecycle: analysts author and submit, approvers approve, activate and roll back.
    RouteSpec("POST", "/v1/policies", roles=frozenset({_AN}), body="json", bulk=True),
    RouteSpec("GET", "/v1/policies", roles=frozenset({_OP, _AN, _APP})),
    RouteSpec("GET", "/v1/policies/{policy_id}/versions", roles=frozenset({_OP, _AN, _APP})),
    RouteSpec("GET", "/v1/policies/{policy_id}/versions/{version}", roles=frozenset({_OP, _AN, _APP})),
    RouteSpec(
        "POST",
        "/v1/policies/{policy_id}/versions/{version}/submit",
        roles=frozenset({_AN}),
        body="json",
        bulk=True,
    ),
    RouteSpec(
        "POST", "/v1/policies/{policy_id}/versions/{version}/approve", roles=frozenset({_APP}), body="json"
    ),
    RouteSpec(
        "POST", "/v1/policies/{policy_id}/versions/{version}/reject", roles=frozenset({_APP}), body="json"
    ),
    RouteSpec("GET", "/v1/policies/{policy_id}/diff", roles=frozenset({_OP, _AN, _APP})),
    RouteSpec("GET", "/v1/policies/{policy_id}/routing", roles=frozenset({_OP, _AN, _APP})),
    RouteSpec("PUT", "/v1/policies/{policy_id}/routing", roles=frozenset({_APP}), body="json"),
    RouteSpec("POST", "/v1/policies/{policy_id}/routing/rollback", roles=frozenset({_APP}), body="json"),
    RouteSpec("GET", "/v1/policies/{policy_id}/experiments", roles=frozenset({_AN, _APP})),
    RouteSpec("GET", "/v1/release-config", roles=frozenset({_AN, _APP})),
    RouteSpec("PUT", "/v1/release-config", roles=frozenset({_APP}), body="json"),
)


def match(method: str, path: str) -> RouteSpec | None:
    """The route a request is for; static segments win over path parameters
    (``/v1/lists/export`` is not a list entry), as in API Gateway."""
    candidates = [r for r in ROUTES if r.method == method.upper() and r.pattern.match(path)]
    candidates.sort(key=lambda r: len(r.path_parameters))
    return candidates[0] if candidates else None


def routes_for_path(path: str) -> list[RouteSpec]:
    """Every route of a resource path (to tell 405 from 404)."""
    return [r for r in ROUTES if r.pattern.match(path)]


class Principal(Model):
    """The authenticated caller: who did what is always this, never a body field."""

    kind: Literal["person", "machine"]
    sub: str  # the token's subject, or the IAM principal's ARN
    name: str  # shown in the console and the audit trail
    roles: frozenset[Role] = frozenset()

    @property
    def actor(self) -> str:
        """The identity written into audit fields (``reviewer``, ``added_by`` ...)."""
        return self.sub


def _groups(raw: Any) -> list[str]:
    # API Gateway REST presents a list claim as a string ("a,b" or "[a b]"); tests send lists.
    if isinstance(raw, list | tuple):
        return [str(g) for g in raw]
    if isinstance(raw, str):
        return [g for g in re.split(r"[\s,]+", raw.strip("[]")) if g]
    return []


def principal_from_context(request_context: Mapping[str, Any] | None) -> Principal | None:
    """The caller API Gateway authenticated, or None when the request carries nobody."""
    context = request_context or {}
    authorizer = context.get("authorizer") or {}
    claims = authorizer.get("claims")
    if claims is None and authorizer.get("sub"):
        # The OIDC Lambda authorizer (lendguard.http.authorizer) puts sub, name and groups in
        # its context, which API Gateway passes flat under ``authorizer``.
        claims = authorizer
    if isinstance(claims, Mapping) and claims.get("sub"):
        sub = str(claims["sub"])
        roles = frozenset(Role(g) for g in _groups(claims.get("cognito:groups", claims.get("groups")))
                          if g in Role._value2member_map_)  # fmt: skip
        name = str(claims.get("name") or claims.get("cognito:username") or claims.get("username") or sub)
        return Principal(kind="person", sub=sub, name=name, roles=roles)
    identity = context.get("identity") or {}
    arn = identity.get("userArn")
    if isinstance(arn, str) and arn:
        return Principal(kind="machine", sub=arn, name=str(identity.get("user") or arn))
    return None


def allowed(route: RouteSpec, principal: Principal) -> bool:
    """Whether ``principal`` may call ``route``."""
    if principal.kind == "machine":
        return route.machine
    return bool(route.roles & principal.roles)
