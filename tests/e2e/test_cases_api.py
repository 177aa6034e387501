"""``/v1/cases`` and idempotent ``/v1/decisions`` end to end on moto, over the API's resolver and
over HTTP with ``lendguard cases`` as the client."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from authn import cli_token_env, resolve_as

from lendguard.offline.local import lambda_hook
from lendguard.store import cases, executions


def http(method: str, path: str, body: Any = None) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else None
    status, _, text = resolve_as(method, path, {"Content-Type": "application/json"}, data)
    return status, json.loads(text)


def application(examples, name: str, app_id: str, **changes: Any) -> dict:
    return {**copy.deepcopy(examples[name]), "application_id": app_id, **changes}


def case_ids_of(application_id: str) -> list[str]:
    status, body = http("GET", f"/v1/cases?application_id={application_id}&limit=100")
    assert status == 200
    return [c["case_id"] for c in body["cases"]]


# ---- idempotency -------------------------------------------------------------------------------


def test_the_same_application_twice_gets_the_same_decision_and_one_case(runtime, examples):
    raw = application(examples, "approve", "A-IDEM-1")
    status, first = http("POST", "/v1/decisions", raw)
    assert status == 200 and first["decision"] == "APPROVE"
    executions_before = len(executions.list_executions(1000))
    status, again = http("POST", "/v1/decisions", raw)
    assert status == 200 and again == first
    # Key order and whitespace do not make a different body.
    status, reordered = http(
        "POST", "/v1/decisions", json.dumps(dict(reversed(raw.items())), indent=2).encode()
    )
    assert status == 200 and reordered == first
    assert len(executions.list_executions(1000)) == executions_before
    assert case_ids_of("A-IDEM-1") == [first["case_id"]]


def test_the_same_id_with_a_different_body_is_409(runtime, examples):
    status, first = http("POST", "/v1/decisions", application(examples, "approve", "A-IDEM-2"))
    assert status == 200
    status, body = http(
        "POST", "/v1/decisions", application(examples, "approve", "A-IDEM-2", requested_amount=4000)
    )
    assert status == 409 and body["details"][0]["field"] == "application_id"
    assert "different application" in body["error"]
    assert case_ids_of("A-IDEM-2") == [first["case_id"]]


# ---- one case ----------------------------------------------------------------------------------


def test_a_case_shows_decision_offer_schedule_trace_versions_timings_and_review(runtime, examples):
    _, decided = http("POST", "/v1/decisions", application(examples, "review", "A-GET-1"))
    status, case = http("GET", f"/v1/cases/{decided['case_id']}")
    assert status == 200
    assert case["decision"] == "REVIEW" and case["status"] == "PENDING_REVIEW"
    assert case["policy"] == {"id": "default", "version": 1} and case["model"] == {
        "id": "default-xgb",
        "version": 1,
    }
    assert case["execution_arn"] == decided["execution_arn"]
    offer = case["offer"]
    assert offer["credit_limit"] == 6000 and offer["schedule"]["principal"] == "6000.00"
    assert len(offer["schedule"]["instalments"]) == offer["term_months"]
    assert offer["limit_basis"] in offer["limit_candidates"]
    assert case["reasons"][0]["code"] == "PM_HIGH_DTI"
    rule = next(r for r in case["trace"]["rules"] if r["rule_id"] == "PM_HIGH_DTI")
    assert (
        rule["outcome"] == "hit"
        and rule["params"] == {"review_dti": 0.6}
        and "features.dti" in rule["observed"]
    )
    assert {v["vendor"] for v in case["trace"]["vendors"]} >= {"identity", "bureau"}
    assert case["score"]["final_points"] == decided["score"]
    timings = case["timings"]
    assert timings["decision_ms"] > 0 and set(timings["stages_ms"]) >= {"validate", "decision", "finalize"}
    assert case["review"]["execution_arn"].endswith("-review") and case["review"]["on_timeout"] == "REJECT"
    assert "review_task_token" not in json.dumps(case)


def test_an_unknown_or_malformed_case_id(runtime):
    status, body = http("GET", "/v1/cases/C20990101000000-000000000000")
    assert status == 404 and body["details"] == [] and "not found" in body["error"]
    status, body = http("GET", "/v1/cases/has.dots")
    assert status == 400 and body["details"][0]["field"] == "case_id"


# ---- the list ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def listed(runtime, examples) -> tuple[dict[str, str], list[dict]]:
    """Seven cases decided in a row, newest last: approvals, rejections and a review.

    Returns them with the ``from``/``to`` window that holds exactly them: tests of this module
    that run later (in any order) decide cases of their own, after the window.
    """
    start = datetime.now(UTC)
    made = []
    for i, name in enumerate(["approve", "reject-admission", "approve", "review", "reject-admission", "approve",
                              "approve"]):  # fmt: skip
        status, body = http("POST", "/v1/decisions", application(examples, name, f"A-LIST-{i}"))
        assert status == 200
        made.append(body)
    end = cases.get_case(made[-1]["case_id"]).created_at
    return {"from": start.isoformat(), "to": end.isoformat()}, made


def walk(params: dict[str, str]) -> tuple[list[dict], int]:
    found, pages, token = [], 0, None
    while True:
        query = {**params, **({"next_token": token} if token else {})}
        status, body = http("GET", f"/v1/cases?{urlencode(query)}")
        assert status == 200, body
        pages += 1
        found += body["cases"]
        assert body["count"] == len(body["cases"])
        token = body["next_token"]
        if token is None:
            return found, pages


def mine(found: list[dict], made: list[dict]) -> list[str]:
    """The listed cases this module's fixture made (tests run in random order: others may have
    decided cases since)."""
    ids = {m["case_id"] for m in made}
    return [c["case_id"] for c in found if c["case_id"] in ids]


def test_cases_page_newest_first_across_statuses(listed):
    window, made = listed
    found, pages = walk({**window, "limit": "2"})
    assert mine(found, made) == [m["case_id"] for m in reversed(made)]
    assert pages >= 4
    first = found[0]
    assert set(first) >= {"status", "decision", "created_at", "credit_limit", "review_status"}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"decision": "REJECT"}, lambda m: m["decision"] == "REJECT"),
        ({"status": "PENDING_REVIEW"}, lambda m: m["status"] == "PENDING_REVIEW"),
        ({"status": "DECIDED", "decision": "APPROVE"}, lambda m: m["decision"] == "APPROVE"),
        ({"application_id": "A-LIST-3"}, lambda m: m["application_id"] == "A-LIST-3"),
    ],
)
def test_cases_filter(listed, params, expected):
    window, made = listed
    found, _ = walk({**window, "limit": "3", **params})
    assert mine(found, made) == [m["case_id"] for m in reversed(made) if expected(m)]


def test_cases_between_from_and_to(listed):
    _, made = listed
    created = [cases.get_case(m["case_id"]).created_at for m in made]
    found, _ = walk({"from": created[2].isoformat(), "to": created[4].isoformat()})
    assert [c["case_id"] for c in found] == [m["case_id"] for m in made[2:5]][::-1]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert walk({"from": tomorrow})[0] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=OPEN", "status"),
        ("decision=MAYBE", "decision"),
        ("from=yesterday", "from"),
        ("from=2026-11-22T10:00:00", "from"),  # no UTC offset
        ("from=2026-11-23&to=2026-11-22", "to"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("application_id=no%20spaces", "application_id"),
        ("next_token=not-a-token", "next_token"),
        ("sort=asc", "sort"),
    ],
)
def test_bad_list_parameters_are_400_naming_the_parameter(runtime, query, field):
    status, body = http("GET", f"/v1/cases?{query}")
    assert status == 400 and field in [d["field"] for d in body["details"]], body


def test_a_next_token_is_tied_to_its_filters(listed):
    window, _ = listed
    _, body = http("GET", f"/v1/cases?{urlencode({**window, 'limit': 1})}")
    token = body["next_token"]
    status, other = http("GET", f"/v1/cases?{urlencode({'decision': 'REJECT', 'next_token': token})}")
    assert status == 400 and other["details"][0]["field"] == "next_token"


# ---- re-decision -------------------------------------------------------------------------------


def failed_case(runtime, examples, app_id: str) -> dict:
    lambda_hook.inject_fault(runtime.function_name("scoring"), RuntimeError("model store unreachable"))
    try:
        status, body = http("POST", "/v1/decisions", application(examples, "approve", app_id))
    finally:
        lambda_hook.inject_fault(runtime.function_name("scoring"), None)
    assert status == 502 and body["status"] == "FAILED"
    return body


def test_a_failed_case_is_redecided_as_a_new_linked_case(runtime, examples):
    failed = failed_case(runtime, examples, "A-REDO-1")
    old_id = failed["case_id"]
    assert cases.get_case(old_id).application_ref.endswith(f"archive/header/{old_id}.json")
    status, body = http("POST", f"/v1/cases/{old_id}/redecide", {"requested_by": "ops", "note": "model back"})
    assert status == 200, body
    assert body["decision"] == "APPROVE" and body["redecided_from"] == old_id and body["case_id"] != old_id
    old, new = cases.get_case(old_id), cases.get_case(body["case_id"])
    assert old.redecided_as == new.case_id and new.redecided_from == old_id and new.redecided_by == "ops"
    assert old.status == "FAILED"  # the failed case keeps its history
    # Once only.
    status, again = http("POST", f"/v1/cases/{old_id}/redecide", {"requested_by": "ops"})
    assert status == 409 and new.case_id in again["error"]
    # The loan app repeating the application now gets the re-decided case's answer.
    status, replay = http("POST", "/v1/decisions", application(examples, "approve", "A-REDO-1"))
    assert status == 200 and replay["case_id"] == new.case_id and replay["decision"] == "APPROVE"


def test_only_failed_cases_can_be_redecided_and_bad_requests_name_the_field(runtime, examples):
    _, decided = http("POST", "/v1/decisions", application(examples, "approve", "A-REDO-2"))
    status, body = http("POST", f"/v1/cases/{decided['case_id']}/redecide", {"requested_by": "ops"})
    assert status == 409 and "only a FAILED case" in body["error"]
    status, body = http("POST", "/v1/cases/C20990101000000-000000000000/redecide", {"requested_by": "ops"})
    assert status == 404
    failed = failed_case(runtime, examples, "A-REDO-3")
    path = f"/v1/cases/{failed['case_id']}/redecide"
    for payload, field in [
        ({"requested_by": "ops", "why": "x"}, "why"),
        (b"[1]", "(body)"),
        (b"{", "(body)"),
    ]:
        status, body = http("POST", path, payload)
        assert status == 400 and field in [d["field"] for d in body["details"]], (payload, body)
    # Who asks is the caller: a body naming someone else is refused.
    status, body = http("POST", path, {"requested_by": "o p s"})
    assert status == 403 and body["details"][0]["field"] == "requested_by"
    assert cases.get_case(failed["case_id"]).redecided_as is None


# ---- the CLI against a served API ----------------------------------------------------------------


@pytest.fixture(scope="module")
def endpoint(runtime, tmp_path_factory):
    from authn import write_users_file

    from lendguard.offline.local.server import make_server

    server = make_server(0, write_users_file(tmp_path_factory.mktemp("users") / "users.json"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def lendguard(*args: str) -> CliResult:
    """``lendguard ARGS`` in its own process, as an operator runs it against the served API.

    Not ``CliRunner`` in this process: CliRunner captures output by swapping the process-wide
    ``sys.stdout``, and so does the in-process Lambda hook, from moto's executor threads, while
    a function runs (a review task still finishing after it recorded the pending review, the
    conclusion after an answer). Interleaved, each restores the other's stale stream and the
    CLI's output is lost (empty ``shown.output`` under ``-n 2``).
    """
    done = subprocess.run(
        [sys.executable, "-m", "lendguard.offline.cli.main", *args],
        capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **cli_token_env(args)},
    )  # fmt: skip
    return CliResult(done.returncode, done.stdout, done.stderr)


def test_cli_shows_lists_reviews_and_redecides(runtime, examples, endpoint):
    _, decided = http("POST", "/v1/decisions", application(examples, "review", "A-CLI-1"))
    case_id = decided["case_id"]
    deadline = time.monotonic() + 20
    while not (cases.get_case(case_id).review.pending or time.monotonic() > deadline):
        time.sleep(0.05)
    shown = lendguard("cases", "show", case_id, "--endpoint", endpoint)
    assert shown.exit_code == 0, shown.output
    assert (
        "PENDING_REVIEW" in shown.output
        and "Repayment schedule" in shown.output
        and "limit 6,000.00" in shown.output
    )
    as_json = lendguard("cases", "show", case_id, "--json", "--endpoint", endpoint)
    assert json.loads(as_json.stdout)["case_id"] == case_id
    listed = lendguard(
        "cases", "list", "--application-id", "A-CLI-1", "--all", "--json", "--endpoint", endpoint
    )
    assert [c["case_id"] for c in json.loads(listed.stdout)["cases"]] == [case_id]
    reviewed = lendguard("cases", "review", case_id, "--decision", "approve", "--reviewer", "alice", "--limit",
                         "5000", "--note", "ok", "--endpoint", endpoint)  # fmt: skip
    assert reviewed.exit_code == 0 and "APPROVE" in reviewed.output and "conclusion" in reviewed.output
    # The answer is taken; the case concludes when the review workflow has run its last task.
    executions.wait(cases.get_case(case_id).review.execution_arn, timeout_s=20)
    again = lendguard(
        "cases", "review", case_id, "--decision", "REJECT", "--reviewer", "bob", "--endpoint", endpoint
    )
    assert again.exit_code == 1 and "not waiting for a review" in again.stderr
    failed = failed_case(runtime, examples, "A-CLI-2")
    redone = lendguard("cases", "redecide", failed["case_id"], "--by", "ops", "--endpoint", endpoint)
    assert redone.exit_code == 0 and "re-decided as" in redone.output


def test_cli_bad_input_exits_2_naming_each_field(runtime, endpoint):
    bad = lendguard("cases", "list", "--status", "OPEN", "--decision", "MAYBE", "--endpoint", endpoint)
    assert bad.exit_code == 2 and "status:" in bad.stderr and "decision:" in bad.stderr
    bad = lendguard("cases", "review", "C20990101000000-000000000000", "--decision", "PERHAPS", "--reviewer", "a",
                    "--endpoint", endpoint)  # fmt: skip
    assert bad.exit_code == 2 and "decision:" in bad.stderr
    missing = lendguard("cases", "show", "C20990101000000-000000000000", "--endpoint", endpoint)
    assert missing.exit_code == 1 and "not found" in missing.stderr
    unreachable = lendguard("cases", "show", "C1", "--endpoint", "http://127.0.0.1:9")
    assert unreachable.exit_code == 2 and "cannot reach" in unreachable.stderr
