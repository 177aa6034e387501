"""``POST /v1/cases/{case_id}/replay`` ``{"policy": "ID@VERSION"}`` (body optional): decide a past
case again from its archive, in process, and return it beside the original
(:class:`lendguard.decision.replay.ReplayResult`). Nothing is called or written; analysts only
(the route table, :mod:`lendguard.http.access`), since it decrypts the archive.
404 for an unknown case or policy version, 409 once the archive is erased or for a FAILED case.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import ConfigDict, Field, ValidationError

from lendguard.core.base_model import Model
from lendguard.core.errors import InvalidInput, json_object
from lendguard.core.lazy import lazy_module
from lendguard.http.guard import body_bytes
from lendguard.http.routes.cases import check_case_id

# Replay (the whole decision path) is imported on the route's first request.
replay = lazy_module("lendguard.decision.replay")

router = Router()


class ReplayRequest(Model):
    """The optional body: the policy version to replay under (default: the pinned one)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    policy: Annotated[str, Field(min_length=3, max_length=140)] | None = None


def parse_replay_request(body: bytes | str | None) -> ReplayRequest:
    """Validate a replay request (an empty body is allowed); :class:`InvalidInput` names the field."""
    if not body:
        return ReplayRequest()
    data = json_object(body, "invalid replay")
    try:
        request = ReplayRequest.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput.from_validation_error("invalid replay", exc) from None
    if request.policy is not None:
        replay.check_policy_ref(request.policy)
    return request


@router.post("/v1/cases/<case_id>/replay")
def post_replay(case_id: str) -> dict[str, Any]:
    check_case_id(case_id)
    request = parse_replay_request(body_bytes(router))
    result = replay.replay_case(case_id, request.policy)
    return {**result.model_dump(mode="json"), "identical": result.identical}
