"""Issue 11 reproducers over HTTP: each gets a 4xx naming the problem (nothing written), or a
500 that tells nothing but a request id; a FAILED case keeps what its vendors billed."""

from __future__ import annotations

import copy
import json
from datetime import date

import pytest
from authn import resolve_as

from lendguard.core.application import parse_application
from lendguard.core.errors import InvalidInput
from lendguard.core.identity import make_resident_id
from lendguard.offline.local.load import cases_per_application

JSON = {"Content-Type": "application/json"}


def post(body: bytes, headers: dict[str, str] = JSON) -> tuple[int, dict]:
    status, _, text = resolve_as("POST", "/v1/decisions", headers, body, sub="machine")
    return status, json.loads(text)


def app_of(examples, app_id: str, **changes) -> dict:
    return {**copy.deepcopy(examples["approve"]), "application_id": app_id, **changes}


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"a": 1, "a": 2}', "duplicate key 'a'"),
        (b'\xef\xbb\xbf{"a": 1}', "byte order mark"),
        (b'{"a": "\xc3\x28"}', "not valid UTF-8"),
        (b'{"a": ' + b"7" * 5000 + b"}", "an integer has 5000 digits"),
        (b"[" * 100_000 + b"]" * 100_000, "nested 100000 levels deep"),
        (b'{"a":' * 5000 + b"1" + b"}" * 5000, "nested 5000 levels deep"),
    ],
)
def test_bodies_that_used_to_500_or_slip_through_are_400_as_in_the_cli(runtime, body, problem):
    status, answer = post(body)
    assert status == 400 and answer["details"][0]["field"] == "(body)", answer
    assert problem in answer["details"][0]["message"]
    # The CLI reads a file into the very same parser: the same message.
    with pytest.raises(InvalidInput) as caught:
        parse_application(body)
    assert caught.value.details[0].message == answer["details"][0]["message"]


def test_a_non_json_content_type_is_415(runtime, examples):
    status, answer = post(json.dumps(app_of(examples, "A-TB-415")).encode(), {"Content-Type": "text/plain"})
    assert status == 415 and answer["details"] == [
        {"field": "Content-Type", "message": "must be application/json"}
    ]
    assert cases_per_application(["A-TB-415"]) == {0: 1}


def test_lax_types_are_400(runtime, examples):
    for i, (field, value) in enumerate(
        [("requested_amount", "5000"), ("requested_amount", "5e3"), ("term_months", 6.0)]
    ):
        status, answer = post(json.dumps(app_of(examples, f"A-TB-LAX-{i}", **{field: value})).encode())
        assert status == 400 and field in [d["field"] for d in answer["details"]], answer
    raw = app_of(examples, "A-TB-LAX-C", consents={**examples["approve"]["consents"], "bureau": "yes"})
    status, answer = post(json.dumps(raw).encode())
    assert status == 400 and [d["field"] for d in answer["details"]] == ["consents.bureau"]


def test_other_script_digits_are_a_400_never_a_failed_case(runtime, examples):
    raw = app_of(examples, "A-TB-ARABIC")
    raw["applicant"]["phone"] = "13٨٠٠١٣٨٠٠٠"
    status, answer = post(json.dumps(raw).encode())
    assert status == 400 and answer["details"][0]["field"] == "applicant.phone"
    assert "٨" not in json.dumps(answer, ensure_ascii=False)
    assert cases_per_application(["A-TB-ARABIC"]) == {0: 1}


def test_a_claimed_future_submission_cannot_make_a_minor_an_adult(runtime, examples):
    raw = app_of(examples, "A-TB-2040", submitted_at="2040-06-02T10:00:00+08:00")
    raw["applicant"]["id_number"] = make_resident_id("110101", date(2012, 6, 1), 5)
    status, answer = post(json.dumps(raw).encode())
    assert status == 400 and answer["details"][0]["field"] == "submitted_at"
    del raw["submitted_at"]
    status, answer = post(json.dumps(raw).encode())
    assert status == 200 and answer["decision"] == "REJECT", answer
    status, _, text = resolve_as("GET", f"/v1/cases/{answer['case_id']}", {}, None, sub="ops")
    age = next(r for r in json.loads(text)["trace"]["rules"] if r["rule_id"] == "ADM_AGE")
    assert age["observed"]["applicant.age"] < 18


def test_an_unexpected_error_is_a_500_with_a_request_id_and_no_exception_text(runtime, examples, monkeypatch):
    from lendguard.cases import service

    def broken():
        raise RuntimeError("policy store said 110101199001011237")

    monkeypatch.setattr(service, "_policy", broken)
    status, answer = post(json.dumps(app_of(examples, "A-TB-500")).encode())
    assert status == 500 and answer["error"] == "internal error" and answer["request_id"]
    assert "110101" not in json.dumps(answer) and "RuntimeError" not in json.dumps(answer)


def test_the_lambda_handler_never_raises(runtime, monkeypatch):
    from lendguard import deployment
    from lendguard.http import app as api
    from lendguard.offline import project
    from lendguard.offline.local.lambda_hook import LocalContext, load_handler
    from lendguard.offline.local.server import proxy_event

    handler = load_handler(project.function_dir(deployment.API_FUNCTION), "lendguard_fn_api_tb")

    def explode(event, context):
        raise MemoryError("boom 13800138000")

    monkeypatch.setattr(api.app, "resolve", explode)
    result = handler(proxy_event("GET", "/v1/cases", {}, None), LocalContext("lendguard-api"))
    body = json.loads(result["body"])
    assert result["statusCode"] == 500 and body["request_id"] and "13800138000" not in result["body"]
