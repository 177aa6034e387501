"""The console in headless Chromium against ``lendguard serve`` (started here on free ports).

A reviewer signs in, works the queue, reads a rule's observed value, approves at the initial
level, is refused the final level as the same reviewer, and a second reviewer approves; a list
entry is added and removed; hostile text renders as text; axe-core finds nothing serious.

Needs Debian's ``chromium`` (``scripts/ensure-chromium.sh``, run by ``make setup``) and the
``playwright`` package; never ``playwright install``.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from authn import token_of, write_users_file
from browser import open_console
from served import served_stack

from lendguard.offline import project

XSS = "<img src=x onerror=alert(1)>"
FINAL_ABOVE = 1000  # the served policy: approving the 6,000 offer needs a second reviewer


def call(
    url: str, method: str = "GET", body: dict[str, Any] | None = None, who: str | None = None
) -> tuple[int, dict[str, Any]]:
    """A request as ``who`` (a test user); decisions come from the loan-app backend, the rest
    from ``ops`` unless a reviewer is named."""
    data = json.dumps(body).encode() if body is not None else None
    who = who or ("machine" if url.endswith("/v1/decisions") else (body or {}).get("reviewer", "ops"))
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token_of(who)}"}
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture(scope="module")
def served(default_model, tmp_path_factory) -> Iterator[str]:
    policy = yaml.safe_load(project.default_policy_path().read_text())
    policy["review"]["final_review_above"] = FINAL_ABOVE
    path = tmp_path_factory.mktemp("console") / "policy.yaml"
    path.write_text(yaml.safe_dump(policy, sort_keys=False))
    users = write_users_file(path.with_name("users.json"))
    with served_stack(path.with_name("serve.log"), "--policy", str(path), "--users", str(users)) as url:
        yield url


def decide(url: str, application: dict[str, Any]) -> str:
    status, body = call(f"{url}/v1/decisions", "POST", application)
    assert status == 200 and body["decision"] == "REVIEW", body
    return body["case_id"]


def wait_for_task(url: str, case_id: str, level: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        _, case = call(f"{url}/v1/cases/{case_id}")
        pending = (case.get("review") or {}).get("pending")
        if pending and pending["level"] == level:
            return case
        assert time.monotonic() < deadline, case.get("review")
        time.sleep(0.1)


def serious_findings(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{v['id']}: {v['help']}" for v in results.response["violations"]
            if v.get("impact") in ("serious", "critical")]  # fmt: skip


def test_two_reviewers_work_a_case_from_the_queue(served, browser, examples, tmp_path) -> None:
    first = decide(served, {**examples["review"], "application_id": "A-CON-1"})
    second = decide(served, {**examples["review"], "application_id": "A-CON-2"})
    case = wait_for_task(served, first, "initial")
    wait_for_task(served, second, "initial")
    hit = next(r for r in case["trace"]["rules"] if r["outcome"] == "hit")
    page = open_console(browser, served)

    # The queue: waiting cases, oldest first, with score and reasons; keyboard reaches the links.
    rows = page.locator("#queue tbody tr")
    ids = rows.evaluate_all("rows => rows.map(r => r.dataset.case)")
    assert ids.index(first) < ids.index(second)
    row = page.locator(f'#queue tr[data-case="{first}"]')
    assert case["reasons"][0]["code"] in row.inner_text()
    assert str(round(case["score"]["final_points"], 2)) in row.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert serious_findings(page) == []
    page.screenshot(path=str(tmp_path / "queue.png"), full_page=True)
    # Pages follow the API's next_token; a bad filter comes back named next to its field.
    page.goto(f"{served}/console/#/queue?limit=1")
    page.locator(f'#queue tr[data-case="{ids[0]}"]').wait_for()
    page.locator("#next-page").click()
    page.locator(f'#queue tr[data-case="{ids[1]}"]').wait_for()
    page.get_by_label("产品").fill("no spaces")
    page.get_by_role("button", name="筛选").click()
    page.locator('#queue-filters [data-error-for="product"]', has_text="letters").wait_for()
    page.goto(f"{served}/console/#/queue")
    row.wait_for()
    # Each page moves focus to its content: the next Tab lands on the page's first control.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null")
    row.get_by_role("link").focus()
    page.keyboard.press("Enter")

    # The case: the hit rule highlighted with the value it observed.
    rule = page.locator(f'tr[data-rule="{hit["rule_id"]}"]')
    rule.wait_for()
    assert "hit" in (rule.get_attribute("class") or "")
    name, value = next(iter(hit["observed"].items()))
    assert f"{name}={value}" in rule.locator(".observed").inner_text()
    assert page.locator("#applicant").inner_text().count("*") > 0  # masked personal data
    assert "多头借贷 / multi-lender" in page.locator('tr[data-rule="BUR_MULTI_LENDER_7D"]').inner_text()
    assert serious_findings(page) == []
    page.screenshot(path=str(tmp_path / "case.png"), full_page=True)

    # The timeline: the path this case took through the ASL, with stage timings.
    page.locator("#open-timeline").click()
    page.locator("#timeline").wait_for()
    assert page.locator('[data-state="Validate"]').get_attribute("data-path") == "visited"
    assert page.locator('[data-state="Done"]').get_attribute("data-path") == "visited"
    assert page.locator('[data-state="RecordFailure"]').get_attribute("data-path") == "off"
    assert page.locator('[data-state="ExternalDataRejected?"]').get_attribute("data-path") == "visited"
    assert " ms" in page.locator('[data-state="Scoring"]').text_content()
    assert serious_findings(page) == []
    page.screenshot(path=str(tmp_path / "timeline.png"), full_page=True)
    page.go_back()

    # A 4xx: the limit above the offer comes back named, next to the limit field.
    form = page.locator("#review-form")
    form.get_by_label("调低额度", exact=False).fill("999999")
    form.get_by_role("button", name="提交审核").click()
    limit_error = form.locator('[data-error-for="limit"]')
    limit_error.wait_for(state="visible")
    assert limit_error.inner_text().strip() != ""
    form.get_by_label("调低额度", exact=False).fill("")

    # Initial approval; the case moves to the final level.
    form.get_by_role("button", name="提交审核").click()
    page.get_by_role("heading", name="复审 (final)", exact=False).wait_for()
    # The same reviewer is refused the final review, next to the reviewer field.
    page.locator("#review-form").get_by_role("button", name="提交审核").click()
    refused = page.locator('#review-form [data-error-for="reviewer"]')
    refused.wait_for(state="visible")
    assert "initial reviewer" in refused.inner_text()

    # A second reviewer approves.
    other = open_console(browser, served, user="bob")
    other.goto(f"{served}/console/#/case/{first}")
    other.locator("#review-form").get_by_role("button", name="提交审核").click()
    other.locator("#case-decision", has_text="APPROVE").wait_for(timeout=20000)
    history = other.locator("#review-history").inner_text()
    assert "alice" in history and "bob" in history
    assert page.problems == [] and other.problems == []  # type: ignore[attr-defined]


def test_hostile_text_renders_as_text(served, browser, examples) -> None:
    application = {**examples["review"], "application_id": "A-CON-XSS"}
    application["applicant"] = {**application["applicant"], "name": XSS}
    del application["kyc"]  # the card read names the real applicant: this one is made up
    case_id = decide(served, application)
    wait_for_task(served, case_id, "initial")
    status, _ = call(f"{served}/v1/cases/{case_id}/review", "POST",
                     {"reviewer": "carol", "decision": "REJECT", "note": XSS})  # fmt: skip
    assert status == 200
    page = open_console(browser, served)
    page.goto(f"{served}/console/#/case/{case_id}")
    page.locator("#review-history", has_text="onerror").wait_for(timeout=20000)
    assert XSS in page.locator("#review-history").inner_text()
    assert page.locator("#applicant").inner_text().startswith("name")
    assert page.locator("main img").count() == 0
    assert page.problems == []  # type: ignore[attr-defined]


def test_the_timeline_of_a_rejected_case_ends_at_its_choice(served, browser, examples) -> None:
    status, body = call(
        f"{served}/v1/decisions", "POST", {**examples["reject-admission"], "application_id": "A-CON-REJ"}
    )
    assert status == 200 and body["decision"] == "REJECT", body
    page = open_console(browser, served)
    page.goto(f"{served}/console/#/case/{body['case_id']}/timeline")
    page.locator("#timeline").wait_for()
    state = lambda name: page.locator(f'[data-state="{name}"]')  # noqa: E731
    assert state("Admission").get_attribute("data-path") == "visited"
    assert state("AdmissionRejected?").get_attribute("data-ended") == "true"
    assert "→ Finalize" in state("AdmissionRejected?").text_content()
    assert state("Lists").get_attribute("data-path") == "off"
    assert state("Finalize").get_attribute("data-path") == "visited"
    assert page.problems == []  # type: ignore[attr-defined]


def test_the_timeline_of_a_failed_case_shows_the_stage_that_failed(served, browser, examples) -> None:
    # A stage failure cannot be injected into the served process: the page is given the case as
    # the API returns a FAILED one (its trace stops before the failing stage; error kept).
    status, body = call(
        f"{served}/v1/decisions", "POST", {**examples["approve"], "application_id": "A-CON-FAIL"}
    )
    assert status == 200, body
    _, case = call(f"{served}/v1/cases/{body['case_id']}")
    stages = [s["stage"] for s in case["trace"]["stages"]]
    case["trace"]["stages"] = case["trace"]["stages"][: stages.index("scoring")]
    case |= {"status": "FAILED", "decision": None, "error": {"error": "RuntimeError", "cause": None}}
    page = open_console(browser, served)
    page.route(f"**/v1/cases/{case['case_id']}", lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps(case)))  # fmt: skip
    page.goto(f"{served}/console/#/case/{case['case_id']}/timeline")
    page.locator("#timeline").wait_for()
    state = lambda name: page.locator(f'[data-state="{name}"]')  # noqa: E731
    assert state("Features").get_attribute("data-path") == "visited"
    assert state("Scoring").get_attribute("data-path") == "failed"
    assert "RuntimeError" in state("Scoring").text_content()
    assert state("RecordFailure").get_attribute("data-path") == "visited"
    assert state("Failed").get_attribute("data-path") == "visited"
    assert state("Decision").get_attribute("data-path") == "off"
    assert state("Done").get_attribute("data-path") == "off"
    assert page.problems == []  # type: ignore[attr-defined]


def test_lists_add_and_remove_with_history(served, browser) -> None:
    page = open_console(browser, served)
    page.get_by_role("link", name="名单").click()
    form = page.locator("#list-form")
    form.get_by_label("标识类型").select_option("PHONE")
    # A bad value: the API's message next to the value field.
    form.get_by_label("值").fill("123")
    form.get_by_role("button", name="查询").click()
    form.locator('[data-error-for="value"]', has_text="11 digits").wait_for()
    form.get_by_label("值").fill("13912345678")
    form.get_by_role("button", name="查询").click()
    page.locator('#list-status[data-listed="false"]').wait_for()
    add = page.locator("#list-add")
    add.get_by_label("原因代码").fill("FRAUD_RING")
    add.get_by_label("原因说明").fill("confirmed by phone")
    add.get_by_label("有效期", exact=False).fill("30")
    add.get_by_role("button", name="加入名单").click()
    page.locator('#list-status[data-listed="true"]').wait_for()
    assert "FRAUD_RING" in page.locator("#list-history").inner_text()
    assert serious_findings(page) == []
    remove = page.locator("#list-remove")
    remove.get_by_label("原因说明").fill("cleared")
    remove.get_by_role("button", name="移出名单").click()
    page.locator('#list-status[data-listed="false"]').wait_for()
    actions = page.locator("#list-history tbody tr td:nth-child(2)").all_inner_texts()
    assert actions == ["add", "remove"]
    assert "13912345678" not in page.locator("#list-result").inner_text()  # shown hashed only
    assert page.problems == []  # type: ignore[attr-defined]


def test_missing_or_expired_token_goes_to_sign_in_and_english_switch(served, browser) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{served}/console/#/lists")
    page.locator("#signin").wait_for()  # no token: sign in first, then back to where it was going
    page.get_by_label("用户名 (审核人)").fill("alice")
    page.get_by_label("访问令牌 (Bearer token)").fill(token_of("alice"))
    page.get_by_role("button", name="登录").click()
    page.locator("#list-form").wait_for()
    # The API answers 401 (token expired): the console drops the token and asks again.
    page.route("**/v1/cases?*", lambda route: route.fulfill(
        status=401, content_type="application/json",
        body=json.dumps({"error": "token expired", "details": [{"field": "Authorization", "message": "expired"}]}),
    ))  # fmt: skip
    page.get_by_role("link", name="审核队列").click()
    page.locator("#signin", has_text="登录已失效").wait_for()
    page.locator("#lang").click()
    assert page.evaluate("document.documentElement.lang") == "en"
    page.get_by_role("heading", name="Sign in").wait_for()
