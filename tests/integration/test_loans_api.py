"""``/v1/loans`` and ``/v1/rules/stats`` through the API's resolver, on the whole local stack (moto)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest


def request(method: str, target: str, body: Any = None) -> tuple[int, Any]:
    from authn import resolve_as

    data = json.dumps(body).encode() if body is not None else None
    status, _, text = resolve_as(method, target, {"Content-Type": "application/json"}, data)
    return status, json.loads(text) if text else None


def _decide(examples: dict[str, Any], tag: str) -> dict[str, Any]:
    """An approved and an admission-rejected case, decided through the state machine."""
    from lendguard.cases.service import decide

    out = {}
    for name in ("approve", "reject-admission"):
        application = {**examples[name], "application_id": f"LOANS-{tag}-{name}"}
        status, response = decide(json.dumps(application))
        assert status == 200
        out[name] = response
    assert out["approve"].decision == "APPROVE" and out["reject-admission"].decision == "REJECT"
    return out


@pytest.fixture(scope="module")
def decided(runtime, examples) -> dict[str, Any]:
    """Cases the module's tests share (their loans accumulate in test order)."""
    return _decide(examples, "shared")


@pytest.fixture
def fresh(runtime, examples, request) -> dict[str, Any]:
    """Cases of this test alone: a test that asserts nothing was recorded needs cases no other touched."""
    return _decide(examples, request.node.name[-40:])


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def event(
    event_id: str, case_id: str, type_: str, day: str, loan: str = "L1", **fields: Any
) -> dict[str, Any]:
    return {"event_id": event_id, "case_id": case_id, "loan_id": loan, "type": type_, "date": day, **fields}


def test_rule_stats_count_each_decided_case_once(decided):
    from lendguard.decision import rule_stats
    from lendguard.store import cases

    status, body = request("GET", "/v1/rules/stats?period=total")
    assert status == 200
    total = body["total"]
    assert total["cases"] >= 2 and total["decisions"]["APPROVE"] >= 1 and total["decisions"]["REJECT"] >= 1
    rejected = cases.get_case(decided["reject-admission"].case_id)
    rejecting = [r.rule_id for r in rejected.trace.rules if r.effect == "reject"]
    by_id = {r["rule_id"]: r for r in total["rules"]}
    if len(rejecting) == 1:
        assert by_id[rejecting[0]]["unique_reject"] >= 1
    assert all(r["evaluated"] >= r["hit"] for r in total["rules"])
    # A retried finalize (same case) adds nothing.
    assert rule_stats.record_case(rejected) is False
    assert request("GET", "/v1/rules/stats?period=total")[1]["total"] == total


def test_rule_stats_query_is_validated(runtime):
    status, body = request("GET", "/v1/rules/stats?from=2026-11-30&to=2026-11-01&period=year&x=1")
    assert status == 400
    assert {d["field"] for d in body["details"]} == {"x", "to", "period"}
    status, body = request("GET", "/v1/rules/stats?from=2020-01-01&to=2026-01-01")
    assert status == 400 and "at most" in body["details"][0]["message"]


def test_a_batch_with_a_bad_event_is_refused_whole_and_names_each_field(fresh):
    approved, rejected = fresh["approve"].case_id, fresh["reject-admission"].case_id
    tomorrow_far = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    body = {"events": [
        event("E1", approved, "drawn", today(), amount=3000),
        event("E2", approved, "repaid", today(), amount=-10),
        event("E3", "C-NOPE", "repaid", today(), amount=10),
        event("E4", rejected, "drawn", today(), amount=10),
        event("E5", approved, "repaid", tomorrow_far, amount=10),
        event("E6", approved, "refund", today(), amount=10),
        event("E7", approved, "repaid", today(), amount="500.00"),
    ]}  # fmt: skip
    status, answer = request("POST", "/v1/loans/events", body)
    assert status == 400
    assert [d["field"] for d in answer["details"]] == [
        "events[1].amount", "events[2].case_id", "events[3].case_id", "events[4].date", "events[5].type",
    ]  # fmt: skip
    assert "negative" in answer["details"][0]["message"]
    # Nothing half-applied: no event, no account.
    from lendguard.store.accounts import DynamoAccountStore

    assert request("GET", f"/v1/loans/events?case_id={approved}")[1]["events"] == []
    assert DynamoAccountStore().get(approved) is None


def test_a_draw_opens_the_account_and_creates_its_loan_with_a_schedule(decided):
    from lendguard.store.accounts import DynamoAccountStore

    approved = decided["approve"].case_id
    offer = decided["approve"].offer
    good = [
        event("G1", approved, "drawn", today(), amount=3000),
        event("G7", approved, "repaid", today(), amount="500.00"),
    ]
    status, report = request("POST", "/v1/loans/events", {"events": good})
    assert status == 200 and (report["recorded"], report["failed"]) == (2, 0)
    account = DynamoAccountStore().get(approved)
    assert account is not None and account.customer_key and len(account.loans) == 1
    (loan,) = account.loans
    assert str(loan.amount) == "3000.00" and loan.schedule.principal == loan.amount
    assert float(loan.schedule.apr) == offer.apr and loan.term_months == offer.term_months
    # Above what is left of the limit: refused, naming the amount; nothing recorded.
    over = offer.credit_limit  # 2,500 of the line is still owed
    status, answer = request(
        "POST",
        "/v1/loans/events",
        {"events": [event("G8", approved, "drawn", today(), loan="L2", amount=over)]},
    )
    assert status == 400 and answer["details"][0]["field"] == "events[0].amount"
    assert "available limit" in answer["details"][0]["message"]
    again = request("POST", "/v1/loans/events", {"events": good})[1]
    assert (again["recorded"], again["duplicates"], again["failed"]) == (0, 2, 0)
    status, view = request("GET", f"/v1/loans/events?case_id={approved}")
    assert status == 200 and [e["event_id"] for e in view["events"]] == ["G1", "G7"]
    (snap,) = view["loans"]
    assert snap["principal_drawn"] == "3000.00" and snap["repaid"] == "500.00"
    assert snap["outstanding_principal"] == "2500.00" and snap["status"] == "CURRENT"
    assert len(DynamoAccountStore().get(approved).loans) == 1


@pytest.mark.parametrize(
    ("target", "body", "field"),
    [
        ("/v1/loans/events", {"events": []}, "events"),
        ("/v1/loans/events", {"event": {}}, "event"),
        ("/v1/loans/events", ["x"], "(body)"),
    ],
)
def test_a_body_that_is_not_a_list_of_events_is_a_400(runtime, target, body, field):
    status, answer = request("POST", target, body)
    assert status == 400 and field in {d["field"] for d in answer["details"]}


def test_events_of_an_unknown_case_are_a_404_and_bad_queries_a_400(runtime):
    assert request("GET", "/v1/loans/events?case_id=C-NOPE")[0] == 404
    status, body = request("GET", "/v1/loans/events?as_of=yesterday")
    assert status == 400 and {d["field"] for d in body["details"]} == {"case_id", "as_of"}
    status, body = request("GET", "/v1/loans/outcomes?limit=0&from=2026-02-30")
    assert status == 400 and {d["field"] for d in body["details"]} == {"limit", "from"}


def test_outcomes_join_past_cases_with_their_events_page_by_page(decided):
    from lendguard.outcomes.events import LoanEvent
    from lendguard.store import cases, outcomes

    template = cases.get_case(decided["approve"].case_id)
    for i in range(3):
        created = datetime(2026, 3, 10 + i, 9, 0, tzinfo=UTC)
        old = template.model_copy(
            update={"case_id": f"C-PAST-{i}", "created_at": created, "decided_at": created}
        )
        cases.put_case(old)
        outcomes.put_event(LoanEvent(event_id="d", case_id=old.case_id, loan_id="L1", type="drawn",
                                     date=date(2026, 3, 12 + i), amount=1000))  # fmt: skip
    seen: list[dict[str, Any]] = []
    token = None
    for _ in range(5):
        target = "/v1/loans/outcomes?from=2026-03-01&to=2026-03-31&limit=2" + (
            f"&next_token={token}" if token else ""
        )
        status, page = request("GET", target)
        assert status == 200
        seen += page["cases"]
        token = page["next_token"]
        if not token:
            break
    assert sorted(c["case_id"] for c in seen) == ["C-PAST-0", "C-PAST-1", "C-PAST-2"]
    row = seen[0]
    assert row["decision"] == "APPROVE" and row["score"]["pd"] == template.score.pd
    assert row["events"][0]["type"] == "drawn" and row["rules"] and len(row["rules"][0]) == 3
    assert "applicant" not in row and "subject" not in row  # no personal data leaves for evaluation


def test_a_counter_failure_never_fails_the_decision(runtime, examples, monkeypatch):
    from lendguard.cases.service import decide
    from lendguard.decision import rule_stats
    from lendguard.store import cases

    def broken(case: Any) -> bool:
        raise RuntimeError("daily table throttled")

    monkeypatch.setattr(rule_stats, "record_case", broken)
    status, response = decide(json.dumps({**examples["approve"], "application_id": "LOANS-counter-down"}))
    assert status == 200 and response.decision == "APPROVE"
    assert cases.get_case(response.case_id).status == "DECIDED"
