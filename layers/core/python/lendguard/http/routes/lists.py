"""``/v1/lists``: black / grey / white list management over HTTP.

- ``PUT /v1/lists/{kind}/{key_type}/{value}``: add, or extend / update the live entry. Body:
  ``reason_code``, ``reason``, ``ttl_days`` or ``expires_at``, ``source``; ``added_by`` is the
  authenticated caller (a body value must equal it).
  201 when added, 200 when an existing entry changed.
- ``GET`` the same path: 200 with ``listed`` (true / false), the entry and its history.
- ``DELETE`` the same path, query ``reason`` (``removed_by`` is the caller): 200, or 404 if not listed.
- ``POST /v1/lists/import?source=``: CSV body of at most 5,000 rows; 200 with the
  per-row error report (good rows are written, bad rows are listed).
- ``GET /v1/lists/export?kind=&limit=&cursor=``: live entries (hashes only), a page at a time.

The clear value travels only in the URL and is never stored or logged: log lines carry the
kind, key type and a prefix of the keyed hash.
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router

from lendguard.core.errors import FieldError, InvalidInput, json_object
from lendguard.core.lazy import lazy_module
from lendguard.http.guard import actor_field, body_bytes, principal

if TYPE_CHECKING:
    from lendguard.lists.entries import Clock
    from lendguard.lists.service import ListService

# Imported on the first list request (or by the warm-up): not every API container serves lists.
_entries = lazy_module("lendguard.lists.entries")
_lists_service = lazy_module("lendguard.lists.service")
_lists_store = lazy_module("lendguard.store.lists")
_secrets = lazy_module("lendguard.store.secrets")

router = Router()
logger = Logger(child=True)


# Tests replace this to cross expiry boundaries exactly.
def _utc_now() -> datetime:
    return _entries.utc_now()


clock: Clock = _utc_now
MAX_EXPORT_PAGE = 5000


def service() -> ListService:
    """A service over the deployment's table and secret (cheap: clients and secret are cached)."""
    return _lists_service.ListService(_lists_store.DynamoListStore(), _secrets.hash_secret(), lambda: clock())


def _json(status: int, body: Any) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def _query(name: str) -> str | None:
    return router.current_event.get_query_string_value(name)


@router.put("/v1/lists/<kind>/<key_type>/<value>")
def put_entry(kind: str, key_type: str, value: str) -> Response:
    """Add or change an entry; one 400 names every bad part of the path and the body."""
    raw = body_bytes(router)
    body: Any = raw
    # Not JSON: the service names the body's problem together with the path's.
    with contextlib.suppress(InvalidInput):
        body = dict(json_object(raw, "invalid list request"))
    if isinstance(body, dict):
        body["added_by"] = actor_field(body.get("added_by"), principal(router), "added_by")
    result = service().put(kind, key_type, unquote(value), body)
    entry = result.entry
    logger.info(
        "list entry changed",
        extra={"action": result.action, "kind": entry.kind, "key_type": entry.key_type,
               "hash_prefix": entry.value_hash[:12], "by": entry.updated_by or entry.added_by},
    )  # fmt: skip
    return _json(201 if result.action == "add" else 200, result.model_dump_json())


@router.get("/v1/lists/<kind>/<key_type>/<value>")
def get_entry(kind: str, key_type: str, value: str) -> Response:
    """Is it listed, since when, until when, why, and what changed."""
    return _json(200, service().get(kind, key_type, unquote(value)).model_dump_json())


@router.delete("/v1/lists/<kind>/<key_type>/<value>")
def delete_entry(kind: str, key_type: str, value: str) -> Response:
    """Remove a live entry; who and why come in the query string."""
    removed_by = actor_field(_query("removed_by"), principal(router), "removed_by")
    body = {"removed_by": removed_by, "reason": _query("reason") or ""}
    result = service().remove(kind, key_type, unquote(value), body)
    entry = result.entry
    logger.info(
        "list entry removed",
        extra={"kind": entry.kind, "key_type": entry.key_type, "hash_prefix": entry.value_hash[:12],
               "by": body["removed_by"]},
    )  # fmt: skip
    return _json(200, result.model_dump_json())


@router.post("/v1/lists/import")
def import_entries() -> Response:
    """Bulk upsert from CSV; the answer lists every rejected row with the field and the problem."""
    raw = body_bytes(router) or b""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            "invalid import", [FieldError(field="(body)", message=f"not valid UTF-8 (byte {exc.start})")]
        ) from None
    added_by = actor_field(_query("added_by"), principal(router), "added_by")
    report = service().import_csv(text, added_by=added_by, source=_query("source") or "import")
    logger.info(
        "list import",
        extra={"import_id": report.import_id, "rows": report.rows, "written": report.written,
               "failed": report.failed, "by": added_by},
    )  # fmt: skip
    return _json(200, report.model_dump_json())


@router.get("/v1/lists/export")
def export_entries() -> Response:
    """Live entries as JSON pages (``next`` is the cursor of the following page, or null)."""
    raw_limit = _query("limit") or "1000"
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_EXPORT_PAGE:
        raise InvalidInput(
            "invalid export",
            [FieldError(field="limit", message=f"must be an integer from 1 to {MAX_EXPORT_PAGE}")],
        )
    entries, cursor = service().export(_query("kind"), int(raw_limit), _query("cursor"))
    body = {"entries": [e.model_dump(mode="json") for e in entries], "next": cursor}
    return _json(200, json.dumps(body))
