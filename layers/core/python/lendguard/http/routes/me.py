"""``GET /v1/me``: who the caller is, as the API sees them (the console shows the actions a
person's roles allow; the API still enforces every route's roles itself)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router

from lendguard.http.guard import principal

router = Router()


@router.get("/v1/me")
def me() -> dict[str, Any]:
    """The authenticated person: ``sub``, ``name`` and ``roles`` (sorted)."""
    caller = principal(router)
    return {"sub": caller.sub, "name": caller.name, "roles": sorted(r.value for r in caller.roles)}
