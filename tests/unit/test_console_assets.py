"""The console's static files: what ``lendguard serve`` answers under /console, and what it never reads."""

from __future__ import annotations

import json
import re

import pytest

from lendguard.offline.console import assets


def test_the_page_its_modules_and_the_asl_are_served() -> None:
    index, content_type = assets.resolve_asset("/console/")
    assert index.name == "index.html" and content_type.startswith("text/html")
    html = index.read_text()
    # Every script and stylesheet the page names exists (no inline script: the CSP forbids it).
    for ref in re.findall(r'(?:src|href)="([a-z0-9.]+\.(?:js|css))"', html):
        assert assets.resolve_asset(f"/console/{ref}") is not None, ref
    assert "<script>" not in html and "onclick" not in html
    asl, _ = assets.resolve_asset("/console/asl/decision.json")
    assert json.loads(asl.read_text())["StartAt"]


@pytest.mark.parametrize(
    "path",
    ["/console/../pyproject.toml", "/console/%2e%2e/x", "/console/.hidden", "/console/asl/review.json",
     "/console/nope.js", "/console/__init__.py", "/console/sub/app.js"],
)  # fmt: skip
def test_nothing_outside_the_static_folder_is_served(path: str) -> None:
    assert assets.resolve_asset(path) is None


def test_the_policy_is_strict() -> None:
    csp = assets.SECURITY_HEADERS["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe" not in csp
    assert "frame-ancestors 'none'" in csp


def test_the_modules_never_insert_html() -> None:
    for file in assets.STATIC_DIR.glob("*.js"):
        text = file.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in text, (file.name, sink)
