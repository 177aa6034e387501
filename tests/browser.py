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


def open_console(browser: Any, url: str, user: str = "alice", at: str = "") -> Any:
    """A 1280-wide console page of the served stack at ``url``, signed in as ``user`` with a test
    token (kept in the tab's session), then opened at ``at``; page errors and dialogs are
    collected in ``page.problems``."""
    from authn import token_of

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.problems = []
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.on("dialog", lambda d: (page.problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.goto(f"{url}/console/")
    page.locator("#signin").wait_for()
    page.get_by_label("用户名 (审核人)").fill(user)
    page.get_by_label("访问令牌 (Bearer token)").fill(token_of(user))
    page.get_by_role("button", name="登录").click()
    page.locator("#queue-body table, #queue-body p").first.wait_for()
    if at:
        page.goto(f"{url}/console/{at}")
    return page
