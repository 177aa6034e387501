"""The routes the console's policies page reads: ``GET /v1/policies/{id}/diff?from=&to=`` (the
semantic diff of two stored versions, the structure :func:`lendguard.policy.diff.diff_policies`
returns), ``GET /v1/policies`` (every stored policy) and ``GET /v1/me`` (the caller's roles)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from authn import call_json, resolve_as
from policy_docs import stricter as variant

from lendguard.offline.project import default_policy_path
from lendguard.policy.diff import diff_policies
from lendguard.policy.loader import load_policy_text

DEFAULT = default_policy_path()


def call(method: str, target: str, body: Any = None, actor: str = "alice") -> tuple[int, Any]:
    return call_json(method, target, body, actor)


@pytest.fixture(scope="module")
def pushed(runtime) -> tuple[str, str]:
    texts = (DEFAULT.read_text(), variant(2))
    for text in texts:
        status, body = call("POST", "/v1/policies", {"policy": text})
        assert status == 201, body
    return texts


def test_the_diff_of_two_stored_versions_is_the_semantic_diff(pushed) -> None:
    status, body = call("GET", "/v1/policies/default/diff?from=1&to=2")
    assert status == 200, body
    expected = diff_policies(load_policy_text(pushed[0], "a"), load_policy_text(pushed[1], "b"))
    assert body == json.loads(expected.model_dump_json())
    (change,) = body["changes"]
    assert change["kind"] == "changed" and change["path"].endswith(".params.min_income")
    assert change["new"] == change["old"] + 500


@pytest.mark.parametrize(
    ("query", "status", "fields"),
    [
        ("from=1", 400, ["to"]),
        ("from=x&to=0", 400, ["from", "to"]),
        ("from=1&to=99", 404, []),
    ],
)
def test_bad_versions_are_named(pushed, query: str, status: int, fields: list[str]) -> None:
    got, body = call("GET", f"/v1/policies/default/diff?{query}")
    assert got == status, body
    assert [d["field"] for d in body.get("details", [])] == fields


def test_me_names_the_caller_and_their_roles(runtime) -> None:
    status, body = call("GET", "/v1/me", actor="only-approver")
    assert status == 200 and body == {"sub": "only-approver", "name": "Only-Approver", "roles": ["approver"]}
    status, _, text = resolve_as("GET", "/v1/me", {}, None, "machine")
    assert status == 403, text


def test_the_policy_list_names_each_stored_policy(pushed) -> None:
    status, body = call("GET", "/v1/policies")
    assert status == 200, body
    assert [p["policy_id"] for p in body["policies"]] == ["default"]
