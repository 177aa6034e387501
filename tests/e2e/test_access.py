"""Issue 11, identity and roles: every route × every role, over the resolver `lendguard serve`
and the deployed function share. Missing, unknown or expired token → 401; a role the route
does not accept → 403; both JSON. Who did what is the authenticated caller."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from authn import MACHINE, USERS, resolve_as, token_of

from lendguard.http.access import ROUTES, Role, RouteSpec
from lendguard.offline.local.server import resolve
from lendguard.offline.local.users import LocalUser, Users

CASE = "C20990101000000-000000000000"
CALLERS = [f"only-{r.value}" for r in Role] + ["machine"]


def concrete(route: RouteSpec) -> str:
    return (route.path.replace("{case_id}", CASE).replace("{kind}", "black").replace("{key_type}", "phone")
            .replace("{value}", "13800138000"))  # fmt: skip


def body_of(route: RouteSpec) -> tuple[dict[str, str], bytes | None]:
    if route.body == "csv":
        return {"Content-Type": "text/csv"}, b"kind,key_type,value\n"
    if route.body == "json":
        return {"Content-Type": "application/json"}, b"{}"
    return {}, None


def allowed(route: RouteSpec, caller: str) -> bool:
    if caller == "machine":
        return route.machine
    return Role(caller.removeprefix("only-")) in route.roles


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_every_route_with_every_role(runtime, route):
    headers, body = body_of(route)
    for caller in CALLERS:
        status, _, text = resolve_as(route.method, concrete(route), headers, body, sub=caller)
        answer = json.loads(text)
        if allowed(route, caller):
            assert status not in (401, 403), (caller, answer)
        else:
            assert status == 403 and "needs one of" in answer["error"], (caller, status, answer)
    status, _, text = resolve(route.method, concrete(route), headers, body, USERS)  # no token
    assert status == 401 and json.loads(text)["error"].startswith("authentication required")


def test_every_role_can_do_something_and_only_machines_decide():
    for role in Role:
        assert any(role in r.roles for r in ROUTES), role
    # Loan-app backends decide, report loan events and relay a borrower's appeal; nothing else.
    machine = {(r.method, r.path) for r in ROUTES if r.machine}
    assert machine == {
        ("POST", "/v1/decisions"),
        ("POST", "/v1/loans/events"),
        ("POST", "/v1/cases/{case_id}/appeal"),
    }
    decisions = next(r for r in ROUTES if r.path == "/v1/decisions")
    assert decisions.roles == frozenset()  # no person decides


def test_unknown_malformed_and_expired_tokens_are_401(runtime):
    past = datetime.now(UTC) - timedelta(seconds=1)
    expired = Users([LocalUser(token="expired-token-0123456789", sub="olga", name="Olga", roles=[Role.OPERATOR],
                               expires_at=past)])  # fmt: skip
    for users, header in [
        (USERS, "Bearer nobody-has-this-token-123"),
        (USERS, "Basic b3BzOm9wcw=="),
        (USERS, "Bearer"),
        (expired, "Bearer expired-token-0123456789"),
    ]:
        status, _, text = resolve("GET", "/v1/cases", {"Authorization": header}, None, users)
        body = json.loads(text)
        assert (
            status == 401
            and body["error"] == "unauthorized"
            and body["details"][0]["field"] == "Authorization"
        )


def test_the_actor_is_the_caller_and_a_body_naming_someone_else_is_403(runtime):
    path = "/v1/lists/grey/device_id/dev-access-1"
    status, _, text = resolve_as("PUT", path, {"Content-Type": "application/json"},
                                 json.dumps({"reason_code": "DISPUTE", "added_by": "mallory"}).encode(), sub="ops")  # fmt: skip
    assert status == 403 and json.loads(text)["details"][0]["field"] == "added_by"
    status, _, text = resolve_as("PUT", path, {"Content-Type": "application/json"},
                                 json.dumps({"reason_code": "DISPUTE"}).encode(), sub="alice")  # fmt: skip
    assert status == 201 and json.loads(text)["entry"]["added_by"] == "alice"
    status, _, text = resolve_as("DELETE", f"{path}?removed_by=bob", {}, None, sub="alice")
    assert status == 403 and json.loads(text)["details"][0]["field"] == "removed_by"
    # The two-reviewer bypass of the issue: one person answering as "alice" then "alice.2".
    status, _, text = resolve_as("POST", f"/v1/cases/{CASE}/review", {"Content-Type": "application/json"},
                                 json.dumps({"reviewer": "alice.2", "decision": "APPROVE"}).encode(), sub="alice")  # fmt: skip
    assert status == 403 and json.loads(text)["details"][0]["field"] == "reviewer"


def test_the_request_context_is_the_one_api_gateway_sends():
    from lendguard.http.access import principal_from_context
    from lendguard.offline.local.users import request_context_of

    person = principal_from_context(request_context_of(USERS.find(token_of("only-reviewer"))))
    assert person is not None and (person.kind, person.sub, person.roles) == (
        "person",
        "only-reviewer",
        {Role.REVIEWER},
    )
    machine = principal_from_context(request_context_of(USERS.find(token_of("machine"))))
    assert machine is not None and (machine.kind, machine.sub, machine.roles) == (
        "machine",
        MACHINE,
        frozenset(),
    )
    # What API Gateway's Cognito authorizer presents: groups as one string.
    cognito = principal_from_context(
        {"authorizer": {"claims": {"sub": "u-1", "cognito:groups": "operator,analyst"}}}
    )
    assert cognito is not None and cognito.roles == {Role.OPERATOR, Role.ANALYST}


def test_the_default_users_file_has_one_person_per_role_and_a_loan_app():
    from lendguard.offline.local.server import default_users

    users = default_users()._users
    assert {r for u in users for r in u.roles} == set(Role)
    assert [u.kind for u in users].count("machine") == 1
    assert all(u.expires_at > datetime.now(UTC) for u in users)
