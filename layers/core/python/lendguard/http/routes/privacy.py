"""Personal-data routes: erasure (role: privacy), audited reveal (role: reviewer), appeal (loan app).

- ``POST /v1/privacy/erasures`` ``{id_number, requested_by, reason}``: erase a person's personal
  data across the archive, cases, caches and vendor payloads; 200 with the report (``found``
  false, nothing erased, for a person with no data).
- ``POST /v1/cases/{case_id}/appeal`` ``{reason, channel}``: a borrower refused by automated
  means asks for a human review (PIPL Art. 24); 201 with the linked review case, 409 if the
  case is not an automated REJECT or was appealed already.
- ``POST /v1/cases/{case_id}/reveal`` ``{field, reason, requested_by}``: one clear field of a
  case, recorded with who, when and why; 400 without a reason, 404 once erased or expired.

Each handler only parses and calls :mod:`lendguard.cases.privacy`. Who may call each route is in
the route table (:mod:`lendguard.http.access`); ``requested_by`` is the authenticated caller (a
body value, if sent, must equal it).
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router

from lendguard.core.errors import json_object
from lendguard.core.lazy import lazy_module
from lendguard.http.guard import actor_field, body_bytes, principal
from lendguard.http.routes.cases import check_case_id

# Imported on a privacy route's first request (or by the warm-up).
privacy = lazy_module("lendguard.cases.privacy")
service = lazy_module("lendguard.cases.service")
_appeal = lazy_module("lendguard.cases.appeal")

router = Router()


def _as_caller(what: str) -> dict[str, Any]:
    """The request body with ``requested_by`` set to the authenticated caller."""
    data = dict(json_object(body_bytes(router), what))
    data["requested_by"] = actor_field(data.get("requested_by"), principal(router), "requested_by")
    return data


@router.post("/v1/privacy/erasures")
def post_erasure() -> dict[str, Any]:
    request = privacy.parse_request(
        privacy.EraseRequest, _as_caller("invalid erasure request"), "invalid erasure request"
    )
    return privacy.erase(request).model_dump(mode="json")


@router.post("/v1/cases/<case_id>/appeal")
def post_appeal(case_id: str) -> Response:
    """201 with the review case the appeal opened."""
    check_case_id(case_id)
    request = privacy.parse_request(_appeal.AppealRequest, router.current_event.body, "invalid appeal")
    opened = _appeal.appeal(case_id, request, service.new_case_id(service.now()))
    body = {"case_id": opened.case_id, "appeal_of": case_id, "status": opened.status}
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=json.dumps(body))


@router.post("/v1/cases/<case_id>/reveal")
def post_reveal(case_id: str) -> dict[str, Any]:
    check_case_id(case_id)
    request = privacy.parse_request(
        privacy.RevealRequest, _as_caller("invalid reveal request"), "invalid reveal request"
    )
    return privacy.reveal(case_id, request).model_dump(mode="json")
