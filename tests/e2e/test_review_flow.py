"""Manual review end to end on moto: the decision flow starts the review workflow, reviewers
answer over HTTP (the same resolver as API Gateway), the workflow concludes or times out."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable

import pytest
import yaml
from authn import resolve_as

from lendguard import deployment
from lendguard.cases.record import CaseRecord
from lendguard.core.schedule import replay
from lendguard.offline import project
from lendguard.policy.loader import load_policy_text
from lendguard.store import artifacts, cases, executions

# Policy versions published into this module's runtime (v1 is policies/default.yaml):
FINAL_ABOVE_1000 = 2  # an approval above 1,000 needs a final review by a second reviewer
TIMEOUT_2S = 3  # nobody answers within 2 s: REJECT with REVIEW_TIMEOUT


@pytest.fixture(scope="module")
def versions(runtime):
    base = yaml.safe_load((project.default_policy_path()).read_text())
    for version, review in (
        (FINAL_ABOVE_1000, {"final_review_above": 1000}),
        (TIMEOUT_2S, {"timeout_seconds": 2, "on_timeout": "REJECT"}),
    ):
        data = copy.deepcopy(base)
        data["version"] = version
        data["review"].update(review)
        text = yaml.safe_dump(data, sort_keys=False)
        artifacts.put_policy(load_policy_text(text), text)
    return runtime


def http(method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    status, _, text = resolve_as(method, path, {"Content-Type": "application/json"},
                              json.dumps(body).encode() if body is not None else None)  # fmt: skip
    return status, json.loads(text)


def wait_for(case_id: str, ready: Callable[[CaseRecord], bool], timeout: float = 20) -> CaseRecord:
    deadline = time.monotonic() + timeout
    while True:
        case = cases.get_case(case_id)
        if ready(case):
            return case
        assert time.monotonic() < deadline, f"case {case_id} not ready: {case.review}"
        time.sleep(0.05)


def waiting(level: str) -> Callable[[CaseRecord], bool]:
    return lambda c: bool(c.review and c.review.pending and c.review.pending.level == level)


def concluded(c: CaseRecord) -> bool:
    return c.status != "PENDING_REVIEW"


def workflow_end(case: CaseRecord) -> executions.ExecutionResult:
    """The review workflow's final status.

    The case is concluded by a task inside the workflow, which still has states to run after it:
    a concluded case does not mean a finished execution, so wait for a terminal status.
    """
    assert case.review is not None and case.review.execution_arn
    return executions.wait(case.review.execution_arn, timeout_s=20)


def review_case(examples, app_id: str, monkeypatch, version: int = 1) -> str:
    """A REVIEW case (PM_HIGH_DTI, 6,000 offered) decided under policy ``version``."""
    monkeypatch.setenv(deployment.ENV_POLICY_VERSION, str(version))
    raw = {**examples["review"], "application_id": app_id}
    status, body = http("POST", "/v1/decisions", raw)
    assert status == 200 and body["decision"] == "REVIEW" and body["status"] == "PENDING_REVIEW", body
    assert body["credit_limit"] == 6000
    return body["case_id"]


def test_one_reviewer_approves_a_lower_limit_and_the_schedule_is_requoted(versions, examples, monkeypatch):
    case_id = review_case(examples, "A-RV-1", monkeypatch)
    case = wait_for(case_id, waiting("initial"))
    assert case.review.execution_arn.endswith(f":{case_id}-review")
    status, body = http("POST", f"/v1/cases/{case_id}/review",
                        {"reviewer": "alice", "decision": "APPROVE", "limit": 4500, "note": "payslip checked"})  # fmt: skip
    assert status == 200 and body["next"] == "conclusion", body
    assert body["accepted"] == {"level": "initial", "reviewer": "alice", "decision": "APPROVE", "limit": 4500.0,
                                "note": "payslip checked", "answered_at": body["accepted"]["answered_at"]}  # fmt: skip
    case = wait_for(case_id, concluded)
    assert (case.status, case.decision, case.automated_decision) == ("DECIDED", "APPROVE", "REVIEW")
    assert case.offer.credit_limit == 4500 and case.offer.limit_basis == "review"
    assert str(case.offer.schedule.principal) == "4500.00" and replay(case.offer.schedule)[-1] == 0
    # The workflow ended, and GET shows the review history, the offer and the timings.
    assert workflow_end(case).status == "SUCCEEDED"
    status, view = http("GET", f"/v1/cases/{case_id}")
    assert status == 200
    assert [e["event"] for e in view["review"]["history"]] == ["task_opened", "answered", "concluded"]
    assert view["review"]["history"][1]["reviewer"] == "alice"
    assert view["timings"]["review_ms"] > 0 and view["offer"]["schedule"]["principal"] == "4500.00"


def test_two_levels_need_two_different_reviewers_and_each_task_takes_one_answer(
    versions, examples, monkeypatch
):
    case_id = review_case(examples, "A-RV-2", monkeypatch, FINAL_ABOVE_1000)
    wait_for(case_id, waiting("initial"))
    status, body = http("POST", f"/v1/cases/{case_id}/review", {"reviewer": "alice", "decision": "APPROVE"})
    assert status == 200 and body["next"] == "final_review"
    # The initial task is closed: a second answer to it is a conflict, whoever sends it.
    status, body = http("POST", f"/v1/cases/{case_id}/review",
                        {"reviewer": "carol", "decision": "REJECT", "level": "initial"})  # fmt: skip
    assert status == 409, body
    wait_for(case_id, waiting("final"))
    # The initial reviewer may not do the final review too.
    status, body = http("POST", f"/v1/cases/{case_id}/review", {"reviewer": "alice", "decision": "APPROVE"})
    assert status == 409 and body["details"] == [
        {"field": "reviewer", "message": "must differ from the initial reviewer"}
    ]
    status, body = http("POST", f"/v1/cases/{case_id}/review",
                        {"reviewer": "bob", "decision": "APPROVE", "limit": 5000, "level": "final"})  # fmt: skip
    assert status == 200 and body["next"] == "conclusion"
    status, body = http("POST", f"/v1/cases/{case_id}/review", {"reviewer": "dave", "decision": "APPROVE"})
    assert status == 409, body  # the final task took its answer too
    case = wait_for(case_id, concluded)
    assert case.decision == "APPROVE" and case.offer.credit_limit == 5000
    answers = [(e.level, e.reviewer) for e in case.review.history if e.event == "answered"]
    assert answers == [("initial", "alice"), ("final", "bob")]
    assert workflow_end(case).status == "SUCCEEDED"
    history = executions.history(case.review.execution_arn)
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    assert entered == [
        "InitialReview",
        "FinalReviewRequired?",
        "FinalReview",
        "ConcludeReview",
        "Failed?",
        "Done",
    ]


def test_a_reject_at_review_rejects_the_case(versions, examples, monkeypatch):
    case_id = review_case(examples, "A-RV-3", monkeypatch)
    wait_for(case_id, waiting("initial"))
    status, _ = http(
        "POST",
        f"/v1/cases/{case_id}/review",
        {"reviewer": "erin", "decision": "REJECT", "note": "fake payslip"},
    )
    assert status == 200
    case = wait_for(case_id, concluded)
    assert case.decision == "REJECT" and case.offer is None and case.reasons[0].code == "REVIEW_REJECTED"


def test_nobody_answering_gets_the_configured_outcome(versions, examples, monkeypatch):
    case_id = review_case(examples, "A-RV-4", monkeypatch, TIMEOUT_2S)
    case = wait_for(case_id, concluded, timeout=30)
    assert (case.status, case.decision) == ("DECIDED", "REJECT")
    assert case.reasons[0].code == "REVIEW_TIMEOUT"
    assert case.reasons[0].message == "No reviewer completed the initial review within 2 seconds"
    assert [e.event for e in case.review.history] == ["task_opened", "timed_out", "concluded"]
    assert case.review.history[1].level == "initial"
    # Too late: the task is gone, and the answer is refused.
    status, body = http("POST", f"/v1/cases/{case_id}/review", {"reviewer": "alice", "decision": "APPROVE"})
    assert status == 409, body


def test_bad_review_requests_are_400_naming_the_field(versions, examples, monkeypatch):
    case_id = review_case(examples, "A-RV-5", monkeypatch)
    wait_for(case_id, waiting("initial"))
    path = f"/v1/cases/{case_id}/review"
    for body, field in [
        ({"reviewer": "alice", "decision": "PERHAPS"}, "decision"),
        ({"reviewer": "alice", "decision": "APPROVE", "limit": 6000.5}, "limit"),  # above the 6,000 offered
        ({"reviewer": "alice", "decision": "APPROVE", "limit": 100}, "limit"),  # below the product minimum
        ({"reviewer": "alice", "decision": "REJECT", "limit": 100}, "limit"),
        ({"reviewer": "alice", "decision": "APPROVE", "when": "now"}, "when"),
    ]:
        status, answer = http("POST", path, body)
        assert status == 400 and field in [d["field"] for d in answer["details"]], (body, answer)
    status, answer = http("POST", path, None)
    assert status == 400 and answer["details"][0]["field"] == "(body)"
    status, answer = resolve_as("POST", path, {"Content-Type": "application/json"}, b"{not json")[0], None
    assert status == 400
    status, answer = http("POST", "/v1/cases/C-nobody/review", {"reviewer": "alice", "decision": "APPROVE"})
    assert status == 404 and "not found" in answer["error"]
    status, answer = http("POST", "/v1/cases/bad%20id/review", {"reviewer": "alice", "decision": "APPROVE"})
    assert status == 400 and answer["details"][0]["field"] == "case_id"
    # A case that is not in review cannot be reviewed.
    monkeypatch.setenv(deployment.ENV_POLICY_VERSION, "1")
    _, approved = http("POST", "/v1/decisions", {**examples["approve"], "application_id": "A-RV-6"})
    status, answer = http(
        "POST", f"/v1/cases/{approved['case_id']}/review", {"reviewer": "a", "decision": "APPROVE"}
    )
    assert status == 409 and "not waiting for a review" in answer["error"]
    # Nothing above changed the waiting case.
    assert cases.get_case(case_id).review.pending.level == "initial"


def test_an_answer_the_workflow_no_longer_takes_is_recorded_and_refused(versions, examples, monkeypatch):
    from lendguard.store import reviews

    case_id = review_case(examples, "A-RV-7", monkeypatch)
    wait_for(case_id, waiting("initial"))

    def gone(token: str, answer: dict) -> None:  # the task timed out between our write and the send
        raise reviews.TaskGone("TaskTimedOut", "Task Timed Out")

    monkeypatch.setattr(reviews, "send_answer", gone)
    status, body = http("POST", f"/v1/cases/{case_id}/review", {"reviewer": "alice", "decision": "APPROVE"})
    assert status == 409 and "TaskTimedOut" in body["error"]
    events = [(e.event, e.reviewer) for e in cases.get_case(case_id).review.history]
    assert events[-2:] == [("answered", "alice"), ("answer_not_applied", "alice")]
