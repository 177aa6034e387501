"""Privacy routes: erasure on request (role: privacy) and audited reveal of a clear field (role: reviewer).

- ``POST /v1/privacy/erasures`` ``{id_number, requested_by, reason}``: erase a person's personal
  data across the archive, cases, caches and vendor payloads; 200 with the report (``found``
  false, nothing erased, for a person with no data).
- ``POST /v1/cases/{case_id}/reveal`` ``{field, reason, requested_by}``: one clear field of a
  case, recorded with who, when and why; 400 without a reason, 404 once erased or expired.

Each handler only parses and calls :mod:`lendguard.cases.privacy`; ``ROUTE_ROLES`` names the
role each route needs, for the route table to enforce.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router

from lendguard.cases import privacy
from lendguard.http.routes.cases import check_case_id

router = Router()

ROUTE_ROLES: dict[tuple[str, str], str] = {
    ("POST", "/v1/privacy/erasures"): "privacy",
    ("POST", "/v1/cases/<case_id>/reveal"): "reviewer",
}


@router.post("/v1/privacy/erasures")
def post_erasure() -> dict[str, Any]:
    request = privacy.parse_request(
        privacy.EraseRequest, router.current_event.body, "invalid erasure request"
    )
    return privacy.erase(request).model_dump(mode="json")


@router.post("/v1/cases/<case_id>/reveal")
def post_reveal(case_id: str) -> dict[str, Any]:
    check_case_id(case_id)
    request = privacy.parse_request(
        privacy.RevealRequest, router.current_event.body, "invalid reveal request"
    )
    return privacy.reveal(case_id, request).model_dump(mode="json")
