"""``/v1/policies``: the policy lifecycle over HTTP (bodies, review, routing, release bands).

- ``POST /v1/policies``: ``{policy: YAML text, tests?: YAML text, note?}`` → 201, a DRAFT
  version with its test results; 400 if the policy is invalid or a test case fails.
- ``GET /v1/policies``: every policy id with its routing in force.
- ``GET /v1/policies/{id}/versions``; ``GET /v1/policies/{id}/versions/{v}`` (record and body).
- ``POST /v1/policies/{id}/versions/{v}/submit`` ``{evidence: backtest report, note?}``;
  ``.../approve`` ``{note, override_reason?}``; ``.../reject`` ``{note}``.
- ``GET /v1/policies/{id}/diff?from=A&to=B``: the semantic diff of two stored versions
  (:func:`lendguard.policy.diff.diff_policies`, as JSON: ``old``, ``new``, ``changes``).
- ``GET /v1/policies/{id}/routing`` (in force and history); ``PUT`` the same with a routing
  (``champion``, ``experiment``, ``arms``, ``conditions``, ``shadows``, ``compliance_ack``,
  ``reason``); ``POST /v1/policies/{id}/routing/rollback`` ``{reason}``.
- ``GET /v1/policies/{id}/experiments?from=&to=&bad=``: traffic and outcomes per arm, and bad
  rates once loan events arrive (``bad``: a definition, default ``ever_dpd>=30 within 6``).
- ``GET``/``PUT /v1/release-config``: the approvers' release bands and approvers.

Who acts: :func:`actor`, the authenticated caller (the route table in
:mod:`lendguard.http.access` says which roles may call each route; author ≠ approver is a rule
of the domain, on these identities).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router

from lendguard.core.errors import FieldError, InvalidInput, json_object
from lendguard.core.lazy import lazy_module
from lendguard.http.guard import principal

# The lifecycle service (test suites, YAML, the expression compiler) is imported on a policy
# route's first request (or by the warm-up).
service = lazy_module("lendguard.lifecycle.service")
store = lazy_module("lendguard.store.policies")

router = Router()

POLICY_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")
VERSION = re.compile(r"^[1-9][0-9]{0,8}$")
MAX_TEXT = 256 * 1024


def actor() -> str:
    """The acting user: the authenticated caller (maker-checker compares identities)."""
    return principal(router).actor


def _json(status: int, body: str) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def _path(policy_id: str, version: str | None = None) -> tuple[str, int]:
    problems = []
    if not POLICY_ID.match(policy_id):
        problems.append(
            FieldError(field="policy_id", message="a letter then up to 63 letters, digits, '_' or '-'")
        )
    if version is not None and not VERSION.match(version):
        problems.append(FieldError(field="version", message="a positive integer"))
    if problems:
        raise InvalidInput("invalid path", problems)
    return policy_id, int(version or 0)


def _body() -> dict[str, Any]:
    return dict(json_object(router.current_event.decoded_body, "invalid request"))


def _text(body: dict[str, Any], field: str, required: bool = True) -> str | None:
    value = body.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise InvalidInput("invalid request", [FieldError(field=field, message=f"must be non-empty text of at most {MAX_TEXT} characters")])  # fmt: skip
    return value


def _note(body: dict[str, Any], field: str = "note") -> str:
    value = body.get(field, "")
    if not isinstance(value, str) or len(value) > 2000:
        raise InvalidInput("invalid request", [FieldError(field=field, message="must be text of at most 2000 characters")])  # fmt: skip
    return value


def _only(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidInput("invalid request", [FieldError(field=k, message="unknown field") for k in unknown])


@router.post("/v1/policies")
def push() -> Response:
    body = _body()
    _only(body, {"policy", "tests", "note"})
    result = service.push(
        _text(body, "policy") or "", _text(body, "tests", required=False), actor(), _note(body)
    )
    return _json(201, result.model_dump_json())


@router.get("/v1/policies")
def list_policies() -> Response:
    out = []
    for policy_id in store.list_policy_ids():
        routing = store.get_routing(policy_id)
        out.append({"policy_id": policy_id, "routing": routing.model_dump(mode="json") if routing else None})
    import json

    return _json(200, json.dumps({"policies": out}))


@router.get("/v1/policies/<policy_id>/versions")
def list_versions(policy_id: str) -> Response:
    import json

    pid, _ = _path(policy_id)
    versions = [v.model_dump(mode="json") for v in store.list_versions(pid)]
    return _json(200, json.dumps({"policy_id": pid, "versions": versions}))


@router.get("/v1/policies/<policy_id>/versions/<version>")
def show_version(policy_id: str, version: str) -> Response:
    import json

    record, text = service.get_version(*_path(policy_id, version))
    return _json(200, json.dumps({"version": record.model_dump(mode="json"), "body": text}))


@router.post("/v1/policies/<policy_id>/versions/<version>/submit")
def submit(policy_id: str, version: str) -> Response:
    body = _body()
    _only(body, {"evidence", "note"})
    record, report = service.submit(*_path(policy_id, version), actor(), body.get("evidence"), _note(body))
    return _json(200, service.PushResult(version=record, tests=report).model_dump_json())


@router.post("/v1/policies/<policy_id>/versions/<version>/approve")
def approve(policy_id: str, version: str) -> Response:
    body = _body()
    _only(body, {"note", "override_reason"})
    override = body.get("override_reason")
    if override is not None and (not isinstance(override, str) or not override.strip()):
        raise InvalidInput(
            "invalid request", [FieldError(field="override_reason", message="must be non-empty text")]
        )
    record = service.approve(*_path(policy_id, version), actor(), _note(body), override)
    return _json(200, record.model_dump_json())


@router.post("/v1/policies/<policy_id>/versions/<version>/reject")
def reject(policy_id: str, version: str) -> Response:
    body = _body()
    _only(body, {"note"})
    return _json(200, service.reject(*_path(policy_id, version), actor(), _note(body)).model_dump_json())


@router.get("/v1/policies/<policy_id>/diff")
def diff_versions(policy_id: str) -> Response:
    """What changed in meaning from version ``from`` to version ``to`` (both stored)."""
    pid, _ = _path(policy_id)
    versions: dict[str, int] = {}
    problems = []
    for name in ("from", "to"):
        raw = router.current_event.get_query_string_value(name) or ""
        if VERSION.match(raw):
            versions[name] = int(raw)
        else:
            problems.append(FieldError(field=name, message="a positive integer (a stored version)"))
    if problems:
        raise InvalidInput("invalid query", problems)
    old = service.policy_of(pid, versions["from"])
    new = service.policy_of(pid, versions["to"])
    return _json(200, service.diff(old, new).model_dump_json())


@router.get("/v1/policies/<policy_id>/routing")
def get_routing(policy_id: str) -> Response:
    import json

    pid, _ = _path(policy_id)
    current = store.get_routing(pid)
    history = [r.model_dump(mode="json") for r in store.routing_history(pid)]
    return _json(200, json.dumps({"policy_id": pid, "routing": current.model_dump(mode="json") if current else None,
                                  "history": history}))  # fmt: skip


@router.put("/v1/policies/<policy_id>/routing")
def put_routing(policy_id: str) -> Response:
    from lendguard.policy.routing import parse_spec

    pid, _ = _path(policy_id)
    body = _body()
    reason = _note(body, "reason")
    spec = parse_spec({k: v for k, v in body.items() if k != "reason"})
    return _json(200, service.activate(pid, spec, actor(), reason).model_dump_json())


@router.post("/v1/policies/<policy_id>/routing/rollback")
def rollback(policy_id: str) -> Response:
    pid, _ = _path(policy_id)
    body = _body()
    _only(body, {"reason"})
    return _json(200, service.rollback(pid, actor(), _note(body, "reason")).model_dump_json())


@router.get("/v1/policies/<policy_id>/experiments")
def experiments(policy_id: str) -> Response:
    from lendguard.cases.record import CASE_STATUSES
    from lendguard.lifecycle import experiments
    from lendguard.lifecycle.experiment_outcomes import approved_ids, bad_labels
    from lendguard.outcomes.bad import BadDefinition, parse_bad
    from lendguard.store import cases, outcomes

    pid, _ = _path(policy_id)
    bounds = {}
    for name in ("from", "to"):
        raw = router.current_event.get_query_string_value(name)
        if raw:
            try:
                bounds[name] = datetime.fromisoformat(raw)
            except ValueError:
                raise InvalidInput("invalid query", [FieldError(field=name, message="an ISO 8601 date or time")]) from None  # fmt: skip
    query = cases.CaseQuery(
        statuses=CASE_STATUSES, created_from=bounds.get("from"), created_to=bounds.get("to")
    )
    raw_bad = router.current_event.get_query_string_value("bad")
    definition = parse_bad(raw_bad, "bad") if raw_bad else BadDefinition()
    found, token = [], None
    while True:
        page, token = cases.query_cases(query, 500, token)
        found.extend(page)
        if token is None:
            break
    events = outcomes.events_of_cases(approved_ids(found, pid))
    labels = bad_labels(events, definition, datetime.now(UTC).date()) if any(events.values()) else None
    return _json(200, experiments.report(pid, found, labels, str(definition)).model_dump_json())


@router.get("/v1/release-config")
def get_release_config() -> Response:
    return _json(200, store.get_release_config().model_dump_json())


@router.put("/v1/release-config")
def put_release_config() -> Response:
    return _json(200, service.set_release_config(_body(), actor()).model_dump_json())
