"""Which files the console serves, and with which headers: one place for ``lendguard serve``
and the CDK construct (the same Content-Security-Policy locally and on CloudFront)."""

from __future__ import annotations

from pathlib import Path

from lendguard.offline import project

STATIC_DIR = Path(__file__).parent / "static"
PREFIX = "/console"
# The state machine the timeline draws, published beside the assets (same origin, no API call).
ASL_PATH = "asl/decision.json"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
}


def content_security_policy(*connect: str) -> str:
    """Strict: only this origin's scripts, styles, images and API; no inline script, no framing.

    ``connect`` adds origins the page may call besides its own: the identity provider's token
    endpoint, where the sign-in exchanges its code (the authorize step is a navigation).
    """
    sources = " ".join(("'self'", *connect))
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src {sources}; font-src 'self'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


CONTENT_SECURITY_POLICY = content_security_policy()


def security_headers(*connect: str) -> dict[str, str]:
    """The headers every console response carries (``connect`` as in :func:`content_security_policy`)."""
    return {
        "Content-Security-Policy": content_security_policy(*connect),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
    }


SECURITY_HEADERS = security_headers()


def asl_file() -> Path:
    """The decision state machine's ASL in the checkout (what the stack deploys)."""
    return project.statemachines_dir() / "decision.asl.json"


def resolve_asset(path: str) -> tuple[Path, str] | None:
    """The file and content type for a request path under ``/console``; None if not an asset.

    Only names directly in the static folder are served (no ``..``, no sub-folders), so a
    request can never read outside it.
    """
    rest = path.removeprefix(PREFIX).lstrip("/") or "index.html"
    if rest == ASL_PATH:
        return asl_file(), CONTENT_TYPES[".json"]
    if "/" in rest or "\\" in rest or rest.startswith("."):
        return None
    file = STATIC_DIR / rest
    content_type = CONTENT_TYPES.get(file.suffix)
    if content_type is None or not file.is_file():
        return None
    return file, content_type
