"""The console's policies page, audited reveal and execution-timeline diagram in headless Chromium
against ``lendguard serve`` (its own stack, free ports).

- Policies: versions with status, author and approver; the semantic diff rendered from the API's
  JSON; the author is refused and a second person approves; an approver activates; routing shown.
- Reveal (电话核实): with a reason the clear value shows for that case only, is audited, and is
  gone after navigating; a role the route refuses sees the API's error.
- Timeline: the ASL drawn as an SVG, the path of a case rejected at Lists highlighted, and a
  state added to the ASL later (InternalData) drawn with its stage's timing.
- axe-core finds nothing serious or critical on these pages; keyboard alone works a form; hostile
  text renders as text. Screenshots go to ``build/console-screenshots/``.

Needs Debian's ``chromium`` (``scripts/ensure-chromium.sh``) and ``playwright``; never
``playwright install``.
"""

from __future__ import annotations

import copy
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from authn import token_of, write_users_file
from browser import open_console
from policy_docs import stricter as variant
from served import served_stack

from lendguard.http.access import Role
from lendguard.offline import project

XSS = "<img src=x onerror=alert(1)>"
SHOTS = project.project_root() / "build" / "console-screenshots"
DEFAULT = project.default_policy_path()
SUITE = DEFAULT.with_name("default.tests.yaml")


def call(url: str, method: str, path: str, body: Any = None, who: str = "ops") -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token_of(who)}"}
    req = urllib.request.Request(url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def users_file(path: Path) -> Path:
    """The test users (every role) and one person per single role (``only-<role>``)."""
    write_users_file(path)
    doc = json.loads(path.read_text())
    expires = doc["users"][0]["expires_at"]
    doc["users"] += [
        {"token": token_of(f"only-{r.value}"), "kind": "person", "sub": f"only-{r.value}",
         "name": f"Only {r.value}", "roles": [r.value], "expires_at": expires}
        for r in Role
    ]  # fmt: skip
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture(scope="module")
def stack(default_model, tmp_path_factory) -> Iterator[tuple[str, int]]:
    """The served URL and its moto port (read from serve's start-up line)."""
    folder = tmp_path_factory.mktemp("console-pages")
    log = folder / "serve.log"
    with served_stack(log, "--users", str(users_file(folder / "users.json"))) as url:
        port = int(re.search(r"AWS \(moto\) on http://127\.0\.0\.1:(\d+)", log.read_text()).group(1))
        yield url, port


@pytest.fixture(scope="module")
def served(stack) -> str:
    return stack[0]


def serious_findings(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{v['id']}: {v['help']}" for v in results.response["violations"]
            if v.get("impact") in ("serious", "critical")]  # fmt: skip


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def tab_to(page, selector: str, limit: int = 80) -> None:
    """Press Tab until ``selector`` has the focus (keyboard only)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


# ---- policies -------------------------------------------------------------------------------------


def evidence(version: int, baseline: int) -> dict[str, Any]:
    side = {"approval_rate": 0.60, "bad_rate": 0.05, "vendor_spend_per_1000": 3500.0}
    return {"policy": {"id": "default", "version": version}, "baseline": {"id": "default", "version": baseline},
            "data": "synthetic seed 7", "rows": 10000, "champion": side, "candidate": side}  # fmt: skip


@pytest.fixture(scope="module")
def versions(served) -> str:
    """default v1 approved (alice wrote it, bob approved); v2 by alice pending approval."""
    for version, text in ((1, DEFAULT.read_text()), (2, variant(2))):
        status, body = call(served, "POST", "/v1/policies",
                            {"policy": text, "tests": SUITE.read_text(), "note": XSS}, "alice")  # fmt: skip
        assert status == 201, body
        status, body = call(served, "POST", f"/v1/policies/default/versions/{version}/submit",
                            {"evidence": evidence(version, 1)}, "alice")  # fmt: skip
        assert status == 200, body
    status, body = call(served, "POST", "/v1/policies/default/versions/1/approve", {"note": "ok"}, "bob")
    assert status == 200, body
    return served


def test_policies_list_diff_refuse_the_author_approve_and_activate(versions, browser) -> None:
    url = versions
    page = open_console(browser, url, "alice")
    page.get_by_role("link", name="策略").click()
    page.locator('#policies tr[data-policy="default"]').wait_for()
    assert serious_findings(page) == []
    page.locator('#policies tr[data-policy="default"]').get_by_role("link").click()

    # Versions with status, author and approver; routing: none yet (the deployment's version).
    page.locator('#versions tr[data-version="2"]').wait_for()
    v1 = page.locator('#versions tr[data-version="1"]')
    assert (
        v1.get_attribute("data-status") == "APPROVED"
        and "alice" in v1.inner_text()
        and "bob" in v1.inner_text()
    )
    assert page.locator('#versions tr[data-version="2"]').get_attribute("data-status") == "PENDING_APPROVAL"
    assert "暂无路由" in page.locator("#routing").inner_text()

    # The semantic diff, rendered from its JSON: one changed parameter, old and new values.
    page.locator("#diff-form").get_by_label("旧版本").select_option("1")
    page.locator("#diff-form").get_by_label("新版本").select_option("2")
    page.locator("#diff-form").get_by_role("button", name="比较").click()
    change = page.locator('#diff tr[data-kind="changed"]')
    change.wait_for()
    assert page.locator("#diff").get_attribute("data-changes") == "1"
    assert change.get_attribute("data-path").endswith(".params.min_income")
    assert page.locator('#diff .diff-section[data-section="admission"]').count() == 1
    assert serious_findings(page) == []
    shot(page, "policy-diff")

    # The author is refused: the API's 403 shown on the form, the version unchanged.
    page.locator('#versions tr[data-version="2"]').get_by_role("link").click()
    form = page.locator("#decide-form")
    form.get_by_label("审批意见", exact=False).fill("mine")
    form.get_by_role("button", name="批准").click()
    form.locator(".form-error", has_text="cannot").wait_for()
    assert "actor" in form.locator(".form-error").inner_text()
    assert page.locator("#version-status").get_attribute("data-status") == "PENDING_APPROVAL"
    # The note pushed with the version is hostile text: shown as text, no element made of it.
    assert XSS in page.locator("#version-notes").inner_text() and page.locator("main img").count() == 0
    assert serious_findings(page) == []
    shot(page, "policy-refused")

    # A second person approves, keyboard only: Tab to the note, type, Tab to 批准, Enter.
    other = open_console(browser, url, "bob", "#/policies/default/versions/2")
    other.locator("#decide-form").wait_for()
    other.locator("main").focus()
    tab_to(other, "#decide-form textarea[name=note]")
    other.keyboard.type("looks right")
    tab_to(other, "#approve")
    other.keyboard.press("Enter")
    other.locator('#version-status[data-status="APPROVED"]').wait_for()
    assert "bob" in other.locator("#version-notes").inner_text()

    # Activate: v2 becomes the champion; the routing shows it.
    activate = other.locator("#activate-form")
    activate.get_by_label("原因").fill("raise min income")
    activate.get_by_role("button", name="上线").click()
    other.locator("#activate-form").wait_for(state="detached")
    other.goto(f"{url}/console/#/policies/default")
    other.locator("#routing dl").wait_for()
    assert (
        "v2" in other.locator("#routing").inner_text()
        and "raise min income" in other.locator("#routing").inner_text()
    )
    assert "冠军版本" in other.locator('#versions tr[data-version="2"]').inner_text()
    shot(other, "policy-routing")
    assert page.problems == [] and other.problems == []  # type: ignore[attr-defined]


def test_a_person_without_the_approver_role_gets_no_decision_buttons(versions, browser) -> None:
    page = open_console(browser, versions, "only-analyst", "#/policies/default/versions/1")
    page.locator("#no-approver").wait_for()
    assert page.locator("#decide-form, #activate-form").count() == 0
    assert page.problems == []  # type: ignore[attr-defined]


# ---- the audited reveal --------------------------------------------------------------------------------


def decide(url: str, application: dict[str, Any]) -> dict[str, Any]:
    status, body = call(url, "POST", "/v1/decisions", application, "machine")
    assert status == 200, body
    return body


def reveal_audits(moto_port: int, case_id: str) -> list[dict[str, Any]]:
    """The reveal audit records the served stack wrote for ``case_id`` (read from its moto)."""
    import boto3

    from lendguard.store.privacy import AUDIT_PREFIX

    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{moto_port}", region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    found = []
    for bucket in s3.list_buckets()["Buckets"]:
        listing = s3.list_objects_v2(Bucket=bucket["Name"], Prefix=f"{AUDIT_PREFIX}reveal/")
        for obj in listing.get("Contents", []):
            record = json.loads(s3.get_object(Bucket=bucket["Name"], Key=obj["Key"])["Body"].read())
            if record["case_id"] == case_id:
                found.append(record)
    return found


def test_a_reviewer_reveals_the_phone_with_a_reason_audited_and_gone_after(stack, browser, examples) -> None:
    url, moto_port = stack
    application = copy.deepcopy(examples["review"]) | {"application_id": "A-PAGES-REVEAL"}
    application["applicant"]["name"] = XSS
    case_id = decide(url, application)["case_id"]
    phone = application["applicant"]["phone"]
    page = open_console(browser, url, "only-reviewer", f"#/case/{case_id}")
    form = page.locator("#reveal-form")
    form.wait_for()
    assert phone not in page.locator("main").inner_text()  # masked until revealed

    # No reason: the API names the field; nothing is shown or audited.
    form.get_by_role("button", name="查看明文").click()
    form.locator('[data-error-for="reason"]').wait_for(state="visible")
    assert form.locator('[data-error-for="reason"]').inner_text().strip() != ""
    assert page.locator("#revealed-value").count() == 0 and reveal_audits(moto_port, case_id) == []

    form.get_by_label("原因", exact=False).fill("电话核实 call back about income")
    form.get_by_role("button", name="查看明文").click()
    page.locator("#revealed-value", has_text=phone).wait_for()
    (audit,) = reveal_audits(moto_port, case_id)
    assert (audit["field"], audit["requested_by"]) == ("phone", "only-reviewer")
    assert audit["reason"] == "电话核实 call back about income"
    assert audit["audit_id"] in page.locator("#reveal-audit").inner_text()
    assert serious_findings(page) == []
    shot(page, "case-reveal")

    # The hostile name, revealed, is text.
    form.get_by_label("字段").select_option("name")
    form.get_by_role("button", name="查看明文").click()
    page.locator("#revealed-value", has_text="onerror").wait_for()
    assert page.locator("#revealed-value").inner_text() == XSS and page.locator("main img").count() == 0

    # Not kept: nothing in the tab's storage, and gone after navigating away and back.
    stored = page.evaluate("JSON.stringify({...sessionStorage}) + JSON.stringify({...localStorage})")
    assert phone not in stored and "onerror" not in stored
    page.locator("#open-timeline").click()
    page.locator("#timeline").wait_for()
    page.go_back()
    page.locator("#reveal-form").wait_for()
    assert page.locator("#revealed-value").count() == 0 and phone not in page.content()
    assert page.problems == []  # type: ignore[attr-defined]


def test_a_role_the_reveal_refuses_sees_the_error(served, browser, examples) -> None:
    case_id = decide(served, examples["review"] | {"application_id": "A-PAGES-REFUSED"})["case_id"]
    page = open_console(browser, served, "only-analyst", f"#/case/{case_id}")
    form = page.locator("#reveal-form")
    form.get_by_label("原因", exact=False).fill("want to see it")
    form.get_by_role("button", name="查看明文").click()
    form.locator(".form-error", has_text="needs one of").wait_for()
    assert page.locator("#revealed-value").count() == 0
    assert page.problems == []  # type: ignore[attr-defined]


# ---- the timeline diagram ----------------------------------------------------------------------------


def node(page, name: str):
    return page.locator(f'#timeline g[data-state="{name}"]')


def test_the_diagram_of_a_case_rejected_at_lists(served, browser, examples) -> None:
    body = decide(served, examples["black-listed"] | {"application_id": "A-PAGES-LISTS"})
    assert body["decision"] == "REJECT", body
    page = open_console(browser, served, "alice", f"#/case/{body['case_id']}/timeline")
    page.locator("#timeline").wait_for()
    asl = json.loads((project.statemachines_dir() / "decision.asl.json").read_text())
    # Every state of the ASL is drawn, and nothing else.
    drawn = page.locator("#timeline g[data-state]").evaluate_all("gs => gs.map(g => g.dataset.state)")
    assert sorted(drawn) == sorted(asl["States"])
    for name in (
        "Validate",
        "Admission",
        "AdmissionRejected?",
        "Lists",
        "ListsRejected?",
        "Finalize",
        "Done",
    ):
        assert node(page, name).get_attribute("data-path") == "visited", name
    assert node(page, "ListsRejected?").get_attribute("data-ended") == "true"
    assert node(page, "AdmissionRejected?").get_attribute("data-ended") is None
    assert node(page, "ExternalData").get_attribute("data-path") == "off"
    assert node(page, "RecordFailure").get_attribute("data-path") == "off"
    taken = page.locator('#timeline path[data-taken="true"]').evaluate_all(
        "ps => ps.map(p => p.dataset.from + '>' + p.dataset.to)"
    )
    assert "ListsRejected?>Finalize" in taken and "ListsRejected?>ExternalData" not in taken
    assert re.search(r"\d ms", node(page, "Lists").text_content())
    assert page.locator('#timeline-steps tr[data-step="Lists"]').count() == 1
    assert serious_findings(page) == []
    shot(page, "timeline-lists-reject")
    # Keyboard: the page's first control is reached with Tab from the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null")
    assert page.problems == []  # type: ignore[attr-defined]


def with_device_graph(asl: dict[str, Any]) -> dict[str, Any]:
    """The ASL with a DeviceGraph stage (and its Choice) after Lists, as later work may add one."""
    asl = copy.deepcopy(asl)
    states = asl["States"]
    after = states["ListsRejected?"]["Default"]
    states["ListsRejected?"]["Default"] = "DeviceGraph"
    states["DeviceGraph"] = copy.deepcopy(states["Lists"]) | {"Next": "DeviceGraphRejected?"}
    states["DeviceGraphRejected?"] = copy.deepcopy(states["ListsRejected?"]) | {"Default": after}
    return asl


def test_a_state_added_to_the_asl_is_drawn_with_its_timing(served, browser, examples) -> None:
    body = decide(served, examples["approve"] | {"application_id": "A-PAGES-NEWSTATE"})
    status, case = call(served, "GET", f"/v1/cases/{body['case_id']}")
    assert status == 200, case
    stages = case["trace"]["stages"]
    at = [s["stage"] for s in stages].index("lists") + 1
    case["trace"]["stages"] = [*stages[:at], {"stage": "device_graph", "elapsed_ms": 4.25, "outcome": "continue"}, *stages[at:]]  # fmt: skip
    asl = with_device_graph(json.loads((project.statemachines_dir() / "decision.asl.json").read_text()))
    page = open_console(browser, served, "alice")
    page.route("**/console/asl/decision.json", lambda r: r.fulfill(status=200, content_type="application/json", body=json.dumps(asl)))  # fmt: skip
    page.route(f"**/v1/cases/{case['case_id']}", lambda r: r.fulfill(status=200, content_type="application/json", body=json.dumps(case)))  # fmt: skip
    page.goto(f"{served}/console/#/case/{case['case_id']}/timeline")
    page.locator("#timeline").wait_for()
    assert node(page, "DeviceGraph").get_attribute("data-path") == "visited"
    assert "4.25 ms" in node(page, "DeviceGraph").text_content()
    assert node(page, "DeviceGraphRejected?").get_attribute("data-path") == "visited"
    assert node(page, "ExternalData").get_attribute("data-path") == "visited"
    taken = page.locator('#timeline path[data-taken="true"]').evaluate_all(
        "ps => ps.map(p => p.dataset.from + '>' + p.dataset.to)"
    )
    assert {"ListsRejected?>DeviceGraph", "DeviceGraph>DeviceGraphRejected?"} <= set(taken)
    shot(page, "timeline-internal-data")
    assert page.problems == []  # type: ignore[attr-defined]


def test_screens_fit_a_laptop_and_switch_to_english(versions, browser) -> None:
    page = open_console(browser, versions, "alice", "#/policies/default?from=1&to=2")
    page.locator("#diff").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.locator("#lang").click()
    page.get_by_role("heading", name="Semantic diff (语义差异)").wait_for()
    assert "Changed (修改)" in page.locator("#diff").inner_text()
    deadline = time.monotonic() + 5
    while page.evaluate("document.documentElement.lang") != "en":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert page.problems == []  # type: ignore[attr-defined]
