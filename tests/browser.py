"""Static report pages (backtest, monitor) opened from disk in the shared Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def open_offline(browser: Any, page_file: Path) -> tuple[Any, list[str], list[str]]:
    """``(page, errors, requests)``: the page loaded from ``page_file``, its console and page errors,
    and every URL it requested (a self-contained report requests nothing but itself)."""
    errors: list[str] = []
    requests: list[str] = []
    page = browser.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(page_file.as_uri())
    page.wait_for_load_state("load")
    return page, errors, requests


def offline_only(requests: list[str]) -> list[str]:
    """The requests that left the file system (none for a report that works offline)."""
    return [u for u in requests if not u.startswith("file://")]
